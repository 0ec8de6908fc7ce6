"""Per-dimension normalisation statistics of a prepared dataset's train split (`norm_stats.npz`).

Groups (keys `{group}/mean`, `{group}/std`, float32):
  * ViCo: `audio` [45], `audio_mel` [80] (raw config only), `motion` [73] (speaker and listener frames pooled,
    one shared set as in the reference).
  * ViCo: `motion_delta` [73]: the movement scale of a clip relative to its first frame: mean 0 and std the root
    mean square of x_t - x_0 over frames t >= 1 (speaker and listener pooled). It z-scores the listener track of
    the 'reaction' format on ViCo (relative to the window's first frame, the ViCo reference), so that every
    coefficient is measured against how much it moves within a clip rather than against the spread of identities
    (head translation moves ~10x less within a clip than it varies between persons).
  * REACT: `3dmm` [58] and `emotion` [25] (speaker and listener frames pooled), `speaker_audio` [80].

Every frame of every example counts once (REACT's mirrored items hold each person once as speaker and once as
listener, so pooling speaker and listener counts each person's frames twice: the mean is unchanged). Moments
are accumulated in float64 with Chan's parallel update (one merge per array, no catastrophic cancellation);
std is the unbiased (N - 1) estimate, and a std below `STD_FLOOR` (constant dimensions, or a single frame) is
replaced by 1.0 so that z = (x - mean) / std is always finite.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

STATS_FILENAME = "norm_stats.npz"
STD_FLOOR = 1e-6

# group -> features pooled into it; a group is used when all of its features exist in the dataset.
VICO_GROUPS = {"audio": ("audio",), "audio_mel": ("audio_mel",), "motion": ("speaker", "listener")}
REACT_GROUPS = {
    "3dmm": ("speaker_3dmm", "listener_3dmm"),
    "emotion": ("speaker_emotion", "listener_emotion"),
    "speaker_audio": ("speaker_audio",),
}


class StatsError(ValueError):
  """Statistics that cannot be computed (empty split, unknown dataset) or a corrupt stats file."""


class StatsNotFoundError(StatsError, FileNotFoundError):
  """No norm_stats.npz in a prepared version directory."""


class RunningMoments:
  """Per-dimension count, mean and sum of squared deviations (M2) in float64."""

  def __init__(self, dim: int):
    self.count = 0
    self.mean = np.zeros(dim, np.float64)
    self.m2 = np.zeros(dim, np.float64)

  def update(self, x: np.ndarray) -> None:
    """Adds the rows of `x` [n, dim]."""
    x = np.asarray(x, np.float64).reshape(-1, self.mean.shape[0])
    n = x.shape[0]
    if n == 0:
      return
    batch_mean = x.mean(axis=0)
    batch_m2 = np.sum((x - batch_mean) ** 2, axis=0)
    total = self.count + n
    delta = batch_mean - self.mean
    self.mean = self.mean + delta * (n / total)
    self.m2 = self.m2 + batch_m2 + delta**2 * (self.count * n / total)
    self.count = total

  def std(self) -> np.ndarray:
    """Unbiased std, floored: entries < STD_FLOOR (or all, with fewer than 2 rows) become 1.0."""
    if self.count < 2:
      return np.ones_like(self.mean)
    std = np.sqrt(np.maximum(self.m2, 0.0) / (self.count - 1))
    return np.where(std < STD_FLOOR, 1.0, std)


def _groups_for(feature_names) -> dict[str, tuple[str, ...]]:
  names = set(feature_names)
  table = REACT_GROUPS if "speaker_3dmm" in names else VICO_GROUPS
  groups = {g: fs for g, fs in table.items() if all(f in names for f in fs)}
  if not groups:
    raise StatsError(f"no known feature groups among features {sorted(names)}")
  return groups


def _data_source(version_dir_or_builder: Any, split: str):
  """(data source, feature names) for a version dir path or a TFDS builder."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  if isinstance(version_dir_or_builder, (str, os.PathLike)):
    builder = tfds.builder_from_directory(os.fspath(version_dir_or_builder))
  else:
    builder = version_dir_or_builder
  if split not in builder.info.splits:
    raise StatsError(f"{builder.data_dir}: no split {split!r} (splits: {sorted(builder.info.splits)})")
  return builder.as_data_source(split), list(builder.info.features.keys())


def compute_stats(version_dir_or_builder: Any, split: str = "train") -> dict[str, np.ndarray]:
  """Mean and floored unbiased std per dimension of every feature group of a prepared split.

  Args:
    version_dir_or_builder: a prepared version directory (e.g. DATA_DIR/vico/raw/1.0.0) or a prepared
      `tfds.core.DatasetBuilder`.
    split: the split to summarise.

  Returns:
    {'{group}/mean': [D] float32, '{group}/std': [D] float32} for the groups in the module docstring
    (`motion_delta` with every ViCo dataset).
  """
  source, feature_names = _data_source(version_dir_or_builder, split)
  groups = _groups_for(feature_names)
  if len(source) == 0:
    raise StatsError(f"split {split!r} has no examples")
  moments: dict[str, RunningMoments] = {}
  deltas = [0, 0.0] if "motion" in groups else None  # (frames, per-dim sum of (x_t - x_0)^2) for 'motion_delta'
  for i in range(len(source)):
    example = source[i]
    if deltas is not None:
      for name in groups["motion"]:
        x = np.asarray(example[name], np.float64)
        deltas[0] += max(x.shape[0] - 1, 0)
        deltas[1] = deltas[1] + np.sum((x[1:] - x[:1]) ** 2, axis=0)
    for group, features in groups.items():
      for name in features:
        x = np.asarray(example[name])
        if group not in moments:
          moments[group] = RunningMoments(x.shape[-1])
        moments[group].update(x)
  out = {}
  if deltas is not None:
    count, sumsq = deltas
    if count == 0:
      raise StatsError(f"split {split!r}: group 'motion_delta' needs clips of at least 2 frames")
    rms = np.sqrt(sumsq / count)
    out["motion_delta/mean"] = np.zeros_like(rms, np.float32)
    out["motion_delta/std"] = np.where(rms < STD_FLOOR, 1.0, rms).astype(np.float32)
  for group, m in moments.items():
    if m.count == 0:
      raise StatsError(f"split {split!r}: group {group!r} has no frames")
    out[f"{group}/mean"] = m.mean.astype(np.float32)
    out[f"{group}/std"] = m.std().astype(np.float32)
  for key, value in out.items():
    if not np.all(np.isfinite(value)):
      raise StatsError(f"split {split!r}: non-finite {key} (the data hold NaN/inf)")
  return out


def write_stats(version_dir, split: str = "train") -> str:
  """Computes the statistics of `split` and writes `{version_dir}/norm_stats.npz`; returns its path."""
  stats = compute_stats(os.fspath(version_dir), split)
  path = os.path.join(os.fspath(version_dir), STATS_FILENAME)
  tmp = path + ".tmp.npz"
  np.savez(tmp, **stats)
  os.replace(tmp, path)
  return path


def load_stats(version_dir) -> dict[str, np.ndarray]:
  """Reads `{version_dir}/norm_stats.npz` -> {'{group}/mean' | '{group}/std': [D] float32}."""
  path = os.path.join(os.fspath(version_dir), STATS_FILENAME)
  if not os.path.isfile(path):
    raise StatsNotFoundError(
        f"{path}: no normalisation statistics; build the dataset with `python -m launch.build_datasets` or "
        f"call listen_jax.data.stats.write_stats({os.fspath(version_dir)!r})")
  with np.load(path, allow_pickle=False) as f:
    stats = {k: np.asarray(f[k], np.float32) for k in f.files}
  for key, value in stats.items():
    if not np.all(np.isfinite(value)):
      raise StatsError(f"{path}: non-finite values in {key}")
    if key.endswith("/std") and np.any(value <= 0):
      raise StatsError(f"{path}: non-positive values in {key}")
  return stats
