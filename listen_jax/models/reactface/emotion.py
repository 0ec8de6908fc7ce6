"""ReactFace emotion head: the REACT emotion activation and the 3DMM -> emotion readout."""
from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from listen_jax import layouts


EMOTION_SOURCES = ("motion", "features")
AU_OUTPUTS = ("probability", "binary")


class EmotionReadout(nn.Module):
  """Reads the emotion vector off a (z-scored) 3DMM sequence, causally: features -> ReLU -> Dense -> activation.

  The emotion of a face is a function of the face and of how it moves (arousal grows with motion energy), so the
  head sees only the generated 3DMM: frame t's emotion is read from frames t - context + 1 .. t (a causal
  convolution; `context = 1` is a per-frame Dense). The ReactFace task also fits it on the real listener's
  3DMM -> emotion pairs (`config.loss.readout`), which keeps the generated emotion moving with the generated face
  instead of collapsing to the neighbours' mean.

  Attributes:
    hidden: hidden width.
    emotion_dim: E.
    context: frames per output frame (1 = the current frame only).
  """

  hidden: int
  emotion_dim: int
  context: int = 1

  @nn.compact
  def __call__(self, motion: jax.Array, history: jax.Array | None = None) -> jax.Array:
    """[B, T, D] 3DMM -> [B, T, E] emotion.

    Args:
      motion: [B, T, D] frames to read.
      history: [B, context - 1, D] frames just before `motion` (oldest first); None repeats the first frame
        (a sequence that was at rest before it starts).
    """
    if self.context < 1:
      raise ValueError(f"EmotionReadout.context must be >= 1, got {self.context}")
    if self.context == 1:
      e = nn.Dense(self.hidden, name="emotion_hidden")(motion)
    else:
      k = self.context - 1
      if history is None:
        history = jnp.repeat(motion[:, :1], k, axis=1)
      if history.shape[1] != k:
        raise ValueError(f"EmotionReadout: history has {history.shape[1]} frames, expected context - 1 = {k}")
      x = jnp.concatenate([history.astype(motion.dtype), motion], axis=1)
      e = nn.Conv(self.hidden, (self.context,), padding="VALID", name="emotion_hidden")(x)
    return emotion_activation(nn.Dense(self.emotion_dim, name="emotion_head")(nn.relu(e)))


def emotion_activation(logits: jax.Array) -> jax.Array:
  """REACT 25-d emotion: sigmoid (15 AUs), tanh (valence, arousal), softmax (8 expressions); identity otherwise."""
  if logits.shape[-1] != layouts.REACT_EMOTION.dim:
    return logits
  sl = layouts.REACT_EMOTION.slices
  return jnp.concatenate([jax.nn.sigmoid(logits[..., sl["au"]]), jnp.tanh(logits[..., sl["va"]]),
                          jax.nn.softmax(logits[..., sl["expr"]], axis=-1)], axis=-1)


def emit_aus(emotion: jax.Array, au_output: str, threshold: float | Sequence[float] = 0.5) -> jax.Array:
  """The emitted emotion: AU probabilities kept ('probability') or AU occurrences 1[p > threshold] ('binary').

  REACT's 15 AU columns are binary occurrences (the official evaluation's `--binarize` rounds exactly these), so a
  sampled reaction emits an occurrence of each AU for the face it generated; valence, arousal and the expression
  probabilities pass through. Emotion vectors that are not the 25-d REACT layout pass through.

  Args:
    emotion: [..., E] output of `emotion_activation`.
    au_output: one of `AU_OUTPUTS`.
    threshold: one float, or 15 per-AU floats (e.g. `evaluation.calibrate_au_thresholds`: each AU then occurs
      on generated faces as often as on the training listeners).
  """
  if au_output not in AU_OUTPUTS:
    raise ValueError(f"au_output={au_output!r}: expected one of {AU_OUTPUTS}")
  if au_output == "probability" or emotion.shape[-1] != layouts.REACT_EMOTION.dim:
    return emotion
  au = layouts.REACT_EMOTION.slices["au"]
  thr = np.asarray(threshold, np.float32)
  if thr.shape not in ((), (au.stop - au.start,)):
    raise ValueError(f"AU threshold has shape {thr.shape}: expected one float or {au.stop - au.start} (one per AU)")
  return emotion.at[..., au].set((emotion[..., au] > jnp.asarray(thr)).astype(emotion.dtype))


def shift_va(emotion: jax.Array, offset: Sequence[float] | None) -> jax.Array:
  """Valence and arousal of a 25-d REACT emotion moved by `offset` [2] and clipped to [-1, 1] (their tanh range);
  other layouts, and offset None, pass through. `evaluation.calibrated_task` fits the offset after training so the
  generated level matches the training listeners' (see `ReactFace.va_offset`)."""
  if offset is None or emotion.shape[-1] != layouts.REACT_EMOTION.dim:
    return emotion
  off = np.asarray(offset, np.float32)
  if off.shape != (2,):
    raise ValueError(f"valence/arousal offset has shape {off.shape}: expected (2,)")
  va = layouts.REACT_EMOTION.slices["va"]
  return emotion.at[..., va].set(jnp.clip(emotion[..., va] + jnp.asarray(off), -1.0, 1.0))


def pool_va_level(emotion: jax.Array, prior_sum: jax.Array | None, prior_count, population: Sequence[float] | None,
                  shrink: float) -> tuple[jax.Array, jax.Array | None]:
  """Partial pooling of the generated valence/arousal level toward the population's, causally.

  Frame t's (valence, arousal) v_t becomes clip(v_t - shrink * (mean(v_0..v_t) - population), -1, 1): the running
  level of the clip so far is pulled `shrink` of the way to `population` (the training listeners' mean), the
  frame-to-frame dynamics are kept. Streaming carries the sum of the v's so far.

  Args:
    emotion: [..., B, n, 25] emitted emotion of frames [count, count + n) of each row.
    prior_sum: [..., B, 2] sum of v over the frames before (None: the rows start their clips).
    prior_count: int or int32 scalar, frames before these.
    population: (valence, arousal) level to pool toward; None or shrink 0: `emotion` unchanged.
    shrink: fraction in [0, 1] of the running level's deviation removed.

  Returns:
    (pooled emotion, new running sum [..., B, 2] or None when nothing is pooled).
  """
  if population is None or not shrink or emotion.shape[-1] != layouts.REACT_EMOTION.dim:
    return emotion, None
  pop = np.asarray(population, np.float32)
  if pop.shape != (2,):
    raise ValueError(f"valence/arousal population level has shape {pop.shape}: expected (2,)")
  if not 0.0 <= float(shrink) <= 1.0:
    raise ValueError(f"valence/arousal level shrink={shrink!r}: expected a fraction in [0, 1]")
  va = layouts.REACT_EMOTION.slices["va"]
  v = emotion[..., va].astype(jnp.float32)
  sums = jnp.cumsum(v, axis=-2)
  if prior_sum is not None:
    sums = sums + prior_sum[..., None, :].astype(jnp.float32)
  frames = (jnp.asarray(prior_count, jnp.float32) + jnp.arange(1, v.shape[-2] + 1, dtype=jnp.float32))[:, None]
  pooled = jnp.clip(v - float(shrink) * (sums / frames - jnp.asarray(pop)), -1.0, 1.0)
  return emotion.at[..., va].set(pooled.astype(emotion.dtype)), sums[..., -1, :]
