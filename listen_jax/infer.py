"""Streaming inference for the ViCo listener: one speaker frame in, the next listener frame out.

`ListenerStream` keeps the LSTM state on device between calls. Each `push` runs one ahead-of-time compiled
executable that z-scores the raw inputs, advances the LSTM by one frame and de-normalises the prediction; the
state buffer is donated, so it is updated in place. Parameters and statistics are folded into the executable
as constants, so a call passes only three arrays (state, audio frame, speaker frame; plus the speaker's first
frame for `relative_speaker` models).

Streaming equals the offline whole-sequence call: `push` number t (t = 0, 1, ...) returns the raw-unit
prediction of listener frame t + 1, i.e. row t of `model.apply(variables, audio_z, speaker_z, init_z, lengths)`
de-normalised.

Latency: on CPU, JAX's asynchronous dispatch hands each tiny step to a worker thread; for frame-by-frame serving
with a host read-back per frame, set `jax.config.update('jax_cpu_enable_async_dispatch', False)` in the serving
process (quiet 2-core development machine: ~33 us per frame round trip, of which ~15 us is the cost of any
compiled call with a host read-back; the rest is mostly reading the 0.86 MB of float32 weights).
Throughput of many concurrent streams comes from batching them into one `ListenerStream`
([S, ...] frames).

Example:
  stream = ListenerStream(model, variables, stats, first_listener_frame)  # raw [73]
  for audio_t, speaker_t in frames:                                       # raw [45], [73]
    next_listener = np.asarray(stream.push(audio_t, speaker_t))           # raw [73]
"""
from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from listen_jax.models.lstm_listener import ListenerLSTM

_STAT_KEYS = ("audio/mean", "audio/std", "motion/mean", "motion/std")


def _load_stats(stats: Mapping[str, Any], model: ListenerLSTM) -> dict[str, np.ndarray]:
  missing = [k for k in _STAT_KEYS if k not in stats]
  if missing:
    raise KeyError(f"ListenerStream: normalisation stats lack {missing} (need {list(_STAT_KEYS)})")
  out = {k: np.asarray(stats[k], np.float32) for k in _STAT_KEYS}
  for k, dim in (("audio", model.audio_dim), ("motion", model.motion_dim)):
    for part in ("mean", "std"):
      if out[f"{k}/{part}"].shape != (dim,):
        raise ValueError(f"ListenerStream: stats {k}/{part} has shape {out[f'{k}/{part}'].shape}, expected ({dim},)")
    if not np.all(out[f"{k}/std"] > 0):
      raise ValueError(f"ListenerStream: stats {k}/std has non-positive entries")
  return out


def _frame_step(model: ListenerLSTM, variables: Mapping[str, Any], st: Mapping[str, np.ndarray],
                init_z: np.ndarray):
  """Raw-unit frame step around `ListenerLSTM.step`: z-scores the inputs and de-normalises the prediction.

  Returns:
    step(carry, audio_t [..., 45] raw, speaker_t [..., 73] raw, speaker_first [..., 73] raw or None)
      -> (carry, [..., 73] raw prediction), carry [2 ({h, c}), num_layers, ..., hidden] float32, where `...` is
      () for one stream or (S,).
  """
  audio_mean, audio_scale = jnp.asarray(st["audio/mean"]), jnp.asarray(1.0 / st["audio/std"])
  motion_mean, motion_std = jnp.asarray(st["motion/mean"]), jnp.asarray(st["motion/std"])
  motion_scale = jnp.asarray(1.0 / st["motion/std"])
  init_const = jnp.asarray(init_z, jnp.float32) if model.residual else None  # Folded into the executable.

  def step(carry, audio_t, speaker_t, speaker_first):
    lead = audio_t.shape[:-1]
    rows = lambda x: x.reshape((-1,) + x.shape[-1:])
    z = lambda x: rows((x - motion_mean) * motion_scale)
    carry, out_z = model.apply(variables, carry.reshape(carry.shape[:2] + (-1, model.hidden)),
                               rows((audio_t - audio_mean) * audio_scale), z(speaker_t), init_const,
                               z(speaker_first) if model.relative_speaker else None, method=ListenerLSTM.step)
    return (carry.reshape(carry.shape[:2] + lead + (model.hidden,)),
            (out_z * motion_std + motion_mean).reshape(lead + out_z.shape[-1:]))

  return step


class ListenerStream:
  """S concurrent listener streams driven frame by frame (S = 1 for a single stream).

  Attributes:
    num_streams: S.
    single: True when built from one first frame [73]; `push` then takes [45], [73] and returns [73].
  """

  def __init__(self, model: ListenerLSTM, variables: Mapping[str, Any], stats: Mapping[str, Any],
               first_frame: Any, attitude: Any = None):
    """Prepares the state from the listener's first frame and compiles the step.

    Args:
      model: the trained `ListenerLSTM`.
      variables: its variables (`{'params': ...}`).
      stats: normalisation statistics with 'audio/mean', 'audio/std' [45], 'motion/mean', 'motion/std' [73].
      first_frame: listener frame 0 in raw units, [73] for one stream or [S, 73] for S streams.
      attitude: int or [S] ints (used iff `model.use_attitude`).
    """
    self._model = model
    st = _load_stats(stats, model)
    first = np.asarray(first_frame, np.float32)
    if first.ndim not in (1, 2) or first.shape[-1] != model.motion_dim:
      raise ValueError(f"ListenerStream: first_frame must be [{model.motion_dim}] or [S, {model.motion_dim}], "
                       f"got {first.shape}")
    self.single = first.ndim == 1
    lead = () if self.single else first.shape[:1]
    first = first.reshape(-1, model.motion_dim)
    self.num_streams = first.shape[0]
    if attitude is not None:
      attitude = np.broadcast_to(np.asarray(attitude, np.int32), (self.num_streams,))
    elif model.use_attitude:
      raise ValueError("ListenerStream: the model uses attitude; pass attitude=")

    variables = jax.device_put(variables)
    init_z = (first - st["motion/mean"]) / st["motion/std"]
    carry = jax.jit(lambda v, i, a: model.apply(v, i, a, method=ListenerLSTM.initial_carry))(
        variables, init_z, attitude)  # [2, num_layers, S, hidden]
    # On device between calls, [2, num_layers, hidden] (single) or [2, num_layers, S, hidden]: one buffer (each
    # argument or result of a call costs about a microsecond of dispatch).
    self._carry = carry.reshape(carry.shape[:2] + lead + (model.hidden,))
    init_z = init_z.reshape(lead + (model.motion_dim,))
    step = _frame_step(model, variables, st, init_z)

    self._audio_shape = lead + (model.audio_dim,)
    self._speaker_shape = lead + (model.motion_dim,)
    frame = lambda shape: jax.ShapeDtypeStruct(shape, jnp.float32)
    if model.relative_speaker:
      fn, extra = step, (frame(self._speaker_shape),)
    else:  # One argument fewer per call.
      fn, extra = (lambda carry, audio_t, speaker_t: step(carry, audio_t, speaker_t, None)), ()
    self._step = jax.jit(fn, donate_argnums=0).lower(
        self._carry, frame(self._audio_shape), frame(self._speaker_shape), *extra).compile()
    # relative_speaker models: the speaker's first frame, set by the first push, then passed on device.
    self._speaker_first = None
    self._extra = ()

  @property
  def carry(self) -> jax.Array:
    """The LSTM state [2 ({h, c}), num_layers, S, hidden] (a device array; replaced by every `push`)."""
    return self._carry.reshape(2, self._model.num_layers, self.num_streams, self._model.hidden)

  def push(self, audio_t: Any, speaker_t: Any) -> jax.Array:
    """Feeds one frame per stream and returns the next listener frame.

    Args:
      audio_t: raw audio features of frame t, float32 [45] (single) or [S, 45].
      speaker_t: raw speaker motion of frame t, float32 [73] (single) or [S, 73].

    Returns:
      Raw-unit listener frame t + 1, a device array [73] (single) or [S, 73]; `np.asarray` it for the host.
    """
    if self._speaker_first is None:
      if np.shape(speaker_t) != self._speaker_shape:
        raise ValueError(f"ListenerStream.push: expected speaker {self._speaker_shape} frames, got "
                         f"{np.shape(speaker_t)}")
      self._speaker_first = jax.device_put(np.asarray(speaker_t, np.float32))
      self._extra = (self._speaker_first,) if self._model.relative_speaker else ()
    try:
      self._carry, out = self._step(self._carry, audio_t, speaker_t, *self._extra)
    except (TypeError, ValueError):  # Slow path: wrong dtype (e.g. float64) or shape.
      shapes = (np.shape(audio_t), np.shape(speaker_t))
      if shapes != (self._audio_shape, self._speaker_shape):
        raise ValueError(f"ListenerStream.push: expected audio {self._audio_shape} and speaker "
                         f"{self._speaker_shape} frames, got {shapes[0]} and {shapes[1]}") from None
      self._carry, out = self._step(self._carry, np.asarray(audio_t, np.float32), np.asarray(speaker_t, np.float32),
                                    *self._extra)
    return out
