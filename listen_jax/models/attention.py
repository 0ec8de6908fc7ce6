"""Floor-step alignment-bias attention (ReactFace, arXiv 2305.15748 Eq. 10-11) as flax.linen modules.

The alignment bias lets query frame i attend only to memory frames up to its own time, with a penalty that grows
in steps of `period` frames (p successive frames are "one unit"):

  self-attention (k = 1):       B[h, i, j] = -m_h * floor((i - j) / p)            for j <= i, else -inf
  cross-attention, memory k
  frames per query frame:       B[h, i, j] = -m_h * floor((a(i) - j) / (k * p))   for j <= a(i), else -inf

The anchor a(i) is the latest memory frame query i may read: `k * i` in the paper (Eq. 11), or `k * i + k - 1`
with `include_current_frame=True` (see `floor_step_bias`). Head slopes m_h are ALiBi-style 2^-h (h = 1..H, as the
reference code) or all ones (as the paper).

Masks are NumPy constants built once per shape (`functools.lru_cache`) and added to the attention logits; they
are never rebuilt inside a traced function.
"""
from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

SLOPES = ("alibi", "ones")
ALIGNS = ("paper", "right")


def head_slopes(num_heads: int, slopes: str = "alibi") -> np.ndarray:
  """Per-head bias slopes m_h, [num_heads] float32: 2^-h for h = 1..H ('alibi') or 1 ('ones')."""
  if slopes == "alibi":
    return (2.0 ** -np.arange(1, num_heads + 1)).astype(np.float32)
  if slopes == "ones":
    return np.ones((num_heads,), np.float32)
  raise ValueError(f"slopes={slopes!r}: expected one of {SLOPES}")


@functools.lru_cache(maxsize=256)
def floor_step_bias(num_heads: int, q_len: int, k_len: int, period: int, *, slopes: str = "alibi", k: int = 1,
                    align: str = "paper", include_current_frame: bool = True, q_offset: int = 0,
                    context: int = 0) -> np.ndarray:
  """The alignment bias B as an additive attention mask.

  Forms (i = query index, j = memory index, p = period, m_h = head slope):
    * `align='paper'` (Eq. 11). Query i sits at frame t = q_offset + i; its anchor is
      a = k*t + (k - 1) with `include_current_frame=True` (default), or a = k*t as printed in the paper.
      B[h,i,j] = -m_h * floor((a - j) / (k*p)) for j <= a, else -inf.
      With k = 1 both anchors coincide (self-attention and motion cross-attention). With k = 2 (audio at two
      frames per video frame) the paper's anchor lets frame t hear audio frames <= 2t, i.e. only the first half of
      its own frame; the default anchor 2t+1 lets frame t hear all of its own audio and nothing later, so the
      model stays causal at video-frame resolution, and the step-0 group is exactly the audio of the last p video
      frames (t-p+1..t), as in self-attention.
      `q_offset` places the queries later than memory index 0 (the last `q_len` frames of a `k_len / k`-frame
      memory use q_offset = k_len // k - q_len): used for streaming over a right-aligned buffer.
    * `align='right'` (the reference code's cross mask): i' = k_len - q_len + i, B = -m_h * floor((i' - j) / p)
      for j <= i', else -inf; `k`, `include_current_frame` and `q_offset` are ignored.
  Any lengths are allowed (no multiple-of-p restriction).

  Args:
    num_heads: H.
    q_len, k_len: query and memory lengths.
    period: p, frames per bias step.
    slopes: 'alibi' (m_h = 2^-h, h = 1..H) or 'ones'.
    k: memory frames per query frame ('paper' align).
    align: 'paper' or 'right'.
    include_current_frame: see above ('paper' align, matters only for k > 1).
    q_offset: frame index of query 0 ('paper' align).
    context: > 0 keeps only the last `context` frames of memory per query ('paper' align): memory j (frame
      j // k) is visible iff t - j // k < context, i.e. frames t-context+1..t; 0 = the whole past.

  Returns:
    [num_heads, q_len, k_len] float32, 0 or negative where visible and -inf where masked; read-only (cached).
  """
  if align not in ALIGNS:
    raise ValueError(f"align={align!r}: expected one of {ALIGNS}")
  if min(num_heads, q_len, k_len, period, k) < 1 or q_offset < 0:
    raise ValueError(f"floor_step_bias: bad arguments num_heads={num_heads}, q_len={q_len}, k_len={k_len}, "
                     f"period={period}, k={k}, q_offset={q_offset}")
  i = np.arange(q_len)[:, None]
  j = np.arange(k_len)[None, :]
  if align == "paper":
    anchor = k * (q_offset + i) + ((k - 1) if include_current_frame else 0)
    step = k * period
  else:
    anchor = k_len - q_len + i
    step = period
  dist = anchor - j
  steps = np.where(dist >= 0, np.floor_divide(np.maximum(dist, 0), step), 0).astype(np.float32)
  m = head_slopes(num_heads, slopes)[:, None, None]
  visible = dist >= 0
  if context > 0:
    if align != "paper":
      raise ValueError("floor_step_bias: context needs align='paper'")
    visible &= (q_offset + i) - j // k < context
  bias = np.where(visible[None], -m * steps[None], -np.inf).astype(np.float32)
  bias.setflags(write=False)
  return bias


def key_padding_bias(valid: jax.Array) -> jax.Array:
  """[..., k_len] bool validity -> additive [..., 1, 1, k_len] bias (0 or -inf) for broadcasting over heads/queries."""
  return jnp.where(valid, 0.0, -jnp.inf)[..., None, None, :].astype(jnp.float32)


class MultiHeadAttention(nn.Module):
  """Multi-head scaled dot-product attention with an additive bias (PyTorch `nn.MultiheadAttention` semantics).

  Attributes:
    num_heads: heads H; the width d (from the query) must be divisible by H.
    dropout: dropout on the attention weights.
  """

  num_heads: int = 8
  dropout: float = 0.0

  @nn.compact
  def __call__(self, queries: jax.Array, keys: jax.Array, bias: jax.Array | None = None, *,
               values: jax.Array | None = None, deterministic: bool = True) -> jax.Array:
    """Attends `queries` [B, Q, d] over `keys` [B, K, d_kv] (values default to keys).

    Args:
      queries: [batch, q_len, d] float.
      keys: [batch, k_len, d_kv] float.
      bias: additive logits bias broadcastable to [batch, H, q_len, k_len] (e.g. [H, q_len, k_len]); -inf masks.
        Every query row must keep at least one finite entry.
      values: [batch, k_len, d_kv], defaults to `keys`.
      deterministic: disables dropout.

    Returns:
      [batch, q_len, d] float.
    """
    d = queries.shape[-1]
    if d % self.num_heads:
      raise ValueError(f"MultiHeadAttention: width {d} is not divisible by num_heads={self.num_heads}")
    head_dim = d // self.num_heads
    values = keys if values is None else values
    proj = functools.partial(nn.DenseGeneral, features=(self.num_heads, head_dim))
    q = proj(name="query")(queries)
    kk = proj(name="key")(keys)
    v = proj(name="value")(values)
    logits = jnp.einsum("bqhc,bkhc->bhqk", q, kk) / math.sqrt(head_dim)
    if bias is not None:
      logits = logits + bias.astype(logits.dtype)
    weights = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(v.dtype)
    weights = nn.Dropout(self.dropout)(weights, deterministic=deterministic)
    out = jnp.einsum("bhqk,bkhc->bqhc", weights, v)
    return nn.DenseGeneral(d, axis=(-2, -1), name="out")(out)


class FeedForward(nn.Module):
  """Dense(ffn_dim) -> ReLU -> dropout -> Dense(d)."""

  ffn_dim: int = 256
  dropout: float = 0.1

  @nn.compact
  def __call__(self, x: jax.Array, *, deterministic: bool = True) -> jax.Array:
    h = nn.relu(nn.Dense(self.ffn_dim, name="dense1")(x))
    h = nn.Dropout(self.dropout)(h, deterministic=deterministic)
    return nn.Dense(x.shape[-1], name="dense2")(h)


class DecoderBlock(nn.Module):
  """Post-LN transformer decoder layer (PyTorch `nn.TransformerDecoderLayer`, norm_first=False, ReLU):

    x = LN1(x + Drop(SelfMHA(x; self_bias)))
    x = LN2(x + Drop(CrossMHA(x, memory; cross_bias)))
    x = LN3(x + Drop(FFN(x)))

  For streaming, `self_keys` replaces the self-attention keys/values by a longer buffer of this block's past
  inputs (the queries being its last rows); the biases must then be built for that buffer.

  Attributes:
    num_heads: 8. ffn_dim: 256. dropout: 0.1. layer_norm_eps: 1e-5. The width comes from the input (128).
  """

  num_heads: int = 8
  ffn_dim: int = 256
  dropout: float = 0.1
  layer_norm_eps: float = 1e-5

  @nn.compact
  def __call__(self, x: jax.Array, memory: jax.Array, self_bias: jax.Array | None = None,
               cross_bias: jax.Array | None = None, *, self_keys: jax.Array | None = None,
               deterministic: bool = True) -> jax.Array:
    """x [B, Q, d], memory [B, M, d_m] -> [B, Q, d]; biases broadcastable to [B, H, Q, K] / [B, H, Q, M]."""
    drop = lambda h: nn.Dropout(self.dropout)(h, deterministic=deterministic)  # noqa: E731
    norm = functools.partial(nn.LayerNorm, epsilon=self.layer_norm_eps)
    attn = functools.partial(MultiHeadAttention, num_heads=self.num_heads, dropout=self.dropout)
    keys = x if self_keys is None else self_keys
    x = norm(name="norm1")(x + drop(attn(name="self_attn")(x, keys, self_bias, deterministic=deterministic)))
    x = norm(name="norm2")(x + drop(attn(name="cross_attn")(x, memory, cross_bias, deterministic=deterministic)))
    ffn = FeedForward(self.ffn_dim, self.dropout, name="ffn")(x, deterministic=deterministic)
    return norm(name="norm3")(x + drop(ffn))


class EncoderBlock(nn.Module):
  """Post-LN transformer encoder layer (PyTorch `nn.TransformerEncoderLayer`, ReLU): self-attention + FFN."""

  num_heads: int = 4
  ffn_dim: int = 256
  dropout: float = 0.1
  layer_norm_eps: float = 1e-5

  @nn.compact
  def __call__(self, x: jax.Array, bias: jax.Array | None = None, *, deterministic: bool = True) -> jax.Array:
    """x [B, N, d] -> [B, N, d]."""
    drop = lambda h: nn.Dropout(self.dropout)(h, deterministic=deterministic)  # noqa: E731
    norm = functools.partial(nn.LayerNorm, epsilon=self.layer_norm_eps)
    attn = MultiHeadAttention(self.num_heads, self.dropout, name="self_attn")
    x = norm(name="norm1")(x + drop(attn(x, x, bias, deterministic=deterministic)))
    ffn = FeedForward(self.ffn_dim, self.dropout, name="ffn")(x, deterministic=deterministic)
    return norm(name="norm2")(x + drop(ffn))
