"""ReactFace (arXiv 2305.15748): an online, causal transformer VAE generating multiple appropriate listener reactions.

Inputs per clip: speaker log-mel audio [B, 2T, F] (two audio frames per video frame), speaker 3DMM [B, T, D] and,
when the data has it, speaker emotion [B, T, E]. Outputs: listener 3DMM [B, T, D] (and emotion [B, T, E]) in the
same (z-scored) space as the inputs, one sample per noise draw.

Architecture (d = feature_dim, H = num_heads, w = window, p = period, every bias below is `floor_step_bias`):

* Speaker encoder (`SpeakerEncoder`), causal at video-frame resolution:
  - audio: causal Conv1D over `audio_context` log-mel frames -> ReLU -> Dense(d) -> LayerNorm, giving A [B, 2T, d]
    (audio frame a depends on frames a-audio_context+1..a);
  - motion: Dense(d)(concat(3DMM, emotion)) + periodic sinusoid (position t mod p), then `speaker_layers`
    `DecoderBlock`s: causal self-attention (k = 1 bias) and cross-attention onto A (k = 2 bias anchored at audio
    frame 2t+1, so frame t hears its own audio and nothing later). Output: speaker motion features M [B, T, d];
  - auxiliary head: per-frame Dense(d) -> ReLU -> Dense(D) (zero-initialised) reconstructing the speaker 3DMM.
  Encoding a whole clip equals encoding any prefix of it (`stream` encodes window by window over a buffer).

* Window loop (`ReactionWindow`, one call per window of w frames, `nn.scan` offline, a plain call online). For
  window i (frames [iw, iw+w)) the carry holds the reactions generated for window i-1 and z_prev:
  - interaction VAE: past reactions (window i-1, zeros for i = 0) -> Dense(d) + periodic sinusoid at their frames
    -> VIM: `DecoderBlock` cross-attending the speaker audio features of window i-1 (k = 2 bias)
    -> MIM: `DecoderBlock` cross-attending the speaker motion features of window i-1 (k = 1 bias)
    -> `vae_layers` `EncoderBlock`s over [mu_token, logvar_token, tokens] -> Dense heads: mu, logvar [B, L].
    Speaker features of window i-1 are zeros for i = 0. So the latent of window i depends only on speaker frames
    before iw (and on past generated reactions), never on the window it generates.
  - sampling z* = mu + exp(logvar / 2) * noise, momentum z = a * z_prev + (1 - a) * z* (z_prev := z* for i = 0,
    equivalent to the reference's single latent token), then w latents interpolated z_prev -> z with
    align_corners=False weights lambda_n = clip((n + 0.5) * 2 / w - 0.5, 0, 1), projected to d.
  - reaction decoder: sinusoidal queries at WITHIN-WINDOW positions 0..w-1 (the same offline and online)
    -> `decoder_latent_layers` `DecoderBlock`s (causal self-attention, unmasked cross-attention onto the latents)
    -> `DecoderBlock` onto the speaker audio features of window i (k = 2 bias: frame t hears audio <= 2t+1)
    -> `DecoderBlock` onto the speaker motion features of window i (k = 1 bias: frame t sees frames <= t)
    -> Dense(D) 3DMM head; emotion head Dense(d) -> ReLU -> Dense(E) on the generated 3DMM, a causal convolution
    over its last `readout_context` frames when that is > 1 (arousal follows motion energy) (`emotion_from=
    'motion'`) or on concat(3DMM, decoder features) ('features'), with sigmoid (15 AU), tanh (2 VA) and softmax
    (8 expression) groups when E = 25 (REACT layout), linear otherwise.

Strict causality: every output at frame t depends only on speaker audio frames <= 2t+1 and speaker motion/emotion
frames <= t. Clips of any length T are padded at the end to a multiple of w and trimmed (causality makes the
padding invisible to earlier frames).

Online == offline: `step` processes one window with the state in a carry (see `init_carry`). The speaker encoder
keeps right-aligned buffers of each self-attention layer's past inputs and of the audio features (a KV cache over
`max_len` frames), so streaming equals the offline call exactly while the clip has at most `max_len` frames; past
that, the encoder attends to the last `max_len` frames (a sliding context). With `speaker_context` > 0 both modes
limit every encoder layer to its last `speaker_context` frames (a band added to the alignment bias), so they agree
at any clip length. The window cell is the very same module (same parameters, same code path) in both modes.

Context length: with `speaker_context = 0` an encoder frame attends to the whole past, so a clip longer than the
training crops gives the encoder contexts it never saw in training, and its features (and the emotion read off the
generated faces) drift with time. A band of a fraction of the crop makes most training frames see the full band,
the same context every inference frame sees.

Speaker summary (`speaker_summary`): how a listener reacts depends on slow traits of the speaker's behaviour
(speech rate, how much the head moves, how often they smile) that a 16-frame band cannot estimate. With the
summary, each speaker motion feature also gets a projection of the running mean, over every frame so far, of
per-frame statistics (value, square, absolute frame-to-frame change) of the speaker's 3DMM, emotion and log-mel.
A running mean has the same expectation at every length, so unlike unbounded attention it does not drift past the
training crop: it only gets less noisy. Streaming keeps the running sums in the cache (O(1) per frame).

Noise: pass `noise` [B, num_windows, latent_dim] (or [S, B, num_windows, latent_dim] with `num_samples=S`), or
give a 'sample' rng. Dropout uses the 'dropout' rng when `deterministic=False`.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from listen_jax.models import attention
from listen_jax.models.reactface.emotion import AU_OUTPUTS
from listen_jax.models.reactface.emotion import EMOTION_SOURCES
from listen_jax.models.reactface.emotion import emit_aus
from listen_jax.models.reactface.emotion import pool_va_level
from listen_jax.models.reactface.emotion import shift_va
from listen_jax.models.reactface.inputs import check_speaker_inputs
from listen_jax.models.reactface.speaker import SpeakerEncoder
from listen_jax.models.reactface.speaker import init_speaker_cache
from listen_jax.models.reactface.window import ReactionWindow


class ReactFace(nn.Module):
  """Causal ReactFace. See the module docstring.

  Attributes:
    feature_dim: model width d (128).
    num_heads: heads of every bias-masked block (8).
    ffn_dim: FFN width of those blocks (256).
    period: p, frames per alignment-bias step (8).
    window: w, frames generated per latent (8).
    momentum: a in z = a * z_prev + (1 - a) * z* (0.9).
    latent_dim: L (128).
    motion_dim: D, 3DMM dims (58 REACT / 73 ViCo); must be set (the task fills it from the data).
    emotion_dim: E (25 REACT, 0 without emotion); the task fills it from the data.
    audio_dim: F, log-mel bins (80); needed only by `init_carry` (the task fills it from the data).
    slopes: 'alibi' (2^-h per head, reference code) or 'ones' (paper).
    dropout: 0.1.
    max_len: frames of speaker context kept by the streaming cache (`step` equals `__call__` up to this length);
      with `speaker_context` the cache holds only the window + speaker_context - 1 frames a step can read.
    speaker_layers: bias-masked blocks in the speaker encoder (2).
    speaker_context: frames of the past each speaker-encoder frame attends to (its self-attention and its audio
      cross-attention), 0 = the whole clip (the reference). A band well inside the training crop (the REACT
      configs: 16 of 64 frames) gives every inference frame the context most training frames saw (see "Context
      length" above); must be <= max_len, and streaming then equals the offline call at any length.
    speaker_summary: add a running summary of everything the speaker did so far to the speaker motion features:
      Dense(LayerNorm(mean over frames 0..t of (v, v^2, |v_t - v_t-1|))), v = (3DMM, emotion, log-mel) of a
      frame (see "Speaker summary" above). Off in the reference.
    summary_from_clip_start: the task hands training windows the summary of their clip's frames before the window
      (`summary_prefix`, from the pipeline's `window_start`), so a window sees what streaming sees at those frames
      and training covers the summary of long spans; False: every window's summary starts at the window.
    audio_context: causal log-mel conv kernel in audio frames (5 = 2.5 video frames).
    vae_layers, vae_num_heads, vae_ffn_dim: the VAE's transformer encoder (2, 4, 256).
    decoder_latent_layers: decoder blocks attending the interpolated latents (2).
    include_current_frame: audio anchor 2t+1 (True) or the paper's 2t (False); see `attention.floor_step_bias`.
    emotion_from: what the emotion head reads: 'motion' (the generated 3DMM only, `readout_context` frames;
      `EmotionReadout`) or 'features' (concat(3DMM, decoder features), the reference's 2023 emotion head), which
      can predict the expected emotion directly instead of the emotion of the expected face.
    readout_context: generated frames the 'motion' emotion head reads per output frame (1 = the current frame;
      up to window + 1, the history coming from the previous window; a clip starts at rest).
    au_output: how the 15 REACT AUs are emitted at inference (`deterministic=True`): 'probability' or 'binary'
      occurrences 1[p > au_threshold] (`emit_aus`; REACT's labels are occurrences). Training
      (`deterministic=False`) always sees the probabilities, so the losses stay differentiable.
    au_threshold: the 'binary' threshold, one float or 15 per-AU floats (`evaluation.calibrate_au_thresholds`
      fits them after training so each AU occurs on generated faces as often as on the training listeners).
    va_offset: at inference, (valence, arousal) are moved by this offset and clipped to [-1, 1] (`shift_va`);
      None: unchanged. `evaluation.calibrated_task` fits it so the mean generated level on held-out speakers
      equals the training listeners' mean.
    va_shrink, va_population: at inference, after `va_offset`, the running mean of each clip's generated
      (valence, arousal) so far is pulled `va_shrink` (a fraction) of the way to `va_population` (`pool_va_level`;
      causal, streamed as a running sum). The listener's level follows slow traits of the speaker that a model
      trained on short crops predicts poorly for unseen people, so pooling it with the population's lowers the
      error on held-out speakers while the dynamics stay the model's (`evaluation.calibrated_task` sets both:
      `eval.va_shrink`, the training listeners' mean). 0 / None: off.
    num_attitudes: > 0: the listener's attitude (ViCo: positive, neutral, negative) is an input, a learned
      embedding (zero-initialised) added to the speaker motion features of every frame, which the VAE and the
      decoder read; 0 (REACT, the reference): no attitude.
  """

  feature_dim: int = 128
  num_heads: int = 8
  ffn_dim: int = 256
  period: int = 8
  window: int = 8
  momentum: float = 0.9
  latent_dim: int = 128
  motion_dim: int | None = None
  emotion_dim: int | None = None
  audio_dim: int | None = None
  slopes: str = "alibi"
  dropout: float = 0.1
  max_len: int = 800
  speaker_layers: int = 2
  speaker_context: int = 0
  speaker_summary: bool = False
  summary_from_clip_start: bool = True
  audio_context: int = 5
  vae_layers: int = 2
  vae_num_heads: int = 4
  vae_ffn_dim: int = 256
  decoder_latent_layers: int = 2
  include_current_frame: bool = True
  emotion_from: str = "motion"
  readout_context: int = 1
  au_output: str = "probability"
  au_threshold: float | tuple[float, ...] = 0.5
  va_offset: tuple[float, float] | None = None
  va_shrink: float = 0.0
  va_population: tuple[float, float] | None = None
  num_attitudes: int = 0

  def setup(self):
    if self.au_output not in AU_OUTPUTS:
      raise ValueError(f"ReactFace.au_output={self.au_output!r}: expected one of {AU_OUTPUTS}")
    if self.emotion_from not in EMOTION_SOURCES:
      raise ValueError(f"ReactFace.emotion_from={self.emotion_from!r}: expected one of {EMOTION_SOURCES}")
    if not 1 <= self.readout_context <= self.window + 1:
      raise ValueError(f"ReactFace.readout_context={self.readout_context}: expected 1..window + 1 "
                       f"(= {self.window + 1}; the history comes from the previous window)")
    if self.readout_context > 1 and self.emotion_from != "motion":
      raise ValueError("ReactFace.readout_context > 1 needs emotion_from='motion'")
    if not self.motion_dim:
      raise ValueError("ReactFace.motion_dim is not set (58 for REACT FaceVerse, 73 for ViCo)")
    if self.slopes not in attention.SLOPES:
      raise ValueError(f"ReactFace.slopes={self.slopes!r}: expected one of {attention.SLOPES}")
    if not 0 <= self.speaker_context <= self.max_len:
      raise ValueError(f"ReactFace.speaker_context={self.speaker_context}: expected 0 (whole clip) or "
                       f"1..max_len (= {self.max_len}, the streaming cache)")
    self.speaker = SpeakerEncoder(
        feature_dim=self.feature_dim, num_heads=self.num_heads, ffn_dim=self.ffn_dim, period=self.period,
        motion_dim=self.motion_dim, num_layers=self.speaker_layers, audio_context=self.audio_context,
        slopes=self.slopes, dropout=self.dropout, include_current_frame=self.include_current_frame,
        context=self.speaker_context, summary=self.speaker_summary)
    if self.num_attitudes < 0:
      raise ValueError(f"ReactFace.num_attitudes={self.num_attitudes}: expected >= 0 (0: no attitude input)")
    if self.num_attitudes:
      self.attitude_embed = nn.Embed(self.num_attitudes, self.feature_dim, embedding_init=nn.initializers.zeros)
    self.cell = ReactionWindow(
        feature_dim=self.feature_dim, num_heads=self.num_heads, ffn_dim=self.ffn_dim, period=self.period,
        window=self.window, momentum=self.momentum, latent_dim=self.latent_dim, motion_dim=self.motion_dim,
        emotion_dim=self.emotion_dim or 0, slopes=self.slopes, dropout=self.dropout, vae_layers=self.vae_layers,
        vae_num_heads=self.vae_num_heads, vae_ffn_dim=self.vae_ffn_dim,
        decoder_latent_layers=self.decoder_latent_layers, include_current_frame=self.include_current_frame,
        emotion_from=self.emotion_from, readout_context=self.readout_context)

  def _check_inputs(self, audio, motion, emotion, what: str):
    return check_speaker_inputs(what, audio, motion, emotion, motion_dim=self.motion_dim,
                                emotion_dim=self.emotion_dim)

  def _with_attitude(self, motion_feats: jax.Array, attitude: jax.Array | None, what: str) -> jax.Array:
    """Speaker motion features [B, T, d] + the attitude embedding (num_attitudes > 0; attitude [B] int)."""
    if not self.num_attitudes:
      return motion_feats
    if attitude is None or jnp.shape(attitude) != motion_feats.shape[:1]:
      raise ValueError(f"{what}: num_attitudes={self.num_attitudes} needs attitude [{motion_feats.shape[0]}] int, got "
                       f"{None if attitude is None else jnp.shape(attitude)}")
    return motion_feats + self.attitude_embed(jnp.asarray(attitude, jnp.int32))[:, None].astype(motion_feats.dtype)

  def __call__(self, speaker_audio: jax.Array, speaker_3dmm: jax.Array, speaker_emotion: jax.Array | None = None,
               *, attitude: jax.Array | None = None, noise: jax.Array | None = None, num_samples: int | None = None,
               summary_prefix: dict[str, jax.Array] | None = None,
               deterministic: bool = True) -> dict[str, jax.Array]:
    """Generates listener reactions for whole clips (the same window loop as `step`).

    Args:
      speaker_audio: [B, 2T, F] float32 log-mel.
      speaker_3dmm: [B, T, D] float32.
      speaker_emotion: [B, T, E] float32, required iff emotion_dim > 0.
      attitude: [B] int32 listener attitude, required iff num_attitudes > 0.
      noise: [B, nW, L] (or [S, B, nW, L] with `num_samples=S`) standard-normal latent noise, nW = ceil(T / w);
        drawn from the 'sample' rng when None.
      num_samples: None for one sample (outputs without a sample axis), or S: the speaker is encoded once and S
        independent reaction samples are generated (outputs get a leading [S] axis).
      summary_prefix: with `speaker_summary`, the speaker summary of the frames before each row (training windows
        that start inside their clip; see `SpeakerEncoder.__call__`); None: every row starts its clip.
      deterministic: inference: disables dropout (else the 'dropout' rng is used) and emits AUs as `au_output`.

    Returns:
      dict(motion [(S,) B, T, D], emotion [(S,) B, T, E] if emotion_dim, mu and logvar [(S,) B, nW, L],
      speaker_recon [B, T, D]).
    """
    emotion = self._check_inputs(speaker_audio, speaker_3dmm, speaker_emotion, "ReactFace")
    b, t = speaker_3dmm.shape[:2]
    w = self.window
    num_windows = -(-t // w)
    pad = num_windows * w - t
    if pad:  # causal model: end padding never reaches earlier frames
      pad_time = lambda x, n: jnp.pad(x, ((0, 0), (0, n), (0, 0)))  # noqa: E731
      speaker_audio = pad_time(speaker_audio, 2 * pad)
      speaker_3dmm = pad_time(speaker_3dmm, pad)
      emotion = None if emotion is None else pad_time(emotion, pad)
    enc = self.speaker(speaker_audio, speaker_3dmm, emotion, summary_prefix=summary_prefix,
                       deterministic=deterministic)
    enc = {**enc, "motion": self._with_attitude(enc["motion"], attitude, "ReactFace")}

    s = 1 if num_samples is None else int(num_samples)
    if noise is None:
      noise = jax.random.normal(self.make_rng("sample"), (s, b, num_windows, self.latent_dim), jnp.float32)
    elif num_samples is None:
      noise = noise[None]
    if noise.shape != (s, b, num_windows, self.latent_dim):
      expected = (b, num_windows, self.latent_dim) if num_samples is None else (s, b, num_windows, self.latent_dim)
      raise ValueError(f"ReactFace: noise has shape {noise.shape}, expected {expected}")

    def windows(x, frames_per_window):  # [B, nW * fw, d] -> [nW, S*B, fw, d], tiled over samples
      x = x.reshape(b, num_windows, frames_per_window, x.shape[-1]).swapaxes(0, 1)
      return jnp.tile(x, (1, s, 1, 1))

    motion_w = windows(enc["motion"], w)
    audio_w = windows(enc["audio"], 2 * w)
    shift = lambda x: jnp.concatenate([jnp.zeros_like(x[:1]), x[:-1]], axis=0)  # noqa: E731
    xs = {"motion": motion_w, "audio": audio_w, "motion_prev": shift(motion_w), "audio_prev": shift(audio_w),
          "noise": jnp.transpose(noise, (2, 0, 1, 3)).reshape(num_windows, s * b, self.latent_dim),
          "index": jnp.arange(num_windows, dtype=jnp.int32)}
    carry = self._init_window_carry(s * b, enc["motion"].dtype)

    def body(cell, c, x):
      return cell(c, x, deterministic=deterministic)

    scan = nn.scan(body, variable_broadcast="params", split_rngs={"params": False, "dropout": True},
                   in_axes=0, out_axes=0, length=num_windows)
    _, outs = scan(self.cell, carry, xs)

    def frames(x):  # [nW, S*B, w, C] -> [S, B, T, C]
      x = x.swapaxes(0, 1).reshape(s, b, num_windows * w, x.shape[-1])
      return x[:, :, :t]

    out = {"motion": frames(outs["motion"]),
           "mu": jnp.transpose(outs["mu"].reshape(num_windows, s, b, -1), (1, 2, 0, 3)),
           "logvar": jnp.transpose(outs["logvar"].reshape(num_windows, s, b, -1), (1, 2, 0, 3))}
    if self.emotion_dim:
      out["emotion"] = frames(outs["emotion"])
      if deterministic:
        out["emotion"], _ = self._emit(out["emotion"])
    if num_samples is None:
      out = {k: v[0] for k, v in out.items()}
    out["speaker_recon"] = enc["recon"][:, :t]
    return out

  @nn.nowrap
  def _emit(self, emotion: jax.Array, va_sum: jax.Array | None = None, frames_before=0):
    """The inference emotion of frames [frames_before, ...) and the new valence/arousal running sum (None when
    `va_shrink` is off): AUs as `au_output` emits them, valence/arousal moved by `va_offset`, their level pooled
    (`va_shrink`)."""
    emotion = shift_va(emit_aus(emotion, self.au_output, self.au_threshold), self.va_offset)
    return pool_va_level(emotion, va_sum, frames_before, self.va_population, self.va_shrink)

  @nn.nowrap
  def _pools_va(self) -> bool:
    return bool(self.emotion_dim == 25 and self.va_shrink and self.va_population is not None)

  @nn.nowrap
  def _init_window_carry(self, batch_size: int, dtype=jnp.float32) -> dict[str, jax.Array]:
    return {"prev_motion": jnp.zeros((batch_size, self.window, self.motion_dim), dtype),
            "z_prev": jnp.zeros((batch_size, self.latent_dim), dtype)}

  @nn.nowrap
  def cache_frames(self) -> int:
    """Frames of speaker history the streaming cache holds: `max_len`, or with a `speaker_context` band only what
    a window's queries can read (window + speaker_context - 1 frames), so each online step attends to that many."""
    if self.speaker_context:
      return min(self.max_len, self.window + self.speaker_context - 1)
    return self.max_len

  @nn.nowrap
  def init_carry(self, batch_size: int) -> dict[str, Any]:
    """Initial online state: speaker-encoder cache, previous window's reactions and speaker features, z_prev."""
    if not self.audio_dim or not self.motion_dim:
      raise ValueError("ReactFace.init_carry needs motion_dim and audio_dim to be set")
    d, w = self.feature_dim, self.window
    summary_inputs = self.motion_dim + (self.emotion_dim or 0) + self.audio_dim if self.speaker_summary else 0
    cache = init_speaker_cache(batch_size, self.cache_frames(), self.audio_dim, feature_dim=d,
                               num_layers=self.speaker_layers, audio_context=self.audio_context,
                               summary_inputs=summary_inputs)
    return {"speaker": cache,
            "motion_prev": jnp.zeros((batch_size, w, d), jnp.float32),
            "audio_prev": jnp.zeros((batch_size, 2 * w, d), jnp.float32),
            **self._init_window_carry(batch_size),
            **({"va_sum": jnp.zeros((batch_size, 2), jnp.float32)} if self._pools_va() else {}),
            "window": jnp.zeros((), jnp.int32)}

  def step(self, carry: dict[str, Any], speaker_audio: jax.Array, speaker_3dmm: jax.Array,
           speaker_emotion: jax.Array | None, noise: jax.Array, *, attitude: jax.Array | None = None,
           deterministic: bool = True):
    """Online: generates the next window of w frames from the speaker's inputs for that window.

    Args:
      carry: from `init_carry` or the previous `step`.
      speaker_audio: [B, 2w, F] log-mel of this window. speaker_3dmm: [B, w, D]. speaker_emotion: [B, w, E] or None.
        A final partial window is padded at the end by the caller (trim the outputs).
      noise: [B, L] standard-normal latent noise of this window.
      attitude: [B] int32 listener attitude, required iff num_attitudes > 0 (the same at every step).
      deterministic: inference: disables dropout and emits AUs as `au_output`.

    Returns:
      (new carry, dict(motion [B, w, D], emotion [B, w, E] if emotion_dim, mu [B, L], logvar [B, L])).
    """
    emotion = self._check_inputs(speaker_audio, speaker_3dmm, speaker_emotion, "ReactFace.step")
    if speaker_3dmm.shape[1] != self.window:
      raise ValueError(f"ReactFace.step: got {speaker_3dmm.shape[1]} frames, expected window={self.window}")
    index = carry["window"]
    cache, motion_feats, audio_feats = self.speaker.stream(carry["speaker"], speaker_audio, speaker_3dmm, emotion,
                                                           index * self.window, deterministic=deterministic)
    motion_feats = self._with_attitude(motion_feats, attitude, "ReactFace.step")
    xs = {"motion": motion_feats, "audio": audio_feats, "motion_prev": carry["motion_prev"],
          "audio_prev": carry["audio_prev"], "noise": noise, "index": index}
    cell_carry, out = self.cell({"prev_motion": carry["prev_motion"], "z_prev": carry["z_prev"]}, xs,
                                deterministic=deterministic)
    new_carry = {**carry, "speaker": cache, "motion_prev": motion_feats, "audio_prev": audio_feats, **cell_carry,
                 "window": index + 1}
    if self.emotion_dim and deterministic:
      emitted, va_sum = self._emit(out["emotion"], carry.get("va_sum"), index * self.window)
      out = {**out, "emotion": emitted}
      if va_sum is not None:
        new_carry["va_sum"] = va_sum
    return new_carry, out


def count_params(params: Any) -> int:
  """Total number of parameters in a pytree."""
  return int(sum(np.prod(x.shape) for x in jax.tree.leaves(params)))
