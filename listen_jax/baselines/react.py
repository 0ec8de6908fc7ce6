"""REACT naive baselines (run_baselines.py of the REACT 2023 challenge), NumPy in and out.

Every function returns predictions shaped [N, S, T, D] float32, ready for `listen_jax.metrics.react`.
All baselines except Random repeat one prediction S times, so their FRDiv is 0.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _sequences(train_sequences) -> list[np.ndarray]:
  """[M, T, D] array or a list of [T_i, D] arrays -> list of float64 arrays; checks shapes."""
  seqs = [np.asarray(x, np.float64) for x in train_sequences]
  if not seqs:
    raise ValueError('train_sequences is empty')
  dims = {x.shape[-1] for x in seqs}
  for i, x in enumerate(seqs):
    if x.ndim != 2 or x.shape[0] == 0:
      raise ValueError(f'train sequence {i} must be [T, D] with T > 0, got shape {x.shape}')
  if len(dims) != 1:
    raise ValueError(f'train sequences have different feature sizes: {sorted(dims)}')
  return seqs


def _check_positive(**values: int) -> None:
  for name, value in values.items():
    if int(value) < 1:
      raise ValueError(f'{name} must be >= 1, got {value}')


def _repeat(x: np.ndarray, samples: int) -> np.ndarray:
  """[N, T, D] -> [N, S, T, D] float32 copy."""
  _check_positive(S=samples)
  x = np.asarray(x, np.float32)
  if x.ndim != 3:
    raise ValueError(f'expected [N, T, D], got shape {x.shape}')
  return np.repeat(x[:, None], samples, axis=1)


def gt(listener, S: int) -> np.ndarray:
  """GT: the real listener reaction repeated S times. listener [N, T, D] -> [N, S, T, D]."""
  return _repeat(listener, S)


def random(shape: Sequence[int], rng: np.random.Generator | int | None = None) -> np.ndarray:
  """Random: U[0, 1) noise of `shape` = (N, S, T, D), float32; rng is a Generator or a seed."""
  shape = tuple(int(s) for s in shape)
  if len(shape) != 4:
    raise ValueError(f'shape must be (N, S, T, D), got {shape}')
  _check_positive(**dict(zip(('N', 'S', 'T', 'D'), shape)))
  return np.random.default_rng(rng).random(shape, dtype=np.float32)


def mime(speaker, S: int) -> np.ndarray:
  """Mime: the speaker's own behaviour as the reaction. speaker [N, T, D] -> [N, S, T, D]."""
  return _repeat(speaker, S)


def mean_sequence(train_sequences, length: int | None = None) -> np.ndarray:
  """Per-frame mean over training sequences -> [length, D] float32.

  Frame t averages the sequences that are longer than t. Default length: the longest sequence. A longer
  `length` repeats the last mean frame; a shorter one crops.
  """
  seqs = _sequences(train_sequences)
  longest = max(len(x) for x in seqs)
  total = np.zeros((longest, seqs[0].shape[1]))
  count = np.zeros((longest, 1))
  for x in seqs:
    total[: len(x)] += x
    count[: len(x)] += 1
  mean = total / count
  length = longest if length is None else int(length)
  _check_positive(length=length)
  if length > longest:
    mean = np.concatenate([mean, np.repeat(mean[-1:], length - longest, axis=0)])
  return mean[:length].astype(np.float32)


def meanseq(train_sequences, N: int, S: int, T: int | None = None) -> np.ndarray:
  """MeanSeq: the per-frame mean training sequence for every item and sample.

  Args:
    train_sequences: training speaker AND listener sequences, [M, T, D] or a list of [T_i, D].
    N: number of evaluation items.
    S: samples per item.
    T: output length (default: the longest training sequence); cropped, or padded with the last frame.

  Returns:
    [N, S, T, D] float32.
  """
  _check_positive(N=N, S=S)
  mean = mean_sequence(train_sequences, T)
  return np.broadcast_to(mean, (int(N), int(S)) + mean.shape).copy()


def meanfr(train_sequences, N: int, T: int, S: int) -> np.ndarray:
  """MeanFr: the global mean frame over all training frames, repeated -> [N, S, T, D] float32."""
  _check_positive(N=N, T=T, S=S)
  seqs = _sequences(train_sequences)
  frames = sum(len(x) for x in seqs)
  mean = sum(x.sum(axis=0) for x in seqs) / frames
  return np.broadcast_to(mean.astype(np.float32), (int(N), int(S), int(T), mean.shape[0])).copy()
