"""File writers and argument checks shared by the ViCo and REACT generators."""
from __future__ import annotations

import io
import os
from typing import Sequence

import numpy as np
import scipy.io
import soundfile

from listen_jax.synthetic.common import SyntheticError


def _random_ids(rng: np.random.Generator, count: int, length: int, alphabet: str) -> list[str]:
  """`count` distinct random strings."""
  chars = np.array(list(alphabet))
  out, seen = [], set()
  while len(out) < count:
    s = "".join(chars[rng.integers(0, len(chars), length)])
    if s not in seen:
      seen.add(s)
      out.append(s)
  return out


def write_wav(path: str, samples: np.ndarray, sample_rate: int) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  soundfile.write(path, samples, sample_rate, subtype="PCM_16", format="WAV")


def write_mat(path: str, arrays: dict) -> None:
  """scipy.io.savemat with a fixed header text (savemat's default header holds a timestamp)."""
  buf = io.BytesIO()
  scipy.io.savemat(buf, arrays)
  data = bytearray(buf.getvalue())
  data[:116] = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: listen_jax.synthetic".ljust(116, b" ")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(bytes(data))


def _split_counts(num_clips: int, ratios: Sequence[float], what: str) -> list[int]:
  if num_clips < len(ratios):
    raise SyntheticError(f"{what}: num_clips={num_clips} is too small, need at least {len(ratios)} (one per split)")
  ratios = np.asarray(ratios, np.float64)
  if ratios.shape != (3,) or np.any(ratios <= 0):
    raise SyntheticError(f"{what}: split ratios must be 3 positive numbers, got {ratios.tolist()}")
  counts = np.maximum(1, np.floor(num_clips * ratios / ratios.sum()).astype(int))
  while counts.sum() < num_clips:
    counts[int(np.argmax(num_clips * ratios / ratios.sum() - counts))] += 1
  while counts.sum() > num_clips:
    counts[int(np.argmax(counts))] -= 1
  return counts.tolist()


def _check_common(num_clips, fps, sample_rate, min_seconds, max_seconds, what):
  if int(num_clips) != num_clips:
    raise SyntheticError(f"{what}: num_clips must be an integer, got {num_clips!r}")
  if fps <= 0 or sample_rate <= 0 or int(sample_rate) != sample_rate:
    raise SyntheticError(f"{what}: need fps > 0 and an integer sample_rate > 0, got {fps}, {sample_rate}")
  if not 0 < min_seconds <= max_seconds:
    raise SyntheticError(f"{what}: need 0 < min_seconds <= max_seconds, got {min_seconds}, {max_seconds}")
