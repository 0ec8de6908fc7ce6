"""FRDiv (S-MSE), FRVar and FRDvs: diversity among samples, temporal variance, diversity across speakers."""
from __future__ import annotations

from jax import lax
import jax
import jax.numpy as jnp

from listen_jax.metrics.react.inputs import _as_array
from listen_jax.metrics.react.inputs import _check_convention


def _shifted_var(x: jax.Array, axis: int) -> jax.Array:
  """Unbiased variance of x - x[0] along `axis`: same value, exactly 0 for constant data, less rounding."""
  return jnp.var(x - lax.index_in_dim(x, 0, axis, keepdims=True), axis=axis, ddof=1)


@jax.jit
def _fr_div(pred):
  return jnp.mean(2.0 * jnp.mean(_shifted_var(pred, 1), axis=(1, 2)))


@jax.jit
def _fr_var(pred):
  return jnp.mean(jnp.mean(_shifted_var(pred, 2), axis=(1, 2)))


@jax.jit
def _fr_dvs(pred):
  return 2.0 * jnp.mean(jnp.mean(_shifted_var(pred, 0), axis=(1, 2)))


def fr_div(pred, *, convention: str = 'react2023') -> float:
  """FRDiv (S-MSE): mean over items of the mean squared distance between two different samples.

  Equals mean_k 2 * mean_{t,d} var_s(pred[k, :, t, d]) (unbiased); 0.0 when S == 1 (both conventions).
  """
  _check_convention(convention)
  pred = _as_array(pred, 'pred', 4)
  if pred.shape[1] < 2:
    return 0.0
  return float(_fr_div(pred))


def fr_var(pred, *, convention: str = 'react2023') -> float:
  """FRVar: mean over (item, sample, dim) of the unbiased temporal variance (both conventions)."""
  _check_convention(convention)
  pred = _as_array(pred, 'pred', 4)
  if pred.shape[2] < 2:
    raise ValueError(f'fr_var needs at least 2 frames, got T={pred.shape[2]}')
  return float(_fr_var(pred))


def fr_dvs(pred, *, convention: str = 'react2023') -> float:
  """FRDvs: mean squared distance between different speakers' s-th samples (both conventions).

  Equals 2 * mean_{s,t,d} var_k(pred[:, s, t, d]) (unbiased); NaN when N < 2 (the official 0/0).
  """
  _check_convention(convention)
  pred = _as_array(pred, 'pred', 4)
  if pred.shape[0] < 2:
    return float('nan')
  return float(_fr_dvs(pred))
