"""Trans-AE: the REACT Trans-VAE baseline in its deterministic autoencoder form (no latent sampling).

The REACT 2023 baseline (see /work/shared/reference/react_metrics_reference.md §4.2) encodes the speaker with a
transformer, samples one latent and decodes positional queries with a causally masked transformer decoder into
listener 3DMM and emotion. Here the latent sampling is dropped: the decoder attends directly to the encoded
speaker sequence, so a prediction is a deterministic function of the speaker (REACT's FRDiv is 0 by
construction). Video frames come as 3DMM (+ emotion) coefficients instead of raw images.

Inputs per clip: speaker log-mel audio [B, 2T, F] (two audio frames per video frame), speaker 3DMM [B, T, D] and,
when the data has it, speaker emotion [B, T, E]. Outputs: listener 3DMM [B, T, D] (and emotion [B, T, E]) in the
same (z-scored) space as the inputs.

Architecture (d = feature_dim, H = num_heads):
  * audio pooled to video rate: frame t gets audio frames 2t, 2t+1, concatenated ([B, T, 2F], `audio_pool=
    'concat'`) or averaged ([B, T, F], 'mean');
  * speaker tokens: Dense(d)(concat(3DMM, emotion)) and Dense(d)(pooled audio), concatenated -> Dense(d),
    plus a sinusoidal position encoding;
  * `encoder_layers` `attention.EncoderBlock`s with the causal bias below;
  * decoder: sinusoidal position queries -> `decoder_layers` `attention.DecoderBlock`s (causal self-attention,
    causal cross-attention onto the encoded speaker: query t reads speaker frames <= t);
  * heads: Dense(D) 3DMM; emotion: Dense(d) -> ReLU -> Dense(E) on concat(3DMM, hidden), activated by
    `reactface.emotion_activation` (sigmoid 15 AU, tanh 2 VA, softmax 8 expression probabilities when E = 25).

Causal bias (`bias`), every one built from `attention.floor_step_bias` (k = 1, no future frames):
  * 'alibi' (default): -2^-h * floor((i - j) / period) for head h: a stepwise recency penalty that lets a model
    trained on short crops run on whole clips (ALiBi-style length extrapolation);
  * 'ones': the same penalty with slope 1 for every head;
  * 'mask': a plain causal mask (0 on j <= i, -inf after), the reference Trans-VAE's effective bias.
Positions (`positions`): 'periodic' (default) encodes t mod `period` (like ReactFace), so no position is unseen
at test time; 'absolute' encodes t (the reference; positions past the training crop length are then
extrapolated).

Strict causality: every output at frame t depends only on speaker audio frames <= 2t+1 and speaker 3DMM/emotion
frames <= t, so end padding never changes earlier frames.
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from listen_jax.models import attention
from listen_jax.models.reactface import check_speaker_inputs, emotion_activation, sinusoid_table

BIASES = ("alibi", "ones", "mask")
POSITIONS = ("periodic", "absolute")
AUDIO_POOLS = ("concat", "mean")


def causal_bias(num_heads: int, num_frames: int, period: int, bias: str) -> jax.Array:
  """Causal attention bias [H or 1, T, T] (see the module docstring for `bias`).

  The NumPy table is built once per shape by `attention.floor_step_bias` (cached) with one head; per-head slopes
  are applied in the graph, so the embedded constant is H times smaller.
  """
  if bias not in BIASES:
    raise ValueError(f"TransAE.bias={bias!r}: expected one of {BIASES}")
  if bias == "mask":  # One step spanning the whole clip: 0 where visible, -inf in the future.
    return jnp.asarray(attention.floor_step_bias(1, num_frames, num_frames, max(num_frames, 1)))
  steps = attention.floor_step_bias(1, num_frames, num_frames, period, slopes="ones")
  return jnp.asarray(attention.head_slopes(num_heads, bias))[:, None, None] * jnp.asarray(steps)


def position_table(num_frames: int, dim: int, period: int, positions: str) -> np.ndarray:
  """Sinusoid at t mod period ('periodic') or t ('absolute'): [num_frames, dim] float32."""
  if positions == "periodic":
    return sinusoid_table(period, dim)[np.arange(num_frames) % period]
  if positions == "absolute":
    return sinusoid_table(num_frames, dim)
  raise ValueError(f"TransAE.positions={positions!r}: expected one of {POSITIONS}")


def pool_audio(audio: jax.Array, mode: str) -> jax.Array:
  """[B, 2T, F] log-mel -> video rate: [B, T, 2F] ('concat', frame 2t first) or [B, T, F] ('mean')."""
  b, a, f = audio.shape
  pairs = audio.reshape(b, a // 2, 2, f)
  if mode == "concat":
    return pairs.reshape(b, a // 2, 2 * f)
  if mode == "mean":
    return jnp.mean(pairs, axis=2)
  raise ValueError(f"TransAE.audio_pool={mode!r}: expected one of {AUDIO_POOLS}")


class TransAE(nn.Module):
  """Deterministic causal transformer autoencoder (REACT Trans-VAE baseline without sampling).

  Attributes:
    feature_dim: model width d (128).
    num_heads: attention heads H (4); d must be divisible by H.
    ffn_dim: feed-forward width (256).
    encoder_layers: causal speaker-encoder blocks (2).
    decoder_layers: decoder blocks (2, as the reference).
    dropout: dropout in every block (0.1).
    period: frames per bias step and period of the 'periodic' positions (8).
    bias: 'alibi' | 'ones' | 'mask' (see the module docstring).
    positions: 'periodic' | 'absolute'.
    audio_pool: 'concat' | 'mean' (two log-mel frames per video frame).
    motion_dim: D (58 REACT / 73 ViCo); must be set (the task fills it from the data).
    emotion_dim: E (25 REACT, 0 / None without emotion); the task fills it from the data.
    audio_dim: F log-mel bins; optional (checked against the input when set).
  """

  feature_dim: int = 128
  num_heads: int = 4
  ffn_dim: int = 256
  encoder_layers: int = 2
  decoder_layers: int = 2
  dropout: float = 0.1
  period: int = 8
  bias: str = "alibi"
  positions: str = "periodic"
  audio_pool: str = "concat"
  motion_dim: int | None = None
  emotion_dim: int | None = None
  audio_dim: int | None = None

  def _check_inputs(self, audio, motion, emotion):
    if not self.motion_dim:
      raise ValueError("TransAE.motion_dim is not set (58 for REACT FaceVerse, 73 for ViCo)")
    if self.period < 1:
      raise ValueError(f"TransAE.period={self.period} must be >= 1")
    return check_speaker_inputs("TransAE", audio, motion, emotion, motion_dim=self.motion_dim,
                                emotion_dim=self.emotion_dim, audio_dim=self.audio_dim)

  @nn.compact
  def __call__(self, speaker_audio: jax.Array, speaker_3dmm: jax.Array, speaker_emotion: jax.Array | None = None,
               *, deterministic: bool = True) -> dict[str, jax.Array]:
    """Predicts the listener's reaction to whole speaker clips.

    Args:
      speaker_audio: [B, 2T, F] float32 log-mel.
      speaker_3dmm: [B, T, D] float32.
      speaker_emotion: [B, T, E] float32, required iff emotion_dim > 0 (ignored otherwise).
      deterministic: disables dropout (else the 'dropout' rng is used).

    Returns:
      dict(motion [B, T, D], emotion [B, T, E] when emotion_dim > 0).
    """
    emotion = self._check_inputs(speaker_audio, speaker_3dmm, speaker_emotion)
    b, t = speaker_3dmm.shape[:2]
    d = self.feature_dim
    dtype = speaker_3dmm.dtype
    pos = jnp.asarray(position_table(t, d, self.period, self.positions), dtype)
    bias = causal_bias(self.num_heads, t, self.period, self.bias)

    # Speaker encoder (causal).
    visual = speaker_3dmm if emotion is None else jnp.concatenate([speaker_3dmm, emotion.astype(dtype)], axis=-1)
    audio = pool_audio(speaker_audio.astype(dtype), self.audio_pool)
    tokens = jnp.concatenate([nn.Dense(d, name="visual_embed")(visual), nn.Dense(d, name="audio_embed")(audio)],
                             axis=-1)
    x = nn.Dense(d, name="fuse")(tokens) + pos
    x = nn.Dropout(self.dropout)(x, deterministic=deterministic)
    for layer in range(self.encoder_layers):
      x = attention.EncoderBlock(self.num_heads, self.ffn_dim, self.dropout, name=f"encoder_{layer}")(
          x, bias, deterministic=deterministic)

    # Decoder: positional queries reading the encoded speaker causally.
    h = jnp.broadcast_to(pos, (b, t, d))
    for layer in range(self.decoder_layers):
      h = attention.DecoderBlock(self.num_heads, self.ffn_dim, self.dropout, name=f"decoder_{layer}")(
          h, x, bias, bias, deterministic=deterministic)

    motion = nn.Dense(self.motion_dim, name="motion_head")(h)
    out = {"motion": motion}
    if self.emotion_dim:
      e = nn.relu(nn.Dense(d, name="emotion_hidden")(jnp.concatenate([motion, h], axis=-1)))
      out["emotion"] = emotion_activation(nn.Dense(self.emotion_dim, name="emotion_head")(e))
    return out


__all__ = ["AUDIO_POOLS", "BIASES", "POSITIONS", "TransAE", "causal_bias", "pool_audio", "position_table"]
