"""Readers of the raw audio: wav files (duration checked against the video frames) and ViCo audio features."""
from __future__ import annotations

import numpy as np

from listen_jax.data.raw.checks import DataError
from listen_jax.data.raw.checks import MissingFileError
from listen_jax.data.raw.checks import VICO_AUDIO_WIDTH
from listen_jax.data.raw.checks import _fail
from listen_jax.data.raw.checks import _load_npy
from listen_jax.data.raw.checks import check_frames
from listen_jax.data.raw.checks import require_file


def read_wav(path, clip: str, *, expected_sr: int | None = None) -> tuple[np.ndarray, int]:
  """Loads a wav as mono float32 samples: (samples [N], sr). Missing/unreadable files name the clip."""
  from listen_jax import audio  # pylint: disable=g-import-not-at-top

  path = require_file(path, clip, "wav")
  try:
    return audio.load_wav(path, expected_sr=expected_sr)
  except FileNotFoundError as e:
    raise MissingFileError(f"clip {clip}: missing wav: {path} ({e})") from e
  except ValueError as e:  # audio.AudioError
    raise DataError(f"clip {clip}: {path}: unreadable wav: {e}") from e


def check_audio_duration(num_samples: int, sr: int, fps: float, num_frames: int, *, clip: str, path,
                         tolerance_frames: float = 1.0) -> None:
  """Raises DataError if a wav's duration differs from `num_frames / fps` by more than `tolerance_frames`."""
  from listen_jax import audio  # pylint: disable=g-import-not-at-top

  audio_frames = audio.wav_num_frames(num_samples, sr, fps)
  if abs(audio_frames - num_frames) > tolerance_frames:
    raise _fail(
        clip, path,
        f"wav lasts {num_samples / sr:.3f} s = {audio_frames:.2f} frames at {fps:g} fps, but the clip has "
        f"{num_frames} frames ({num_frames / fps:.3f} s): they differ by more than {tolerance_frames:g} frame(s)")


def read_audio_feats(path, clip: str) -> np.ndarray:
  """vico_challenge_baseline `audio_feats/{uuid}.npy` -> [T, 45] float32."""
  path = require_file(path, clip, "audio features (.npy)")
  return check_frames(_load_npy(path, clip), width=VICO_AUDIO_WIDTH, clip=clip, path=path, what="audio features")
