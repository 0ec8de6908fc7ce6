"""Input handling of the REACT metrics: conventions, array checks, neighbour lists, DTW dimension groups."""
from __future__ import annotations

from typing import Any
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np


CONVENTIONS = ('react2023', 'corrected')
# REACT 25-d emotion groups: 15 AU occurrences, valence/arousal, 8 expression probabilities.
REACT_EMOTION_GROUPS = ((0, 15, 1.0 / 15.0), (15, 17, 1.0), (17, 25, 1.0 / 8.0))


Groups = Sequence[tuple[int, int, float]]


def _check_convention(convention: str) -> None:
  if convention not in CONVENTIONS:
    raise ValueError(f'convention must be one of {CONVENTIONS}, got {convention!r}')


def _as_array(x: Any, name: str, ndim: int) -> jax.Array:
  """Converts to float32 JAX and checks rank and finiteness."""
  arr = jnp.asarray(x, dtype=jnp.float32)
  if arr.ndim != ndim:
    raise ValueError(f'{name} must have {ndim} dims, got shape {tuple(arr.shape)}')
  if arr.size == 0:
    raise ValueError(f'{name} is empty (shape {tuple(arr.shape)})')
  if not bool(jnp.all(jnp.isfinite(arr))):
    raise ValueError(f'{name} contains NaN or inf')
  return arr


def _as_pair(pred: Any, other: Any, name: str) -> tuple[jax.Array, jax.Array]:
  """`pred` [N, S, T, D] and `other` [N, T, D] (named `name`) as checked arrays (`_as_array`) of matching shape."""
  pred = _as_array(pred, 'pred', 4)
  other = _as_array(other, name, 3)
  n, _, t, d = pred.shape
  if other.shape != (n, t, d):
    raise ValueError(f'{name} must have shape [N, T, D] = {(n, t, d)} to match pred {tuple(pred.shape)}, '
                     f'got {tuple(other.shape)}')
  return pred, other


def _neighbour_rows(neighbours: Any, n: int) -> np.ndarray:
  """Returns the boolean [N, N] neighbour matrix; raises on a bad shape or an empty row."""
  a = np.asarray(neighbours)
  if a.shape != (n, n):
    raise ValueError(f'neighbours must have shape [N, N] = {(n, n)}, got {a.shape}')
  a = a == 1
  empty = np.flatnonzero(~a.any(axis=1))
  if empty.size:
    raise ValueError(f'neighbours row of item {int(empty[0])} is empty (no appropriate listener reaction); '
                     f'{empty.size} empty row(s) in all: {empty[:10].tolist()}')
  return a


def neighbour_lists(neighbours: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
  """Pads the neighbour sets to the largest one.

  Args:
    neighbours: [N, N] 0/1 matrix.
    n: number of items N.

  Returns:
    (index [N, K] int32, mask [N, K] bool) with K = max neighbours per item; padded slots have index 0
    and mask False.
  """
  a = _neighbour_rows(neighbours, n)
  counts = a.sum(axis=1)
  k_max = int(counts.max())
  index = np.zeros((n, k_max), np.int32)
  mask = np.arange(k_max)[None, :] < counts[:, None]
  rows, cols = np.nonzero(a)
  slot = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
  index[rows, slot] = cols
  return index, mask


def default_groups(dim: int) -> tuple[tuple[int, int, float], ...]:
  """REACT emotion groups for D == 25, otherwise a single group (0, D) of weight 1."""
  return REACT_EMOTION_GROUPS if dim == 25 else ((0, dim, 1.0),)


def _check_groups(groups: Groups, dim: int) -> tuple[tuple[int, int, float], ...]:
  out = []
  for g in groups:
    start, stop, weight = int(g[0]), int(g[1]), float(g[2])
    if not 0 <= start < stop <= dim:
      raise ValueError(f'DTW group ({start}, {stop}) is not a valid slice of {dim} dims')
    out.append((start, stop, weight))
  if not out:
    raise ValueError('groups must not be empty')
  return tuple(out)
