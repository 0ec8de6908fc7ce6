"""ReactFace speaker encoder: causal audio and motion features of the speaker, offline and streamed."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from listen_jax.models import attention
from listen_jax.models.reactface.layers import alignment_bias
from listen_jax.models.reactface.layers import decoder_block
from listen_jax.models.reactface.layers import periodic_encoding


def init_speaker_cache(batch_size: int, max_len: int, audio_dim: int, *, feature_dim: int, num_layers: int,
                       audio_context: int, summary_inputs: int = 0) -> dict[str, jax.Array]:
  """Empty `SpeakerEncoder.stream` cache for `max_len` frames of context (right-aligned buffers).

  Args:
    summary_inputs: with the running summary (`SpeakerEncoder.summary`), the per-frame input width it summarises
      (3DMM + emotion + log-mel dims); 0 without.

  Returns:
    dict(audio_tail [B, audio_context - 1, F] last raw log-mel frames, audio [B, 2 max_len, d] audio features,
    inputs [num_layers, B, max_len, d] past inputs of each self-attention layer) and, with the summary,
    summary_sum [B, 3 * summary_inputs] (sum of the per-frame statistics so far) and summary_last
    [B, summary_inputs] (the last frame's inputs, for its frame-to-frame change).
  """
  cache = {
      "audio_tail": jnp.zeros((batch_size, audio_context - 1, audio_dim), jnp.float32),
      "audio": jnp.zeros((batch_size, 2 * max_len, feature_dim), jnp.float32),
      "inputs": jnp.zeros((num_layers, batch_size, max_len, feature_dim), jnp.float32),
  }
  if summary_inputs:
    cache["summary_sum"] = jnp.zeros((batch_size, 3 * summary_inputs), jnp.float32)
    cache["summary_last"] = jnp.zeros((batch_size, summary_inputs), jnp.float32)
  return cache


def frame_inputs(audio: jax.Array, motion: jax.Array, emotion: jax.Array | None) -> jax.Array:
  """What the running summary reads per video frame: [B, T, D (+ E) + F] = concat(3DMM, emotion, the mean of the
  frame's two log-mel frames) from audio [B, 2T, F], motion [B, T, D], emotion [B, T, E] or None."""
  b, t = motion.shape[:2]
  pairs = audio.reshape(b, t, 2, audio.shape[-1]).mean(axis=2).astype(motion.dtype)
  parts = [motion] + ([] if emotion is None else [emotion.astype(motion.dtype)]) + [pairs]
  return jnp.concatenate(parts, axis=-1)


def frame_statistics(inputs: jax.Array, previous: jax.Array) -> jax.Array:
  """Per-frame statistics whose running mean is the summary: [B, T, 3C] = concat(v, v^2, |v - v_prev|) of inputs
  [B, T, C], where v_prev of the first frame is `previous` [B, 1, C] (the frame itself at the clip start)."""
  prev = jnp.concatenate([previous.astype(inputs.dtype), inputs[:, :-1]], axis=1)
  return jnp.concatenate([inputs, inputs * inputs, jnp.abs(inputs - prev)], axis=-1)


def running_sums(inputs: jax.Array, previous: jax.Array, prior: jax.Array) -> jax.Array:
  """[B, T, 3C] sums of `frame_statistics` up to each frame, starting from `prior` [B, 3C] (the frames before);
  the offline call starts from zeros, `stream` from the cache, so both divide the same sums by the frame count."""
  return prior[:, None].astype(inputs.dtype) + jnp.cumsum(frame_statistics(inputs, previous), axis=1)


def summary_sums(inputs: jax.Array, prefix: dict[str, jax.Array] | None = None) -> tuple[jax.Array, jax.Array]:
  """Running sums of `frame_statistics` of inputs [B, T, C] from the clip start and the frame counts they cover:
  ([B, T, 3C], [B, T] float). With `prefix` (dict(sum [B, 3C], last [B, C], count [B] or scalar int): the
  streaming cache, or the pipeline's window prefix, see `SpeakerEncoder.__call__`) the rows continue their clips
  after `count` earlier frames; without it they start them."""
  b, t, c = inputs.shape
  if prefix is None:
    prefix = {"sum": jnp.zeros((b, 3 * c), inputs.dtype), "last": inputs[:, 0], "count": 0}
  if (prefix["sum"].shape != (b, 3 * c) or prefix["last"].shape != (b, c)
      or jnp.shape(prefix["count"]) not in ((), (b,))):
    raise ValueError(f"summary_prefix: expected sum [{b}, {3 * c}], last [{b}, {c}], count [{b}] or scalar; got "
                     f"{prefix['sum'].shape}, {prefix['last'].shape}, {jnp.shape(prefix['count'])}")
  count = jnp.broadcast_to(jnp.asarray(prefix["count"], jnp.int32), (b,))
  previous = jnp.where((count == 0)[:, None, None], inputs[:, :1], prefix["last"][:, None].astype(inputs.dtype))
  total = running_sums(inputs, previous, prefix["sum"])
  return total, (count[:, None] + jnp.arange(1, t + 1)[None]).astype(total.dtype)


def summary_means(inputs: jax.Array, prefix: dict[str, jax.Array] | None = None) -> jax.Array:
  """[B, T, 3C] running means of `frame_statistics` from the clip start (`summary_sums` / its frame counts)."""
  total, frames = summary_sums(inputs, prefix)
  return total / frames[..., None]


class SpeakerEncoder(nn.Module):
  """Causal speaker encoder: audio features A [B, 2T, d], motion features M [B, T, d], speaker-3DMM reconstruction.

  See the `model` module docstring. `__call__` encodes a whole clip; `stream` encodes one window given the cache
  of past frames (`init_speaker_cache`) and equals `__call__` on every prefix of at most `max_len` frames.
  """

  feature_dim: int
  num_heads: int
  ffn_dim: int
  period: int
  motion_dim: int
  num_layers: int = 2
  audio_context: int = 5
  slopes: str = "alibi"
  dropout: float = 0.1
  include_current_frame: bool = True
  context: int = 0
  summary: bool = False

  def setup(self):
    self.audio_conv = nn.Conv(self.feature_dim, (self.audio_context,), padding="VALID")
    self.audio_dense = nn.Dense(self.feature_dim)
    self.audio_norm = nn.LayerNorm(epsilon=1e-5)
    self.motion_embed = nn.Dense(self.feature_dim)
    self.blocks = [decoder_block(self) for _ in range(self.num_layers)]
    self.recon_hidden = nn.Dense(self.feature_dim)
    self.recon_out = nn.Dense(self.motion_dim, kernel_init=nn.initializers.zeros)
    if self.summary:
      self.summary_norm = nn.LayerNorm(epsilon=1e-5)
      self.summary_dense = nn.Dense(self.feature_dim)
      self.summary_dropout = nn.Dropout(self.dropout)

  def encode_audio(self, audio_with_context: jax.Array) -> jax.Array:
    """[B, A + audio_context - 1, F] log-mel (left context first) -> [B, A, d]."""
    h = nn.relu(self.audio_conv(audio_with_context))
    return self.audio_norm(self.audio_dense(h))

  def embed_motion(self, motion: jax.Array, emotion: jax.Array | None, positions) -> jax.Array:
    x = motion if emotion is None else jnp.concatenate([motion, emotion.astype(motion.dtype)], axis=-1)
    return self.motion_embed(x) + periodic_encoding(positions, self.period, self.feature_dim)

  def add_summary(self, x: jax.Array, running_mean: jax.Array, deterministic: bool) -> jax.Array:
    """Motion features [B, T, d] + Dense(LayerNorm(running mean of `frame_statistics` [B, T, 3C]))."""
    s = self.summary_dense(self.summary_norm(running_mean.astype(x.dtype)))
    return x + self.summary_dropout(s, deterministic=deterministic)

  def __call__(self, audio: jax.Array, motion: jax.Array, emotion: jax.Array | None, *,
               summary_prefix: dict[str, jax.Array] | None = None,
               deterministic: bool = True) -> dict[str, jax.Array]:
    """Encodes a whole clip, or a window of one.

    Args:
      audio: [B, 2T, F] log-mel.
      motion: [B, T, D] speaker 3DMM.
      emotion: [B, T, E] speaker emotion or None.
      summary_prefix: with the summary, for windows that start inside their clip: dict(sum [B, 3C], last [B, C],
        count [B] int) = the streaming cache's `summary_sum` / `summary_last` after the `count` frames before the
        window (the pipeline's `speaker_summary_sum`, `speaker_summary_last`, `window_start`), so a training
        window sees the summary streaming sees at those frames. None: every row starts its clip.
      deterministic: disables dropout.

    Returns:
      dict(audio [B, 2T, d], motion [B, T, d], recon [B, T, D]).
    """
    t = motion.shape[1]
    pad = jnp.zeros(audio.shape[:1] + (self.audio_context - 1,) + audio.shape[2:], audio.dtype)
    feats = self.encode_audio(jnp.concatenate([pad, audio], axis=1))
    x = self.embed_motion(motion, emotion, np.arange(t))
    h, p, s = self.num_heads, self.period, self.slopes
    self_bias = alignment_bias(h, t, t, p, s, context=self.context)
    cross_bias = alignment_bias(h, t, 2 * t, p, s, k=2, include_current_frame=self.include_current_frame,
                                context=self.context)
    for block in self.blocks:
      x = block(x, feats, self_bias, cross_bias, deterministic=deterministic)
    if self.summary:
      inputs = frame_inputs(audio, motion, emotion)
      x = self.add_summary(x, summary_means(inputs, summary_prefix), deterministic)
    recon = self.recon_out(nn.relu(self.recon_hidden(x)))
    return {"audio": feats, "motion": x, "recon": recon}

  def stream(self, cache: dict[str, jax.Array], audio: jax.Array, motion: jax.Array, emotion: jax.Array | None,
             start: jax.Array, *, deterministic: bool = True):
    """Encodes frames [start, start + n) given the cache of earlier frames.

    Args:
      cache: from `init_speaker_cache` or a previous `stream` (right-aligned buffers: the newest frame is last).
      audio: [B, 2n, F] log-mel of these frames.
      motion: [B, n, D]; emotion: [B, n, E] or None.
      start: int32 scalar, frame index of the first of these frames (= frames already streamed).
      deterministic: disables dropout.

    Returns:
      (new cache, motion features [B, n, d], audio features [B, 2n, d]).
    """
    n = motion.shape[1]
    max_len = cache["inputs"].shape[2]
    if n > max_len:
      raise ValueError(f"SpeakerEncoder.stream: {n} frames exceed the cache of max_len={max_len}")
    ctx = jnp.concatenate([cache["audio_tail"].astype(audio.dtype), audio], axis=1)
    feats = self.encode_audio(ctx)
    audio_buf = jnp.concatenate([cache["audio"][:, 2 * n:], feats.astype(cache["audio"].dtype)], axis=1)
    seen = start + n  # frames available after this call
    frame_valid = jnp.arange(max_len) >= max_len - seen
    audio_valid = jnp.arange(2 * max_len) >= 2 * (max_len - seen)
    h, p, s = self.num_heads, self.period, self.slopes
    # In buffer coordinates the queries are the last n of max_len frames, so the context band is the offline one.
    self_bias = (alignment_bias(h, n, max_len, p, s, q_offset=max_len - n, context=self.context)
                 + attention.key_padding_bias(frame_valid)[0])
    cross_bias = (alignment_bias(h, n, 2 * max_len, p, s, k=2, q_offset=max_len - n,
                                 include_current_frame=self.include_current_frame, context=self.context)
                  + attention.key_padding_bias(audio_valid)[0])
    x = self.embed_motion(motion, emotion, start + jnp.arange(n))
    new_inputs = []
    for layer, block in enumerate(self.blocks):
      buf = jnp.concatenate([cache["inputs"][layer][:, n:], x.astype(cache["inputs"].dtype)], axis=1)
      new_inputs.append(buf)
      x = block(x, audio_buf, self_bias, cross_bias, self_keys=buf, deterministic=deterministic)
    new_cache = {"audio_tail": ctx[:, ctx.shape[1] - (self.audio_context - 1):].astype(jnp.float32),
                 "audio": audio_buf, "inputs": jnp.stack(new_inputs)}
    if self.summary:
      inputs = frame_inputs(audio, motion, emotion)
      total, frames = summary_sums(inputs, {"sum": cache["summary_sum"], "last": cache["summary_last"],
                                            "count": start})
      x = self.add_summary(x, total / frames[..., None], deterministic)
      new_cache["summary_sum"] = total[:, -1].astype(jnp.float32)
      new_cache["summary_last"] = inputs[:, -1].astype(jnp.float32)
    return new_cache, x, feats
