"""Synthetic motion: speaking and listening behaviour in the semantic channels, rendered into the ViCo
(BFM) and FaceVerse 3DMM layouts."""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

from listen_jax.synthetic.common import BLINK
from listen_jax.synthetic.common import BROW
from listen_jax.synthetic.common import CHANNELS
from listen_jax.synthetic.common import FACEVERSE_EXP_SCALE
from listen_jax.synthetic.common import JAW
from listen_jax.synthetic.common import LIP
from listen_jax.synthetic.common import PITCH
from listen_jax.synthetic.common import ROLL
from listen_jax.synthetic.common import SMILE
from listen_jax.synthetic.common import SyntheticError
from listen_jax.synthetic.common import YAW
from listen_jax.synthetic.persons import Person
from listen_jax.synthetic.persons import Reaction
from listen_jax.synthetic.persons import SpeakingStyle
from listen_jax.synthetic.speech import SpeechFrames


# Listener timing (seconds).
_NOD_LAG_S = 0.3
_NOD_LENGTH_S = 0.45
_SHAKE_LENGTH_S = 0.8
_SMILE_LAG_S = 0.35
_BACKCHANNEL_LAG_S = 0.35
_NOD_AMPLITUDE = 0.1  # rad
# Measurement / idiosyncratic noise (about a quarter of the response amplitudes).
_SEM_NOISE = 0.08  # semantic channels (AR(1), rho 0.8)
_EXP_NOISE = 0.015  # every expression component
_ANGLE_NOISE = (0.01, 0.008, 0.005)  # rad, AR(1) rho 0.8
_ANGLE_DRIFT = (0.008, 0.008, 0.005)  # rad, slow AR(1) rho 0.985
_SHAKE_AMPLITUDE = 0.07  # rad


def _bumps(num_frames: int, starts, length: float, weights, kind: str = "hann") -> np.ndarray:
  """Sum of `weights[e] * f((t - starts[e]) / length)` over events, on frames t = 0..T-1: [T] float64."""
  starts = np.asarray(starts, np.float64).reshape(-1)
  if starts.size == 0:
    return np.zeros(num_frames)
  weights = np.broadcast_to(np.asarray(weights, np.float64), starts.shape)
  lengths = np.broadcast_to(np.asarray(length, np.float64), starts.shape)
  u = (np.arange(num_frames)[:, None] - starts[None, :]) / lengths[None, :]
  inside = (u >= 0.0) & (u < 1.0)
  uc = np.clip(u, 0.0, 1.0)
  if kind == "hann":
    f = np.sin(np.pi * uc) ** 2
  elif kind == "shake":
    f = np.sin(4.0 * np.pi * uc) * np.sin(np.pi * uc)
  elif kind == "plateau":  # smooth rise over the first 25%, hold, smooth fall over the last 30%
    x = np.clip(np.minimum(uc / 0.25, (1.0 - uc) / 0.3), 0.0, 1.0)
    f = x * x * (3.0 - 2.0 * x)
  else:
    raise SyntheticError(f"unknown bump kind {kind!r}")
  return (np.where(inside, f, 0.0) * weights[None, :]).sum(axis=1)


def _ar1(rng: np.random.Generator, shape, rho: float, std) -> np.ndarray:
  """Stationary AR(1) noise along axis 0 with marginal std `std` (broadcast over the last axis)."""
  e = rng.standard_normal(shape) * np.asarray(std, np.float64)
  x = e * np.sqrt(1.0 - rho**2)
  x[0] = e[0]
  return scipy.signal.lfilter([1.0], [1.0, -rho], x, axis=0)


def _shift(x: np.ndarray, lag: int) -> np.ndarray:
  """x delayed by `lag` >= 0 frames (the first `lag` frames hold x[0])."""
  if lag <= 0:
    return x.copy()
  return np.concatenate([np.full((lag,) + x.shape[1:], x[0]), x[:-lag]], axis=0)


@dataclasses.dataclass
class Motion:
  """Dynamic part of a person's face in one clip (identity offsets are added when rendering).

  Attributes:
    sem: [T, 6] semantic expression channels (CHANNELS order).
    angle: [T, 3] head angles in rad (pitch, yaw, roll).
    spontaneous_smile: [T] the person's own smiles (what a partner mirrors).
  """

  sem: np.ndarray
  angle: np.ndarray
  spontaneous_smile: np.ndarray

  @classmethod
  def zeros(cls, num_frames: int) -> "Motion":
    return cls(np.zeros((num_frames, len(CHANNELS))), np.zeros((num_frames, 3)), np.zeros(num_frames))


def add_speaking(rng: np.random.Generator, motion: Motion, sf: SpeechFrames, person: Person,
                 speaking_style: SpeakingStyle, fps: float, smile_weight=1.0) -> None:
  """Adds articulation, emphasis (brows, head bobs), spontaneous smiles and speech-related head sway."""
  t_frames = motion.sem.shape[0]
  motion.sem[:, JAW] += 1.6 * person.mouth_gain * sf.jaw
  motion.sem[:, LIP] += 0.9 * person.mouth_gain * sf.lip
  motion.sem[:, BROW] += 0.5 * _shift(sf.stress, 1)
  head = speaking_style.head_gain
  smooth_env = scipy.signal.lfilter([0.1], [1.0, -0.9], sf.envelope)
  motion.angle[:, PITCH] += head * (0.035 * _shift(sf.stress, 2) + 0.01 * smooth_env)
  sway = _ar1(rng, (t_frames,), 0.97, 1.0)
  motion.angle[:, YAW] += head * 0.04 * smooth_env * sway
  motion.angle[:, ROLL] += head * 0.015 * smooth_env * _ar1(rng, (t_frames,), 0.97, 1.0)
  # Spontaneous smiles: Poisson events of 1.2-3 s (rate per second, weighted e.g. by "is speaking").
  duration_s = t_frames / fps
  n = rng.poisson(speaking_style.smile_rate * duration_s)
  if n:
    starts = rng.uniform(-0.5, duration_s - 0.5, n) * fps
    keep = rng.random(n) < np.interp(np.clip(starts + 0.5 * fps, 0, t_frames - 1), np.arange(t_frames),
                                     np.broadcast_to(smile_weight, (t_frames,)))
    smiles = _bumps(t_frames, starts[keep], rng.uniform(1.2, 3.0, n)[keep] * fps, rng.uniform(0.9, 1.5, n)[keep],
                    "plateau")
    motion.sem[:, SMILE] += smiles
    motion.spontaneous_smile += smiles


def add_listening(rng: np.random.Generator, motion: Motion, partner: SpeechFrames, partner_smile: np.ndarray,
                  reaction: Reaction, person: Person, fps: float, listening=None) -> None:
  """Adds the lagged responses to the partner's speech and smiles.

  Args:
    rng: random generator (only for the response-strength jitter).
    motion: the listener's motion, updated in place.
    partner: the speaker's frame-rate speech events.
    partner_smile: [T] the speaker's spontaneous smile.
    reaction: the response type (attitude or speaker style).
    person: the listener.
    fps: frame rate.
    listening: optional [T] weight in [0, 1] of the expression offsets (1 = listening all the time).
  """
  t_frames = motion.sem.shape[0]
  lag = (_NOD_LAG_S + person.lag_jitter_s) * fps
  nod_len = _NOD_LENGTH_S * fps
  stress_w = reaction.stress_nod * rng.uniform(0.8, 1.2, partner.stress_frames.size)
  pause_w = reaction.pause_nod * rng.uniform(0.8, 1.2, partner.pause_frames.size)
  stress_drive = _bumps(t_frames, partner.stress_frames + lag - 0.5 * nod_len, nod_len, stress_w)
  drive = stress_drive + _bumps(t_frames, partner.pause_frames + lag - 0.3 * nod_len, nod_len, pause_w)
  motion.angle[:, PITCH] += _NOD_AMPLITUDE * person.nod_gain * np.tanh(1.3 * drive)
  motion.sem[:, BROW] += 0.7 * np.tanh(stress_drive)  # engaged brow raise on the speaker's emphasis
  # Response intensity (nods on emphasis, shakes at phrase ends) that also strengthens the expression offsets.
  engagement = np.tanh(stress_drive + _bumps(t_frames, partner.pause_frames + lag - 0.3 * nod_len, nod_len,
                                             reaction.shake))
  if reaction.shake:
    # Shakes are oscillations, so their phase must be predictable from the speaker alone: they follow the
    # partner's pauses at the common lag (no personal jitter, which a model could only memorise per identity).
    shake_len = _SHAKE_LENGTH_S * fps
    motion.angle[:, YAW] += _SHAKE_AMPLITUDE * np.tanh(_bumps(
        t_frames, partner.pause_frames + _NOD_LAG_S * fps - 0.2 * shake_len, shake_len, reaction.shake, "shake"))
  smile_lag = int(round((_SMILE_LAG_S + person.lag_jitter_s) * fps))
  motion.sem[:, SMILE] += reaction.smile_gain * _shift(partner_smile, smile_lag)
  if reaction.backchannel:
    bc = _bumps(t_frames, partner.pause_frames + _BACKCHANNEL_LAG_S * fps, 0.35 * fps, reaction.backchannel)
    motion.sem[:, LIP] += 1.0 * bc
    motion.sem[:, JAW] += 0.5 * bc
  weight = np.ones(t_frames) if listening is None else np.asarray(listening)
  # Attitude / style expression, intensified while responding.
  motion.sem += (weight * (1.0 + 0.6 * engagement))[:, None] * np.asarray(reaction.offsets)[None, :]


def add_blinks(rng: np.random.Generator, motion: Motion, fps: float, amplitude: float = 1.0) -> None:
  """Adds random eye blinks (0.2 s, about one every 3 s)."""
  t_frames = motion.sem.shape[0]
  n = rng.poisson(0.3 * t_frames / fps)
  motion.sem[:, BLINK] += _bumps(t_frames, rng.uniform(0, t_frames, n), 0.2 * fps, amplitude)


def _loadings(num_exp: int) -> np.ndarray:
  """[6, num_exp]: each semantic channel loads 1 on its primary component and weakly on four others."""
  w = np.zeros((len(CHANNELS), num_exp))
  secondary = (0.5, -0.4, 0.3, -0.2)
  for c in range(len(CHANNELS)):
    w[c, c] = 1.0
    for j, v in enumerate(secondary):
      w[c, len(CHANNELS) + len(secondary) * c + j] = v
  return w


def render_vico(rng: np.random.Generator, motion: Motion, person: Person,
                drift_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
  """Motion + identity -> (dynamic [T, 73], static [T, 187]) float32 in ViCo layout, with measurement noise.

  `drift_scale` scales the slow head-pose drift (speakers move more than listeners).
  """
  t_frames = motion.sem.shape[0]
  sem = motion.sem + _ar1(rng, motion.sem.shape, 0.8, _SEM_NOISE)
  exp = person.exp_neutral + sem @ _loadings(64) + _ar1(rng, (t_frames, 64), 0.8, _EXP_NOISE)
  drift = _ar1(rng, (t_frames, 3), 0.985, drift_scale * np.asarray(_ANGLE_DRIFT))
  angle = person.angle_neutral + motion.angle + drift + _ar1(rng, (t_frames, 3), 0.8, _ANGLE_NOISE)
  dyn_angle = angle - person.angle_neutral
  trans = (person.trans_neutral + np.stack([0.3 * dyn_angle[:, YAW], -0.25 * dyn_angle[:, PITCH],
                                            0.1 * dyn_angle[:, PITCH]], axis=1)
           + _ar1(rng, (t_frames, 3), 0.9, [0.004, 0.004, 0.01]))
  crop = person.crop + np.stack([
      0.01 * person.crop[0] * _ar1(rng, (t_frames,), 0.98, 1.0),
      40.0 * dyn_angle[:, YAW] + _ar1(rng, (t_frames,), 0.7, 0.4),
      40.0 * dyn_angle[:, PITCH] + _ar1(rng, (t_frames,), 0.7, 0.4)], axis=1)
  dynamic = np.concatenate([angle, exp, trans, crop], axis=1).astype(np.float32)
  static = (person.static[None, :] + rng.normal(0.0, 0.01, (t_frames, 187))).astype(np.float32)
  return dynamic, static


def render_faceverse(rng: np.random.Generator, motion: Motion, person: Person, drift_scale: float = 1.0) -> np.ndarray:
  """Motion + identity -> float32 [T, 58] FaceVerse [exp 52 | rot 3 | trans 3], with measurement noise."""
  t_frames = motion.sem.shape[0]
  sem = motion.sem + _ar1(rng, motion.sem.shape, 0.8, _SEM_NOISE)
  exp = person.exp_neutral + FACEVERSE_EXP_SCALE * (sem @ _loadings(52) + _ar1(rng, (t_frames, 52), 0.8, _EXP_NOISE))
  drift = _ar1(rng, (t_frames, 3), 0.985, drift_scale * np.asarray(_ANGLE_DRIFT))
  rot = person.angle_neutral + motion.angle + drift + _ar1(rng, (t_frames, 3), 0.8, _ANGLE_NOISE)
  dyn = rot - person.angle_neutral
  trans = (person.trans_neutral + np.stack([0.05 * dyn[:, YAW], -0.05 * dyn[:, PITCH], 0.02 * dyn[:, PITCH]], 1)
           + _ar1(rng, (t_frames, 3), 0.9, [0.002, 0.002, 0.005]))
  return np.concatenate([exp, rot, trans], axis=1).astype(np.float32)
