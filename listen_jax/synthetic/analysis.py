"""Small helpers reading generated clips back and measuring them (tests, sanity checks)."""
from __future__ import annotations

import csv
import io
import os

import numpy as np
import scipy.io
import soundfile

from listen_jax import layouts


def read_vico_clip(out_dir: str, uuid: str) -> dict:
  """Loads a generated ViCo clip: dict(speaker [T, 73], listener [T, 73], audio [N] float32, sample_rate)."""
  out = {}
  for role in ("speaker", "listener"):
    mat = scipy.io.loadmat(os.path.join(out_dir, "recons", f"{uuid}.{role}.mat"))
    out[role], _ = layouts.bfm_to_vico(mat["coeff"], mat["transform_params"])
  out["audio"], out["sample_rate"] = soundfile.read(os.path.join(out_dir, "audios", f"{uuid}.wav"),
                                                    dtype="float32")
  return out


def read_csv_rows(path: str) -> list[dict]:
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def lagged_correlation(x: np.ndarray, y: np.ndarray, lag: int) -> float:
  """Pearson correlation of x[t - lag] with y[t] (x leads y by `lag` frames) over the common frames."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  n = min(x.shape[0], y.shape[0])
  if lag > 0:
    x, y = x[: n - lag], y[lag:n]
  else:
    x, y = x[:n], y[:n]
  x, y = x - x.mean(), y - y.mean()
  denom = np.sqrt((x * x).sum() * (y * y).sum())
  return float((x * y).sum() / denom) if denom > 0 else 0.0


def frame_energy(samples: np.ndarray, sample_rate: int, fps: float) -> np.ndarray:
  """Mean square of the samples in each video frame: [round(N * fps / sr)] float64."""
  hop = sample_rate / fps
  n = int(np.round(samples.shape[0] / hop))  # the wav holds round(T * sr / fps) samples
  edges = np.minimum(np.round(np.arange(n + 1) * hop).astype(int), samples.shape[0])
  sq = np.concatenate([[0.0], np.cumsum(np.asarray(samples, np.float64) ** 2)])
  return (sq[edges[1:]] - sq[edges[:-1]]) / np.diff(edges)
