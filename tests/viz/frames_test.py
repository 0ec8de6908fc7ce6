"""Tests of the weight-free preview renderer."""
import os

import numpy as np
import pytest
from PIL import Image

from listen_jax import viz


def _coeffs(T, seed=0, yaw=0.0):
  rng = np.random.default_rng(seed)
  x = np.zeros((T, 73), np.float32)
  x[:, 1] = yaw
  x[:, 3:67] = 0.3 * rng.normal(size=(T, 64))
  x[:, 67:70] = (0.01, 0.02, 0.3)
  x[:, 70:73] = (0.94, 127.0, 129.0)
  return x


def test_frames_count_size_and_pose_response():
  T = 6
  listener = _coeffs(T)
  frames = viz.render_frames(listener, None, None, fps=30, panel=128)
  assert frames.shape == (T, 128 + viz.STRIP, 128, 3) and frames.dtype == np.uint8
  both = viz.render_frames(listener, _coeffs(T + 3, seed=1), np.linspace(0, 1, T), fps=30, panel=128)
  assert both.shape == (T, 128 + viz.STRIP, 256, 3)
  # Turning the head (yaw) changes the head panel; the same pose twice gives identical pixels.
  turned = listener.copy()
  turned[:, 1] = 0.4
  a = viz.render_frames(listener, None, None, panel=128)[:, :128].astype(int)
  b = viz.render_frames(turned, None, None, panel=128)[:, :128].astype(int)
  assert np.abs(a - b).mean() > 0.5
  np.testing.assert_array_equal(a, viz.render_frames(listener, None, None, panel=128)[:, :128])
  # Nodding (pitch) moves the face features vertically: the dark-pixel centroid moves.
  nod = listener.copy()
  nod[:, 0] = 0.3
  c = viz.render_frames(nod, None, None, panel=128)[:, :128].astype(int)
  dark = lambda f: np.argwhere(f[0].sum(-1) < 200)[:, 0].mean()
  assert abs(dark(c) - dark(a)) > 1.0


def test_expression_features_normalised_per_clip():
  exp = np.zeros((50, 64), np.float32)
  exp[:, 0] = np.linspace(0.0, 1e-3, 50)  # tiny absolute range still spans the display range
  feats = viz.expression_features(exp)
  assert feats["mouth_open"].min() < -0.6 and feats["mouth_open"].max() > 0.6
  np.testing.assert_array_equal(feats["smile"], 0.0)  # constant channel -> neutral


def test_rotation_matrices_are_rotations():
  angle = np.random.default_rng(0).normal(size=(5, 3))
  r = viz.rotation_matrices(angle)
  np.testing.assert_allclose(r @ np.swapaxes(r, 1, 2), np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-12)
  yaw = viz.rotation_matrices(np.array([[0.0, 0.5, 0.0]]))[0]
  np.testing.assert_allclose(yaw @ [0, 0, 1.0], [np.sin(0.5), 0, np.cos(0.5)], atol=1e-12)


def test_audio_envelope():
  sr, fps = 8000, 25
  samples = np.zeros(sr, np.float32)
  samples[sr // 2:] = 0.5 * np.sin(np.arange(sr // 2))
  env = viz.audio_envelope(samples, sr, fps, 25)
  assert env.shape == (25,) and env[:12].max() == 0.0 and env[13:].min() > 0.9


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


def test_plot_curves_png(tmp_path):
  out = viz.plot_curves(_coeffs(40), _coeffs(45, seed=3), _coeffs(40, seed=4), np.random.rand(40), 30,
                        str(tmp_path / "c.png"), title="clip")
  with Image.open(out) as im:
    assert im.size[0] > 500 and im.size[1] > 500
  viz.plot_curves(_coeffs(40), None, None, None, 30, str(tmp_path / "c2.png"))
  assert os.path.getsize(tmp_path / "c2.png") > 10_000


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
