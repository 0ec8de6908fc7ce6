"""Z-scoring with the split's normalisation statistics (`norm_stats.npz` groups)."""
from __future__ import annotations

from typing import Any
from typing import Mapping

import numpy as np

from listen_jax.data import stats as stats_lib


# Standard deviations below this are treated as 1 (a constant dimension is only centred), as in stats.py.
_MIN_STD = stats_lib.STD_FLOOR


def _stats_pair(stats: Mapping[str, np.ndarray], group: str) -> tuple[np.ndarray, np.ndarray]:
  mean_key, std_key = f"{group}/mean", f"{group}/std"
  if mean_key not in stats or std_key not in stats:
    groups = sorted({k.split("/")[0] for k in stats})
    raise ValueError(f"normalisation statistics have no group {group!r} (need {mean_key!r} and {std_key!r}; "
                     f"groups present: {groups})")
  mean = np.asarray(stats[mean_key], np.float32)
  std = np.asarray(stats[std_key], np.float32)
  if mean.shape != std.shape or mean.ndim != 1:
    raise ValueError(f"statistics group {group!r}: mean {mean.shape} and std {std.shape} must be equal 1-d shapes")
  return mean, np.where(std < _MIN_STD, np.float32(1), std).astype(np.float32)


def _check_dim(x: np.ndarray, mean: np.ndarray, group: str) -> None:
  if x.shape[-1:] != mean.shape:
    raise ValueError(f"cannot apply statistics group {group!r} of dimension {mean.shape[0]} to an array of shape "
                     f"{x.shape}")


def normalize(x: Any, stats: Mapping[str, np.ndarray], group: str) -> np.ndarray:
  """Z-scores `x` [..., D] with `stats['{group}/mean']`, `stats['{group}/std']` (std < 1e-6 counts as 1)."""
  mean, std = _stats_pair(stats, group)
  x = np.asarray(x, np.float32)
  _check_dim(x, mean, group)
  return (x - mean) / std


def denormalize(x: Any, stats: Mapping[str, np.ndarray], group: str) -> np.ndarray:
  """Inverse of `normalize`: `x * std + mean` for `x` [..., D] (numpy; use `stats` arrays directly in jit)."""
  mean, std = _stats_pair(stats, group)
  x = np.asarray(x, np.float32)
  _check_dim(x, mean, group)
  return x * std + mean
