"""FRSyn (TLCC): |lag| of the peak time-lagged cross-correlation with the speaker."""
from __future__ import annotations

import functools

from jax import lax
import jax
import jax.numpy as jnp

from listen_jax.metrics.react.inputs import _as_pair
from listen_jax.metrics.react.inputs import _check_convention


# Official TLCC lag range at 25 fps: range(-(2 * 25 - 1), 2 * 25) -> -49..49.
MAX_LAG = 49


def _lagged_correlations(x: jax.Array, y: jax.Array, max_lag: int):
  """Per-lag, per-dim Pearson r of x[t] with y[t - lag] on their overlap.

  Args:
    x: [T, D] prediction.
    y: [T, D] speaker.
    max_lag: lags -max_lag..max_lag.

  Returns:
    (r [2L+1, D], constant [2L+1, D] bool): r is 0 where `constant` (a window that is constant in x or y,
    or shorter than 2 frames, where NumPy gives NaN).
  """
  t, _ = x.shape
  ypad = jnp.pad(y, ((max_lag, max_lag), (0, 0)))
  times = jnp.arange(t)

  def one_lag(lag):
    ys = lax.dynamic_slice_in_dim(ypad, max_lag - lag, t, axis=0)  # ys[t] = y[t - lag]
    valid = ((times - lag >= 0) & (times - lag < t))[:, None]
    count = jnp.sum(valid)
    xm = jnp.sum(jnp.where(valid, x, 0.0), 0) / count
    ym = jnp.sum(jnp.where(valid, ys, 0.0), 0) / count
    xc = jnp.where(valid, x - xm, 0.0)
    yc = jnp.where(valid, ys - ym, 0.0)
    sxy, sxx, syy = jnp.sum(xc * yc, 0), jnp.sum(xc**2, 0), jnp.sum(yc**2, 0)

    def is_const(v):
      return jnp.max(jnp.where(valid, v, -jnp.inf), 0) == jnp.min(jnp.where(valid, v, jnp.inf), 0)

    const = is_const(x) | is_const(ys) | (count < 2)
    r = jnp.where(const, 0.0, sxy / jnp.sqrt(jnp.where(const, 1.0, sxx * syy)))
    return r, const

  return jax.vmap(one_lag)(jnp.arange(-max_lag, max_lag + 1))


def _tlcc_offset(x: jax.Array, y: jax.Array, convention: str, max_lag: int) -> jax.Array:
  """|lag| (frames) of the TLCC peak for one prediction x [T, D] and speaker y [T, D]."""
  r, const = _lagged_correlations(x, y, max_lag)
  if convention == 'react2023':
    has_nan = jnp.any(const, axis=1)  # NaN propagates to the lag's mean
    corr = jnp.where(has_nan, -jnp.inf, jnp.mean(r, axis=1))
    # NumPy/torch argmax returns the first NaN when there is one.
    a = jnp.where(jnp.any(has_nan), jnp.argmax(has_nan), jnp.argmax(corr))
    return jnp.abs(max_lag - a).astype(jnp.float32)
  keep = ~const
  count = jnp.sum(keep, axis=1)
  corr = jnp.where(count > 0, jnp.sum(jnp.where(keep, r, 0.0), 1) / jnp.maximum(count, 1), -jnp.inf)
  a = jnp.argmax(corr)
  offset = jnp.abs(max_lag - a).astype(jnp.float32)
  return jnp.where(jnp.any(count > 0), offset, jnp.float32(max_lag))


@functools.partial(jax.jit, static_argnames=('convention', 'max_lag', 'chunk'))
def _fr_syn_items(pred, speaker, *, convention, max_lag, chunk):
  n, s = pred.shape[:2]
  samples = 1 if convention == 'react2023' else s

  def one_item(k):
    offsets = jax.vmap(lambda x: _tlcc_offset(x, speaker[k], convention, max_lag))(pred[k, :samples])
    return jnp.mean(offsets)

  return lax.map(one_item, jnp.arange(n), batch_size=chunk)


def fr_syn(pred, speaker, *, convention: str = 'react2023', max_lag: int = MAX_LAG, chunk: int = 8) -> float:
  """FRSyn (TLCC): mean |lag| in frames of the peak lagged correlation with the speaker (lower is better).

  Args:
    pred: [N, S, T, D] generated reactions.
    speaker: [N, T, D] speaker behaviour.
    convention: 'react2023' (sample 0, NaN-first argmax) or 'corrected' (all samples, constant dims
      skipped); see the module docstring.
    max_lag: lags -max_lag..max_lag (49 = official at 25 fps).
    chunk: items evaluated together.

  Returns:
    The metric as a Python float.
  """
  _check_convention(convention)
  pred, speaker = _as_pair(pred, speaker, 'speaker')
  return float(jnp.mean(_fr_syn_items(pred, speaker, convention=convention, max_lag=max_lag, chunk=chunk)))
