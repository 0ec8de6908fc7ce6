"""ReactFace building blocks shared by the speaker encoder and the window cell: sinusoid tables, latent
interpolation weights, the per-head alignment bias and the model-configured `DecoderBlock`."""
from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from listen_jax.models import attention


def sinusoid_table(num_positions: int, dim: int) -> np.ndarray:
  """Standard transformer sinusoid [num_positions, dim] float32: pe[t, 2k] = sin(t w_k), pe[t, 2k+1] = cos(t w_k)."""
  pos = np.arange(num_positions, dtype=np.float64)[:, None]
  freq = np.exp(-np.arange(0, dim, 2, dtype=np.float64) * (math.log(10000.0) / dim))
  pe = np.zeros((num_positions, dim), np.float64)
  pe[:, 0::2] = np.sin(pos * freq)
  pe[:, 1::2] = np.cos(pos * freq)[:, : dim // 2]
  return pe.astype(np.float32)


def interpolation_weights(window: int) -> np.ndarray:
  """Linear-interpolation weights on the new latent, [window] float32 (torch `interpolate`, align_corners=False)."""
  n = np.arange(window, dtype=np.float64)
  return np.clip((n + 0.5) * 2.0 / window - 0.5, 0.0, 1.0).astype(np.float32)


def alignment_bias(num_heads: int, q_len: int, k_len: int, period: int, slopes: str, *, k: int = 1,
                   q_offset: int = 0, include_current_frame: bool = True, context: int = 0) -> jax.Array:
  """Per-head bias [H, q_len, k_len]: slopes (in-graph) x the cached NumPy floor-step table (8x smaller constant).

  `context > 0` also limits each query to its last `context` frames of memory (see `attention.floor_step_bias`).
  """
  steps = attention.floor_step_bias(1, q_len, k_len, period, slopes="ones", k=k, q_offset=q_offset,
                                    include_current_frame=include_current_frame, context=context)
  return jnp.asarray(attention.head_slopes(num_heads, slopes))[:, None, None] * jnp.asarray(steps)


def periodic_encoding(positions: jax.Array | np.ndarray, period: int, dim: int):
  """Sinusoid evaluated at (position mod period): [n] int -> [n, dim] float32."""
  table = sinusoid_table(period, dim)
  if isinstance(positions, np.ndarray):
    return jnp.asarray(table[positions % period])
  return jnp.take(jnp.asarray(table), positions % period, axis=0)


def decoder_block(cfg: Any, name: str | None = None) -> attention.DecoderBlock:
  """A `DecoderBlock` with the model's heads / FFN / dropout."""
  return attention.DecoderBlock(num_heads=cfg.num_heads, ffn_dim=cfg.ffn_dim, dropout=cfg.dropout, name=name)

