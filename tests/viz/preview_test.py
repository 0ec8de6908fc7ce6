"""Tests of listen_jax.viz.preview (and the video files it writes): single clips, prediction directories."""
import os

import numpy as np
import pytest

from listen_jax import viz

from viz_fakes import _coeffs


def test_render_preview_gif_and_mp4(tmp_path):
  T, fps = 8, 10
  listener, speaker = _coeffs(T), _coeffs(T, seed=2)
  gif = viz.render_preview(listener, speaker, None, fps, str(tmp_path / "p.gif"))
  frames = viz.read_video(gif)
  assert frames.shape == (T, viz.PANEL + viz.STRIP, 2 * viz.PANEL, 3)
  pytest.importorskip("imageio_ffmpeg")
  sr = 16000
  audio = (0.3 * np.sin(np.linspace(0, 2000, sr * T // fps))).astype(np.float32)
  mp4 = viz.render_preview(listener, speaker, (audio, sr), fps, str(tmp_path / "p.mp4"))
  frames = viz.read_video(mp4)
  assert frames.shape == (T, viz.PANEL + viz.STRIP, 2 * viz.PANEL, 3)
  import imageio.v2 as iio  # pylint: disable=g-import-not-at-top

  with iio.get_reader(mp4, format="FFMPEG") as reader:
    meta = reader.get_meta_data()
  assert meta["fps"] == fps and meta.get("audio_codec") == "aac"


def test_prediction_dir_and_errors(tmp_path):
  import soundfile  # pylint: disable=g-import-not-at-top

  pred = tmp_path / "pred"
  pred.mkdir()
  np.save(pred / "a1.npy", _coeffs(6))
  np.save(pred / "a1.speaker.npy", _coeffs(6, seed=5))
  np.save(pred / "a1.listener_gt.npy", _coeffs(6, seed=6))
  soundfile.write(pred / "a1.wav", np.zeros(3200, np.float32), 16000)
  np.save(pred / "b2.npy", _coeffs(5))
  assert viz.list_prediction_clips(str(pred)) == ["a1", "b2"]
  clip = viz.load_prediction_clip(str(pred), "a1")
  assert set(clip) == {"listener", "speaker", "listener_gt", "audio"} and clip["audio"][1] == 16000
  written = viz.preview_prediction_dir(str(pred), str(tmp_path / "out"), fps=30, max_clips=1, video_format="gif")
  assert [os.path.basename(w) for w in written] == ["a1.preview.gif", "a1.curves.png"]
  assert viz.read_video(written[0]).shape[0] == 6
  np.save(pred / "bad.npy", np.zeros((5, 70), np.float32))
  with pytest.raises(viz.PreviewError, match="bad.npy"):
    viz.load_prediction_clip(str(pred), "bad")
  with pytest.raises(viz.PreviewError, match="NaN"):
    viz.render_frames(np.full((3, 73), np.nan), panel=64)
  with pytest.raises(FileNotFoundError):
    viz.list_prediction_clips(str(tmp_path / "nope"))
