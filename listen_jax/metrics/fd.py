"""ViCo feature distance (FD): mean L1 x 100 on de-normalised angle / exp / trans coefficients.

FD for a group g (angle 3, exp 64, trans 3 of the 73-d ViCo vector) over a set of clips is
  100 * sum_clips sum_{t=1}^{T-1} sum_{d in g} |pred[t,d] - true[t,d]| / (sum_clips (T-1) * |g|),
i.e. the mean absolute error over every predicted frame and dimension of the group, pooled over clips. Frame 0 is
excluded: it is the reference frame every method is given. Per attitude, the pool is the clips of that attitude;
`average` pools all clips (the paper's "Average" row is not the mean of its attitude rows, so it pools clips).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from listen_jax import layouts

FD_GROUPS = ("angle", "exp", "trans")
ATTITUDES = ("positive", "neutral", "negative")


class FDAccumulator:
  """Accumulates exact L1 sums and counts per attitude and group (float64)."""

  def __init__(self, attitude_names: Sequence[str] = ATTITUDES):
    self.attitude_names = tuple(attitude_names)
    self._sums = {a: {g: 0.0 for g in FD_GROUPS} for a in self.attitude_names}
    self._counts = {a: {g: 0 for g in FD_GROUPS} for a in self.attitude_names}

  def add(self, pred: np.ndarray, true: np.ndarray, attitude: int | str) -> None:
    """Adds one clip: `pred`, `true` are [T, 73] raw (de-normalised) ViCo motion; frame 0 is skipped."""
    pred = np.asarray(pred, np.float64)
    true = np.asarray(true, np.float64)
    if pred.shape != true.shape or pred.ndim != 2 or pred.shape[-1] != layouts.VICO_DYNAMIC.dim:
      raise ValueError(f"FD expects matching [T, 73] arrays, got {pred.shape} and {true.shape}")
    if not np.all(np.isfinite(pred)):
      raise ValueError("FD: the prediction contains NaN or inf")
    name = attitude if isinstance(attitude, str) else self.attitude_names[int(attitude)]
    err = np.abs(pred[1:] - true[1:])
    for g in FD_GROUPS:
      part = err[:, layouts.VICO_DYNAMIC[g]]
      self._sums[name][g] += float(part.sum())
      self._counts[name][g] += part.size

  def result(self) -> dict[str, dict[str, float]]:
    """`{attitude | 'average': {'angle': x, 'exp': y, 'trans': z}}` (x100); attitudes with no clips are left out."""
    out = {}
    for a in self.attitude_names:
      if self._counts[a]["angle"]:
        out[a] = {g: 100.0 * self._sums[a][g] / self._counts[a][g] for g in FD_GROUPS}
    total_counts = {g: sum(self._counts[a][g] for a in self.attitude_names) for g in FD_GROUPS}
    if total_counts["angle"]:
      out["average"] = {g: 100.0 * sum(self._sums[a][g] for a in self.attitude_names) / total_counts[g]
                        for g in FD_GROUPS}
    return out


def feature_distance(preds: Iterable[np.ndarray], trues: Iterable[np.ndarray], attitudes: Iterable[int | str]
                     ) -> dict[str, dict[str, float]]:
  """FD table for lists of clips (see module docstring)."""
  acc = FDAccumulator()
  for p, t, a in zip(preds, trues, attitudes):
    acc.add(p, t, a)
  return acc.result()


def markdown_table(fd: dict, methods: Sequence[str] | None = None) -> str:
  """Table 3 layout: rows attitude x {angle, exp, trans}, columns method x split."""
  splits = list(fd)
  methods = list(methods or dict.fromkeys(m for s in splits for m in fd[s]))
  rows = ["| attitude | coeff | " + " | ".join(f"{m} ({s})" for m in methods for s in splits) + " |",
          "|---|---|" + "---|" * (len(methods) * len(splits))]
  for att in (*ATTITUDES, "average"):
    for g in FD_GROUPS:
      cells = []
      for m in methods:
        for s in splits:
          v = fd[s].get(m, {}).get(att, {}).get(g)
          cells.append("-" if v is None else f"{v:.2f}")
      rows.append(f"| {att} | {g} | " + " | ".join(cells) + " |")
  return "\n".join(rows) + "\n"
