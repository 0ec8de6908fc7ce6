"""FRCorr: concordance (CCC) with the best appropriate real reaction."""
from __future__ import annotations

import functools

from jax import lax
import jax
import jax.numpy as jnp

from listen_jax.metrics.react.inputs import _as_pair
from listen_jax.metrics.react.inputs import _check_convention
from listen_jax.metrics.react.inputs import neighbour_lists


CCC_EPS = 1e-8


def _moments(x: jax.Array, axis: int) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """(mean, centred x, population variance, is-constant) along `axis`.

  Moments are taken of x - x[0] (shift-invariant), so constant data gives exactly zero centred values.
  """
  first = lax.index_in_dim(x, 0, axis, keepdims=True)
  shifted = x - first
  shifted_mean = jnp.mean(shifted, axis=axis, keepdims=True)
  centred = shifted - shifted_mean
  var = jnp.mean(centred**2, axis=axis)
  const = jnp.max(x, axis=axis) == jnp.min(x, axis=axis)
  return jnp.squeeze(shifted_mean + first, axis), centred, var, const


@functools.partial(jax.jit, static_argnames=('convention', 'chunk'))
def _fr_corr_items(pred, listener, index, mask, *, convention, chunk):
  """Per-item FRCorr contributions [N] (sum or mean over samples of the best CCC)."""
  n, s, t, d = pred.shape
  l_mean, l_centred, l_var, l_const = _moments(listener, axis=1)  # [N, D], [N, T, D], ...
  n_pad = -(-n // chunk) * chunk
  item_ids = jnp.arange(n_pad)
  safe_ids = jnp.minimum(item_ids, n - 1)

  def one_item(k):
    x_mean, x_centred, x_var, x_const = _moments(pred[k], axis=1)  # [S, D], [S, T, D]
    nb = index[k]  # [K]
    y_mean, y_var, y_const = l_mean[nb], l_var[nb], l_const[nb]  # [K, D]
    cov = jnp.einsum('std,ktd->skd', x_centred, l_centred[nb]) / t  # [S, K, D]
    const = x_const[:, None, :] | y_const[None, :, :]
    denom_r = jnp.sqrt(jnp.where(const, 1.0, x_var[:, None] * y_var[None]))
    r = jnp.clip(jnp.where(const, 0.0, cov / denom_r), -1.0, 1.0)
    x_std, y_std = jnp.sqrt(x_var)[:, None], jnp.sqrt(y_var)[None]
    ccc = 2.0 * r * x_std * y_std / (
        x_var[:, None] + y_var[None] + (x_mean[:, None] - y_mean[None]) ** 2 + CCC_EPS)
    if convention == 'react2023':
      per_pair = jnp.mean(ccc, axis=-1)  # [S, K]
    else:
      keep = ~y_const[None]  # dims where the reference varies
      count = jnp.sum(keep, axis=-1)
      per_pair = jnp.where(count > 0, jnp.sum(jnp.where(keep, ccc, 0.0), -1) / jnp.maximum(count, 1), 0.0)
    best = jnp.max(jnp.where(mask[k][None, :], per_pair, -jnp.inf), axis=-1)  # [S]
    return jnp.sum(best) if convention == 'react2023' else jnp.mean(best)

  per_item = lax.map(one_item, safe_ids, batch_size=chunk)
  return per_item[:n]


def fr_corr(pred, listener, neighbours, *, convention: str = 'react2023', chunk: int = 8) -> float:
  """FRCorr: CCC with the best appropriate real listener reaction (higher is better).

  Args:
    pred: [N, S, T, D] generated reactions.
    listener: [N, T, D] real listener reactions.
    neighbours: [N, N] 0/1 appropriateness matrix; every row needs at least one 1.
    convention: 'react2023' (sum over samples, mean over all dims) or 'corrected' (see module docstring).
    chunk: items evaluated together (memory is about chunk * K * T * D floats).

  Returns:
    The metric as a Python float.
  """
  _check_convention(convention)
  pred, listener = _as_pair(pred, listener, 'listener')
  index, mask = neighbour_lists(neighbours, pred.shape[0])
  per_item = _fr_corr_items(pred, listener, jnp.asarray(index), jnp.asarray(mask), convention=convention,
                            chunk=chunk)
  return float(jnp.mean(per_item))
