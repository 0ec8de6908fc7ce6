"""Previews of one clip and of a prediction directory (launch/generate.py output)."""
from __future__ import annotations

import glob
import os
from typing import Sequence

import numpy as np

from listen_jax.viz.curves import plot_curves
from listen_jax.viz.frames import render_frames
from listen_jax.viz.tracks import _check_coeffs
from listen_jax.viz.tracks import audio_envelope
from listen_jax.viz.video import write_video


_SUFFIXES = (".speaker.npy", ".listener_gt.npy")


def render_preview(listener, speaker=None, audio: tuple[np.ndarray, int] | None = None, fps: float = 30.0,
                   out_path: str = "preview.mp4", pose_gain: float = 1.5, name: str = "clip") -> str:
  """Renders the head-glyph preview of one clip to `out_path` (.mp4 with the audio muxed in, or .gif).

  Args:
    listener: [T, 73] raw ViCo-order listener coefficients.
    speaker: optional [T, 73] speaker coefficients, drawn on the left.
    audio: optional (samples, sample_rate) of the speaker's audio: envelope strip and mp4 soundtrack.
    fps: video frame rate (ViCo: 30).
    out_path: output file.
    pose_gain: multiplier on head angles.
    name: clip name for error messages.

  Returns:
    `out_path`.
  """
  listener = _check_coeffs(listener, f"{name}: listener")
  env = None
  if audio is not None:
    env = audio_envelope(audio[0], int(audio[1]), fps, len(listener))
  frames = render_frames(listener, speaker, env, fps, pose_gain=pose_gain, name=name)
  return write_video(out_path, frames, fps, audio=audio)


def list_prediction_clips(predictions_dir: str) -> list[str]:
  """Clip ids (`{uuid}` of `{uuid}.npy`) in a prediction directory, sorted."""
  if not os.path.isdir(predictions_dir):
    raise FileNotFoundError(f"predictions directory {predictions_dir} does not exist")
  names = []
  for path in glob.glob(os.path.join(predictions_dir, "*.npy")):
    base = os.path.basename(path)
    if not base.endswith(_SUFFIXES):
      names.append(base[: -len(".npy")])
  return sorted(names)


def select_prediction_clips(predictions_dir: str, max_clips: int = 0,
                            clips: Sequence[str] | None = None) -> list[str]:
  """`clips` (default: every clip of the directory), cut to the first `max_clips` when > 0; raises when empty."""
  names = list(clips) if clips is not None else list_prediction_clips(predictions_dir)
  if not names:
    raise FileNotFoundError(f"no `{{uuid}}.npy` predictions in {predictions_dir}")
  return names[:max_clips] if max_clips > 0 else names


def load_prediction_clip(predictions_dir: str, uuid: str) -> dict:
  """Loads one clip of a prediction directory (format in the module docstring).

  Returns:
    dict with `listener` [T, 73] float32 and, when present, `speaker` [T', 73], `listener_gt` [T', 73],
    `audio` (samples float32, sample_rate).
  """
  base = os.path.join(predictions_dir, uuid)
  if not os.path.isfile(base + ".npy"):
    raise FileNotFoundError(f"prediction {base}.npy does not exist")
  out = {"listener": _check_coeffs(np.load(base + ".npy"), f"{base}.npy")}
  for key, suffix in (("speaker", ".speaker.npy"), ("listener_gt", ".listener_gt.npy")):
    if os.path.isfile(base + suffix):
      out[key] = _check_coeffs(np.load(base + suffix), base + suffix)
  if os.path.isfile(base + ".wav"):
    import soundfile  # pylint: disable=g-import-not-at-top

    samples, sr = soundfile.read(base + ".wav", dtype="float32", always_2d=False)
    out["audio"] = (samples, int(sr))
  return out


def preview_prediction_dir(predictions_dir: str, out_dir: str, fps: float = 30.0, max_clips: int = 0,
                           video_format: str = "mp4", pose_gain: float = 1.5,
                           clips: Sequence[str] | None = None) -> list[str]:
  """Writes `{uuid}.preview.{mp4|gif}` and `{uuid}.curves.png` for each clip of a prediction directory.

  Returns:
    The written file paths.
  """
  names = select_prediction_clips(predictions_dir, max_clips, clips)
  written = []
  for uuid in names:
    clip = load_prediction_clip(predictions_dir, uuid)
    audio = clip.get("audio")
    env = audio_envelope(audio[0], audio[1], fps, len(clip["listener"])) if audio is not None else None
    video = os.path.join(out_dir, f"{uuid}.preview.{video_format}")
    frames = render_frames(clip["listener"], clip.get("speaker"), env, fps, pose_gain=pose_gain, name=uuid)
    written.append(write_video(video, frames, fps, audio=audio))
    written.append(plot_curves(clip["listener"], clip.get("listener_gt"), clip.get("speaker"), env, fps,
                               os.path.join(out_dir, f"{uuid}.curves.png"), title=uuid))
  return written
