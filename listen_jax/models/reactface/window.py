"""ReactFace window cell: interaction VAE -> latent momentum/interpolation -> reaction decoder, one window."""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from listen_jax.models import attention
from listen_jax.models.reactface.emotion import EmotionReadout
from listen_jax.models.reactface.layers import alignment_bias
from listen_jax.models.reactface.layers import decoder_block
from listen_jax.models.reactface.layers import interpolation_weights
from listen_jax.models.reactface.layers import periodic_encoding
from listen_jax.models.reactface.layers import sinusoid_table


class ReactionWindow(nn.Module):
  """One window of the online loop: interaction VAE -> latent momentum/interpolation -> reaction decoder.

  Call: `(carry, xs) -> (carry, outputs)` with
    carry: dict(prev_motion [B, w, D] reactions generated for the previous window, z_prev [B, L]);
    xs: dict(motion [B, w, d], audio [B, 2w, d] speaker features of this window, motion_prev, audio_prev (the
      previous window's, zeros for window 0), noise [B, L], index int32 scalar window index);
    outputs: dict(motion [B, w, D], emotion [B, w, E] when emotion_dim > 0, mu [B, L], logvar [B, L]).
  """

  feature_dim: int
  num_heads: int
  ffn_dim: int
  period: int
  window: int
  momentum: float
  latent_dim: int
  motion_dim: int
  emotion_dim: int
  slopes: str = "alibi"
  dropout: float = 0.1
  vae_layers: int = 2
  vae_num_heads: int = 4
  vae_ffn_dim: int = 256
  decoder_latent_layers: int = 2
  include_current_frame: bool = True
  emotion_from: str = "motion"
  readout_context: int = 1

  @nn.compact
  def __call__(self, carry: dict[str, jax.Array], xs: dict[str, jax.Array], *, deterministic: bool = True):
    w, d, h, p, s = self.window, self.feature_dim, self.num_heads, self.period, self.slopes
    self_bias = alignment_bias(h, w, w, p, s)
    audio_bias = alignment_bias(h, w, 2 * w, p, s, k=2, include_current_frame=self.include_current_frame)
    motion_bias = alignment_bias(h, w, w, p, s, k=1)
    index = xs["index"]

    # Interaction VAE over the previous window (reactions aligned with the speaker frames they answered).
    past_positions = (index - 1) * w + jnp.arange(w)
    past = nn.Dense(d, name="past_embed")(carry["prev_motion"]) + periodic_encoding(past_positions, p, d)
    past = decoder_block(self, "vim")(past, xs["audio_prev"], self_bias, audio_bias, deterministic=deterministic)
    past = decoder_block(self, "mim")(past, xs["motion_prev"], self_bias, motion_bias, deterministic=deterministic)
    batch = past.shape[0]
    tokens = self.param("dist_tokens", nn.initializers.normal(1.0), (2, d))
    x = jnp.concatenate([jnp.broadcast_to(tokens.astype(past.dtype), (batch, 2, d)),
                         nn.Dense(d, name="vae_in")(past)], axis=1)
    for layer in range(self.vae_layers):
      x = attention.EncoderBlock(self.vae_num_heads, self.vae_ffn_dim, self.dropout,
                                 name=f"vae_encoder_{layer}")(x, deterministic=deterministic)
    mu = nn.Dense(self.latent_dim, name="mu_head")(x[:, 0])
    logvar = nn.Dense(self.latent_dim, name="logvar_head")(x[:, 1])
    z_sample = mu + jnp.exp(0.5 * logvar) * xs["noise"].astype(mu.dtype)

    # Latent momentum and interpolation z_prev -> z over the window.
    z_prev = jnp.where(index == 0, z_sample, carry["z_prev"].astype(z_sample.dtype))
    z = self.momentum * z_prev + (1.0 - self.momentum) * z_sample
    lam = jnp.asarray(interpolation_weights(w))[None, :, None]
    latents = nn.Dense(d, name="latent_proj")((1.0 - lam) * z_prev[:, None] + lam * z[:, None])

    # Reaction decoder: within-window positional queries, then per-frame causal fusion with the speaker.
    hid = jnp.broadcast_to(jnp.asarray(sinusoid_table(w, d)), (batch, w, d)).astype(latents.dtype)
    for layer in range(self.decoder_latent_layers):
      hid = decoder_block(self, f"latent_decoder_{layer}")(hid, latents, self_bias, None,
                                                           deterministic=deterministic)
    hid = decoder_block(self, "fuse_audio")(hid, xs["audio"], self_bias, audio_bias, deterministic=deterministic)
    hid = decoder_block(self, "fuse_motion")(hid, xs["motion"], self_bias, motion_bias, deterministic=deterministic)
    motion = nn.Dense(self.motion_dim, name="motion_head")(hid)
    out = {"motion": motion, "mu": mu, "logvar": logvar}
    if self.emotion_dim:
      readout = EmotionReadout(d, self.emotion_dim, self.readout_context, name="emotion_readout")
      if self.emotion_from == "motion":
        history = None
        if self.readout_context > 1:  # the previous window's last frames; window 0 starts at rest
          k = self.readout_context - 1
          history = jnp.where(index == 0, jnp.repeat(motion[:, :1], k, axis=1),
                              carry["prev_motion"][:, w - k:].astype(motion.dtype))
        out["emotion"] = readout(motion, history)
      else:
        out["emotion"] = readout(jnp.concatenate([motion, hid], axis=-1))
    return {"prev_motion": motion, "z_prev": z}, out
