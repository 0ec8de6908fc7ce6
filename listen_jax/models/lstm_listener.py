"""ViCo listener baseline: speaker audio + motion -> next listener 3DMM motion, with an LSTM.

Architecture (the reference `ListenerGenerator`, 248,449 parameters with the defaults):

  concat(audio [45], speaker [73]) -> LayerNorm `input_norm` -> Dense 192 `fusion` + tanh
  -> 2-layer unidirectional LSTM (hidden 96, no biases, dropout between layers) -> Dense 73 `head`.

The LSTM state starts from the listener's first frame: LayerNorm `init_norm` -> Dense 73 `init_hidden` -> tanh
-> Dense 384 `init_state`, read as [batch, 2 ({h, c}), num_layers, hidden]. With `use_attitude`, an embedding
`attitude_embed` [num_attitudes, 384] is added to that 384-d vector (zero-initialised, so an untrained attitude
model starts as the reference one). Row t of the output predicts listener frame t + 1 (z-space, no activation).

Parameter names are the contract with the torch bridge: `lstm_l{k}` hold `w_ih` [in, 4 * hidden] and `w_hh`
[hidden, 4 * hidden] with gate column blocks in PyTorch order (i, f, g, o), so torch `weight_ih_l{k}` is
`w_ih.T`; Dense kernels are torch weights transposed. Initialisation follows PyTorch's defaults
(uniform +-1/sqrt(fan_in) for Linear, +-1/sqrt(hidden) for LSTM weights).

Performance: see `lstm_recurrence` (the scans and their hand-written backward pass).

The recurrent state ("carry") is one array [2 ({h, c}), num_layers, batch, hidden] float32.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from listen_jax.models.lstm_recurrence import (  # pylint: disable=unused-import  (re-exported)
    _gates, _layers_masked, _layers_unmasked, _project, _scan_forward, cell_update, gate_scale, lstm_cell,
    run_lstm_layer, run_lstm_stack)

AUDIO_DIM = 45
MOTION_DIM = 73


def _uniform(bound: float) -> Callable[..., jax.Array]:
  def init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return init


def _torch_dense(features: int, fan_in: int, dtype: Any, name: str) -> nn.Dense:
  """A Dense initialised like `torch.nn.Linear` (weights and bias uniform in +-1/sqrt(fan_in))."""
  bound = 1.0 / math.sqrt(fan_in)
  return nn.Dense(features, dtype=dtype, param_dtype=jnp.float32, kernel_init=_uniform(bound),
                  bias_init=_uniform(bound), name=name)


class LSTMWeights(nn.Module):
  """Bias-free LSTM layer weights: `w_ih` [in, 4 * hidden], `w_hh` [hidden, 4 * hidden], gates (i, f, g, o)."""

  in_features: int
  hidden: int

  @nn.compact
  def __call__(self) -> tuple[jax.Array, jax.Array]:
    init = _uniform(1.0 / math.sqrt(self.hidden))
    w_ih = self.param("w_ih", init, (self.in_features, 4 * self.hidden), jnp.float32)
    w_hh = self.param("w_hh", init, (self.hidden, 4 * self.hidden), jnp.float32)
    return w_ih, w_hh


class ListenerLSTM(nn.Module):
  """ViCo listener LSTM (see the module docstring).

  Attributes:
    audio_dim: audio feature width (45).
    motion_dim: 3DMM dynamic width of speaker input, init frame and output (73).
    fusion_dim: width of the fused speaker feature fed to the LSTM (192).
    hidden: LSTM hidden size (96).
    num_layers: stacked LSTM layers (2).
    dropout: dropout rate between LSTM layers (not after the last), active when `deterministic=False`.
    use_attitude: add a learned attitude embedding to the initial-state vector (not in the reference code).
    num_attitudes: attitude classes (positive, neutral, negative).
    dtype: compute dtype of the matmuls; parameters and the LSTM state stay float32.
    scan_unroll: unroll factor of the training time scans (performance only).
    residual: predict the displacement from the reference frame: output = head(h_t) + init (z-space). Not in
      the reference code; it keeps the listener's identity offset exact over long clips instead of carrying it
      through the LSTM state (on by default in configs/vico_lstm.py, off in its `reference` variant).
    relative_speaker: feed the speaker's motion relative to its first frame (speaker_t - speaker_0, z-space), so
      the listener reacts to the speaker's movements, not to the absolute pose of identities seen in training.
    infer_unroll: unroll factor of the inference scans (`deterministic=True`; performance only).
  """

  audio_dim: int = AUDIO_DIM
  motion_dim: int = MOTION_DIM
  fusion_dim: int = 192
  hidden: int = 96
  num_layers: int = 2
  dropout: float = 0.1
  use_attitude: bool = False
  num_attitudes: int = 3
  dtype: Any = jnp.float32
  scan_unroll: int = 1
  residual: bool = False
  relative_speaker: bool = False
  infer_unroll: int = 1

  def setup(self):
    in_dim = self.audio_dim + self.motion_dim
    state_dim = 2 * self.num_layers * self.hidden
    self.input_norm = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, param_dtype=jnp.float32)
    self.fusion = _torch_dense(self.fusion_dim, in_dim, self.dtype, "fusion")
    self.init_norm = nn.LayerNorm(epsilon=1e-5, dtype=self.dtype, param_dtype=jnp.float32)
    self.init_hidden = _torch_dense(self.motion_dim, self.motion_dim, self.dtype, "init_hidden")
    self.init_state = _torch_dense(state_dim, self.motion_dim, self.dtype, "init_state")
    self.lstm = [LSTMWeights(self.fusion_dim if k == 0 else self.hidden, self.hidden, name=f"lstm_l{k}")
                 for k in range(self.num_layers)]
    self.head = _torch_dense(self.motion_dim, self.hidden, self.dtype, "head")
    if self.use_attitude:
      self.attitude_embed = nn.Embed(self.num_attitudes, state_dim, embedding_init=nn.initializers.zeros,
                                     param_dtype=jnp.float32, name="attitude_embed")

  # -- pieces shared by the sequence call and the step --------------------------------------------------------

  def _check(self, audio: jax.Array, speaker: jax.Array) -> None:
    if audio.shape[-1] != self.audio_dim:
      raise ValueError(f"ListenerLSTM: audio last axis is {audio.shape[-1]}, expected {self.audio_dim}")
    if speaker.shape[-1] != self.motion_dim:
      raise ValueError(f"ListenerLSTM: speaker last axis is {speaker.shape[-1]}, expected {self.motion_dim}")
    if audio.shape[:-1] != speaker.shape[:-1]:
      raise ValueError(f"ListenerLSTM: audio {audio.shape} and speaker {speaker.shape} leading axes differ")

  def _fuse(self, audio: jax.Array, speaker: jax.Array) -> jax.Array:
    """[..., 45], [..., 73] -> [..., fusion_dim] fused speaker feature."""
    x = jnp.concatenate([audio, speaker], axis=-1)
    return jnp.tanh(self.fusion(self.input_norm(x)))

  def _scaled_weights(self, layer: int) -> tuple[jax.Array, jax.Array]:
    """Layer weights with the i, f, o columns halved (`gate_scale`), cast to the compute dtype."""
    w_ih, w_hh = self.lstm[layer]()
    scale = gate_scale(self.hidden)
    return (w_ih * scale).astype(self.dtype), (w_hh * scale).astype(self.dtype)

  def initial_carry(self, init: jax.Array, attitude: jax.Array | None = None) -> jax.Array:
    """LSTM state from the listener's first frame.

    Args:
      init: [batch, 73] z-scored listener frame 0.
      attitude: [batch] int attitude ids (required iff `use_attitude`).

    Returns:
      carry [2 ({h, c}), num_layers, batch, hidden] float32.
    """
    if init.shape[-1] != self.motion_dim:
      raise ValueError(f"ListenerLSTM: init last axis is {init.shape[-1]}, expected {self.motion_dim}")
    v = self.init_state(jnp.tanh(self.init_hidden(self.init_norm(init)))).astype(jnp.float32)
    if self.use_attitude:
      if attitude is None:
        raise ValueError("ListenerLSTM(use_attitude=True) needs an attitude [batch] int array")
      v = v + self.attitude_embed(attitude.astype(jnp.int32))
    # Without `use_attitude` an attitude argument is ignored (the reference model never reads it).
    batch = init.shape[0]
    return v.reshape(batch, 2, self.num_layers, self.hidden).transpose(1, 2, 0, 3)

  # -- whole sequence ------------------------------------------------------------------------------------------

  def __call__(self, audio: jax.Array, speaker: jax.Array, init: jax.Array, lengths: jax.Array,
               attitude: jax.Array | None = None, deterministic: bool = True) -> jax.Array:
    """Predicts the next listener frame for every time step.

    Args:
      audio: [batch, time, 45] z-scored audio features.
      speaker: [batch, time, 73] z-scored speaker motion.
      init: [batch, 73] z-scored listener frame 0.
      lengths: [batch] int number of valid frames; steps t >= lengths[b] leave the state unchanged.
      attitude: [batch] int (used iff `use_attitude`).
      deterministic: disables dropout; when False a 'dropout' rng is needed.

    Returns:
      [batch, time, 73] z-space predictions (row t predicts listener frame t + 1), zeros on padded rows.
    """
    self._check(audio, speaker)
    batch, time = audio.shape[:2]
    if self.relative_speaker:
      speaker = speaker - speaker[:, :1]
    carry = self.initial_carry(init, attitude)
    valid = (jnp.arange(time)[:, None] < jnp.asarray(lengths)[None, :]).astype(jnp.float32)[..., None]
    # Time-major fused input for all steps at once (hoisted out of the recurrence).
    x = self._fuse(jnp.swapaxes(audio, 0, 1), jnp.swapaxes(speaker, 0, 1))  # [time, batch, fusion]
    if deterministic:
      # Inference: unmasked recurrence, one scan per layer; see `run_lstm_stack`.
      w_ih, w_hh = zip(*(self._scaled_weights(k) for k in range(self.num_layers)))
      x = run_lstm_stack(x, valid, carry[0], carry[1], w_ih, w_hh, self.infer_unroll)
    else:
      x = self._train_layers(x, valid, carry)
    out = self.head(jnp.swapaxes(x, 0, 1)).astype(jnp.float32)  # [batch, time, 73]
    if self.residual:
      out = out + init[:, None, :].astype(jnp.float32)
    return out * jnp.swapaxes(valid, 0, 1)

  def _train_layers(self, x: jax.Array, valid: jax.Array, carry: jax.Array) -> jax.Array:
    """Training recurrence: dropout between layers, masked per-layer scans with the hand-written backward."""
    for k in range(self.num_layers):
      w_ih, w_hh = self._scaled_weights(k)
      if k > 0 and self.dropout > 0.0:
        # One mask per (step, stream, unit): every time step draws its own dropout pattern.
        keep = jax.random.bernoulli(self.make_rng("dropout"), 1.0 - self.dropout, x.shape)
        self.sow("intermediates", f"dropout_keep_l{k}", keep)  # [time, batch, hidden]; a no-op unless mutable
        x = jnp.where(keep, x / (1.0 - self.dropout), 0.0)
      # The input projection of all steps is one GEMM inside `run_lstm_layer`, outside the recurrence.
      x = run_lstm_layer(x, valid, carry[0, k], carry[1, k], w_ih, w_hh, self.scan_unroll)
    return x

  # -- one frame -----------------------------------------------------------------------------------------------

  def step(self, carry: jax.Array, audio_t: jax.Array, speaker_t: jax.Array,
           init: jax.Array | None = None, speaker_first: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Advances every stream by one frame (deterministic).

    Args:
      carry: [2, num_layers, batch, hidden] float32 state (from `initial_carry` or a previous step).
      audio_t: [batch, 45] z-scored audio features of frame t.
      speaker_t: [batch, 73] z-scored speaker motion of frame t.
      init: [batch, 73] z-scored listener frame 0 (required iff `residual`).
      speaker_first: [batch, 73] z-scored speaker frame 0 (required iff `relative_speaker`).

    Returns:
      (new carry, [batch, 73] z-space prediction of listener frame t + 1).
    """
    self._check(audio_t, speaker_t)
    if self.relative_speaker:
      if speaker_first is None:
        raise ValueError("ListenerLSTM(relative_speaker=True).step needs the z-scored speaker frame 0")
      speaker_t = speaker_t - speaker_first
    x = self._fuse(audio_t, speaker_t)
    hs, cs = [], []
    for k in range(self.num_layers):
      w_ih, w_hh = self._scaled_weights(k)
      gates_x = jnp.dot(x.astype(self.dtype), w_ih, preferred_element_type=jnp.float32)
      h, c = lstm_cell(gates_x, carry[0, k], carry[1, k], w_hh)
      hs.append(h)
      cs.append(c)
      x = h
    new_carry = jnp.stack([jnp.stack(hs), jnp.stack(cs)])
    out = self.head(x).astype(jnp.float32)
    if self.residual:
      if init is None:
        raise ValueError("ListenerLSTM(residual=True).step needs the z-scored reference frame `init`")
      out = out + init.astype(jnp.float32)
    return new_carry, out
