"""ReactFace emotion head: the REACT emotion activation and the 3DMM -> emotion readout."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from listen_jax import layouts


EMOTION_SOURCES = ("motion", "features")


class EmotionReadout(nn.Module):
  """Reads the emotion vector off a (z-scored) 3DMM frame: Dense -> ReLU -> Dense -> `emotion_activation`.

  The emotion of a face is a function of the face, so the head sees only the generated 3DMM; the ReactFace task
  also fits it on the real listener's 3DMM -> emotion pairs (`config.loss.readout`), which keeps the generated
  emotion moving with the generated face instead of collapsing to the neighbours' mean.
  """

  hidden: int
  emotion_dim: int

  @nn.compact
  def __call__(self, motion: jax.Array) -> jax.Array:
    e = nn.relu(nn.Dense(self.hidden, name="emotion_hidden")(motion))
    return emotion_activation(nn.Dense(self.emotion_dim, name="emotion_head")(e))


def emotion_activation(logits: jax.Array) -> jax.Array:
  """REACT 25-d emotion: sigmoid (15 AUs), tanh (valence, arousal), softmax (8 expressions); identity otherwise."""
  if logits.shape[-1] != layouts.REACT_EMOTION.dim:
    return logits
  sl = layouts.REACT_EMOTION.slices
  return jnp.concatenate([jax.nn.sigmoid(logits[..., sl["au"]]), jnp.tanh(logits[..., sl["va"]]),
                          jax.nn.softmax(logits[..., sl["expr"]], axis=-1)], axis=-1)
