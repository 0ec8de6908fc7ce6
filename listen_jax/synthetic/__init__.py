"""Synthetic dyadic conversations written in the real raw ViCo and REACT 2023 layouts.

The real corpora cannot be downloaded, so every builder, trainer and metric of listen_jax runs on this
generator. It plants the structure a listener model has to learn:

* Speech: phrases of voiced syllables (harmonic source, f0 100-250 Hz with per-syllable glides and phrase
  declination, vowel formant shaping, consonant noise bursts), stressed syllables louder and higher, pauses
  between phrases, a small noise floor.
* Speaker motion: the mouth channels (jaw, lip rounding) follow the syllable envelope, the brows and the head
  pitch bob on stressed syllables, the head drifts slowly, spontaneous smiles come and go, eyes blink.
* Listener motion depends on the speaker with a lag of about 0.3 s: nods (pitch dips) after stressed syllables
  and at phrase ends, a lagged scaled copy of the speaker's smile, attitude (ViCo) or speaking-style (REACT)
  dependent expression offsets, head shakes (yaw oscillations) at phrase ends for negative listeners, small
  "mm-hm" mouth movements, plus smooth noise of about a quarter of the response amplitude.
* Identities: every person has constant neutral offsets (expression, pose, translation, crop) that are visible
  in frame 0, and a constant id/texture/lighting vector.

Motion is first built in six semantic expression channels (`CHANNELS`) plus head angles, then written into the
expression basis of each layout through a fixed loading matrix (primary component `VICO_EXP_INDEX[name]` /
`FACEVERSE_EXP_INDEX[name]` with weight 1, plus two weaker secondary components).

ViCo layout (`make_vico`, 30 fps), under `out_dir`:
  audios/{uuid}.wav                  speaker voice, mono PCM16, exactly round(T * sr / fps) samples
  recons/{uuid}.{speaker,listener}.mat  `coeff` float32 [T, 257] (Deep3DFaceRecon order),
                                     `transform_params` float32 [T, 5] = [256, 256, s, tx, ty]
  {train,test,ood}.csv               video_id,uuid,speaker_id,listener_id,attitude,split

REACT layout (`make_react`, 25 fps), under `out_dir`:
  {split}.csv                        header `,speaker_path,listener_path`; col 1 Expert/P25, col 2 Novice/P26
  {split}/Audio_files/{path}.wav     that person's own voice (mono PCM16)
  {split}/3D_FV_files/{path}.npy     float32 [T, 58] FaceVerse [exp 52 | rot 3 | trans 3]
  {split}/Emotion/{path}.csv         header row + T rows x 25 (`emotion_from_faceverse` of the .npy)
  neighbour_emotion_{split}.npy      float64 [2M, 2M] 0/1, mirrored order, A[k, j] = 1 iff the speakers of
                                     items k and j share a latent speaking style (listeners react to the style)

Everything is seeded: the same seed gives byte-identical files (the .mat header carries no timestamp).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import os
from typing import Sequence

import numpy as np
import scipy.io
import scipy.signal
import soundfile

from listen_jax import layouts

VICO_FPS = 30
REACT_FPS = 25
DEFAULT_SAMPLE_RATE = 16_000
VICO_IMAGE_SIZE = (256.0, 256.0)

attitude_names = ("positive", "neutral", "negative")
VICO_SPLITS = ("train", "test", "ood")
REACT_SPLITS = ("train", "val", "test")
VICO_CSV_COLUMNS = ("video_id", "uuid", "speaker_id", "listener_id", "attitude", "split")
REACT_CSV_HEADER = ",speaker_path,listener_path"
EMOTION_COLUMNS = (
    tuple(f"AU{k}" for k in (1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 23, 24, 25, 26))
    + ("valence", "arousal")
    + ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
)
assert len(EMOTION_COLUMNS) == layouts.REACT_EMOTION.dim

# Semantic expression channels and the head angles (Deep3DFaceRecon / FaceVerse order: pitch, yaw, roll).
CHANNELS = ("jaw", "lip", "smile", "brow", "frown", "blink")
JAW, LIP, SMILE, BROW, FROWN, BLINK = range(len(CHANNELS))
PITCH, YAW, ROLL = 0, 1, 2
# Primary expression component of each channel (index into the 64-d BFM / 52-d FaceVerse expression vector).
VICO_EXP_INDEX = {name: i for i, name in enumerate(CHANNELS)}
FACEVERSE_EXP_INDEX = {name: i for i, name in enumerate(CHANNELS)}
FACEVERSE_EXP_SCALE = 0.6  # FaceVerse expression units per semantic unit


class SyntheticError(ValueError):
  """Invalid arguments to the synthetic data generator."""


def vico_channel_index(name: str) -> int:
  """Index of a semantic channel ('smile', ...) or angle ('pitch', 'yaw', 'roll') in the 73-d ViCo vector."""
  angles = {"pitch": PITCH, "yaw": YAW, "roll": ROLL}
  if name in angles:
    return layouts.VICO_DYNAMIC["angle"].start + angles[name]
  return layouts.VICO_DYNAMIC["exp"].start + VICO_EXP_INDEX[name]


def faceverse_channel_index(name: str) -> int:
  """Index of a semantic channel or angle in the 58-d FaceVerse vector."""
  angles = {"pitch": PITCH, "yaw": YAW, "roll": ROLL}
  if name in angles:
    return layouts.FACEVERSE["rot"].start + angles[name]
  return layouts.FACEVERSE["exp"].start + FACEVERSE_EXP_INDEX[name]


# ---------------------------------------------------------------------------------------------------------
# Behaviour parameters


@dataclasses.dataclass(frozen=True)
class Reaction:
  """How a listener responds to the speaker.

  Attributes:
    stress_nod: nod weight after each stressed syllable.
    pause_nod: nod weight at each phrase end.
    shake: head-shake weight at each phrase end.
    smile_gain: gain of the lagged copy of the speaker's spontaneous smile.
    backchannel: weight of a small "mm-hm" mouth movement at phrase ends.
    offsets: [6] constant semantic-channel offsets (CHANNELS order) while listening.
  """

  stress_nod: float
  pause_nod: float
  shake: float
  smile_gain: float
  backchannel: float
  offsets: tuple[float, ...]


def _offsets(**kw) -> tuple[float, ...]:
  return tuple(float(kw.get(name, 0.0)) for name in CHANNELS)


ATTITUDE_REACTIONS = {
    "positive": Reaction(0.7, 1.0, 0.0, 0.9, 0.5, _offsets(smile=0.9, brow=0.2)),
    "neutral": Reaction(0.5, 0.8, 0.0, 0.55, 0.35, _offsets()),
    "negative": Reaction(0.3, 0.0, 1.0, 0.2, 0.0, _offsets(frown=1.0, smile=-0.35)),
}


@dataclasses.dataclass(frozen=True)
class SpeakingStyle:
  """A latent conversation style: how a speaker talks and how listeners react to it.

  Attributes:
    name: label.
    speech_rate: syllable-rate multiplier.
    stress_prob: probability that a syllable is stressed.
    smile_rate: spontaneous smiles per second.
    head_gain: gain of speech-related head motion.
    reaction: the listener response this style elicits (REACT; ViCo uses the attitude instead).
  """

  name: str
  speech_rate: float
  stress_prob: float
  smile_rate: float
  head_gain: float
  reaction: Reaction


STYLES = (
    SpeakingStyle("cheerful", 1.0, 0.3, 0.25, 1.0, Reaction(0.6, 1.0, 0.0, 0.9, 0.5, _offsets(smile=0.7, brow=0.2))),
    SpeakingStyle("serious", 0.85, 0.2, 0.06, 0.7, Reaction(0.35, 0.7, 0.0, 0.3, 0.3, _offsets(frown=0.8, brow=-0.2))),
    SpeakingStyle("animated", 1.25, 0.45, 0.15, 1.5, Reaction(0.9, 1.2, 0.0, 0.6, 0.2, _offsets(brow=0.8, jaw=0.3))),
    SpeakingStyle("sceptical", 0.9, 0.25, 0.08, 0.9, Reaction(0.3, 0.0, 1.0, 0.2, 0.0, _offsets(frown=0.6, smile=-0.3))),
)


def style(index: int) -> SpeakingStyle:
  """Speaking style `index`; indices >= 4 are milder, faster variants of the first four."""
  base = STYLES[index % len(STYLES)]
  level = index // len(STYLES)
  if level == 0:
    return base
  f = 0.6**level
  r = base.reaction
  reaction = Reaction(r.stress_nod * f, r.pause_nod * f, r.shake * f, r.smile_gain * f, r.backchannel,
                      tuple(o * f for o in r.offsets))
  return dataclasses.replace(base, name=f"{base.name}{level}", speech_rate=base.speech_rate * (1 + 0.15 * level),
                             reaction=reaction)


# Vowels: (F1 Hz, F2 Hz, jaw openness, lip rounding).
_VOWELS = np.array([
    (750.0, 1200.0, 1.0, 0.0),  # a
    (500.0, 1900.0, 0.6, 0.0),  # e
    (300.0, 2300.0, 0.3, -0.2),  # i
    (500.0, 900.0, 0.6, 0.8),  # o
    (320.0, 800.0, 0.3, 1.0),  # u
])

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


@dataclasses.dataclass(frozen=True)
class Person:
  """A synthetic identity.

  Attributes:
    person_id: integer id.
    f0: mean voice pitch in Hz.
    mouth_gain: articulation gain.
    nod_gain: listener nod gain.
    lag_jitter_s: personal offset of the listener response lag.
    exp_neutral: [64] BFM / [52] FaceVerse neutral expression (layout units).
    angle_neutral: [3] neutral head pose in rad.
    trans_neutral: [3] neutral translation.
    crop: [3] neutral (s, tx, ty).
    static: [187] ViCo id/gamma/tex, or None for FaceVerse.
  """

  person_id: int
  f0: float
  mouth_gain: float
  nod_gain: float
  lag_jitter_s: float
  exp_neutral: np.ndarray
  angle_neutral: np.ndarray
  trans_neutral: np.ndarray
  crop: np.ndarray
  static: np.ndarray | None


def make_person(person_id: int, seed: int, fmt: str) -> Person:
  """The identity of person `person_id` (the same in every clip of a dataset made with `seed`)."""
  rng = np.random.default_rng([seed, 2, person_id])
  num_exp = 64 if fmt == "vico" else 52
  exp_scale = 1.0 if fmt == "vico" else FACEVERSE_EXP_SCALE
  exp_neutral = rng.normal(0.0, 0.35, num_exp)
  exp_neutral[: len(CHANNELS)] = rng.normal(0.0, 0.12, len(CHANNELS))  # semantic channels: small resting offsets
  static = None
  if fmt == "vico":
    scale = 1.0 / np.sqrt(1.0 + np.arange(80) / 10.0)
    gamma = rng.normal(0.0, 0.05, (3, 9))
    gamma[:, 0] = rng.uniform(0.1, 0.4) + rng.normal(0.0, 0.03, 3)
    static = np.concatenate([rng.normal(0, 1, 80) * scale, gamma.reshape(-1), rng.normal(0, 1, 80) * scale])
  return Person(
      person_id=int(person_id),
      f0=float(rng.uniform(100.0, 220.0)),
      mouth_gain=float(rng.uniform(0.85, 1.15)),
      nod_gain=float(rng.uniform(0.85, 1.15)),
      lag_jitter_s=float(rng.uniform(-0.04, 0.04)),
      exp_neutral=exp_neutral * exp_scale,
      angle_neutral=rng.normal(0.0, [0.06, 0.08, 0.03]),
      trans_neutral=rng.normal(0.0, [0.08, 0.08, 0.15]) if fmt == "vico" else rng.normal(0.0, [0.02, 0.02, 0.05]),
      crop=np.array([rng.uniform(1.2, 1.8), rng.uniform(105.0, 125.0), rng.uniform(105.0, 125.0)]),
      static=static,
  )


# ---------------------------------------------------------------------------------------------------------
# Speech


@dataclasses.dataclass(frozen=True)
class Syllables:
  """A speaker's syllables in a clip (all arrays [S], times in seconds)."""

  onset: np.ndarray
  duration: np.ndarray
  amplitude: np.ndarray
  f0: np.ndarray
  glide: np.ndarray  # relative f0 change across the syllable
  stressed: np.ndarray  # bool
  phrase_end: np.ndarray  # bool: last syllable of a phrase (a pause follows)
  vowel: np.ndarray  # int index into _VOWELS

  @property
  def size(self) -> int:
    return int(self.onset.shape[0])


def syllable_schedule(rng: np.random.Generator, intervals: Sequence[tuple[float, float]], person: Person,
                      speaking_style: SpeakingStyle) -> Syllables:
  """Phrases of 3-8 syllables separated by pauses, inside the given (start, end) speaking turns (seconds)."""
  rows = []
  rate = speaking_style.speech_rate
  for start, end in intervals:
    t = start + rng.uniform(0.05, 0.3)
    while t < end - 0.3:
      n = int(rng.integers(3, 9))
      phrase = []
      for i in range(n):
        dur = rng.uniform(0.11, 0.26) / rate
        if t + dur > end:
          break
        stressed = rng.random() < (speaking_style.stress_prob * (1.6 if i == 0 else 1.0))
        declination = 1.0 - 0.15 * i / max(n - 1, 1)
        f0 = person.f0 * declination * (1.25 if stressed else 1.0) * (1.0 + rng.normal(0.0, 0.04))
        amp = 1.0 if stressed else rng.uniform(0.45, 0.7)
        glide = rng.uniform(0.05, 0.2) if stressed else rng.uniform(-0.12, 0.08)
        phrase.append([t, dur, amp, f0, glide, stressed, 0.0, rng.integers(0, len(_VOWELS))])
        t += dur + rng.uniform(0.01, 0.06)
      if phrase:
        phrase[-1][6] = 1.0
        rows.extend(phrase)
      t += rng.uniform(0.3, 0.9) / rate
  a = np.asarray(rows, dtype=np.float64).reshape(-1, 8)
  return Syllables(onset=a[:, 0], duration=a[:, 1], amplitude=a[:, 2], f0=a[:, 3], glide=a[:, 4],
                   stressed=a[:, 5] > 0.5, phrase_end=a[:, 6] > 0.5, vowel=a[:, 7].astype(np.int64))


def _syllable_shape(u):
  """Syllable amplitude envelope on u in [0, 1): fast attack, slower decay."""
  return np.sin(np.pi * np.clip(u, 0.0, 1.0) ** 0.7) ** 2


def synthesize_speech(rng: np.random.Generator, syl: Syllables, num_samples: int, sample_rate: int,
                      noise_floor: float = 0.003) -> np.ndarray:
  """Speech-like audio for the syllables: float32 [num_samples] in [-1, 1].

  Voiced syllables are sums of harmonics of a gliding f0 whose amplitudes follow two vowel formants and a
  spectral tilt; each syllable starts with a short high-passed noise burst (a consonant).
  """
  sr = float(sample_rate)
  env = np.zeros(num_samples, np.float32)
  f0 = np.full(num_samples, 120.0)
  sid = np.full(num_samples, -1, np.int64)
  burst = np.zeros(num_samples, np.float32)
  for s in range(syl.size):
    i0 = int(round(syl.onset[s] * sr))
    i1 = min(num_samples, int(round((syl.onset[s] + syl.duration[s]) * sr)))
    if i1 <= i0:
      continue
    u = (np.arange(i0, i1) - syl.onset[s] * sr) / (syl.duration[s] * sr)
    env[i0:i1] = syl.amplitude[s] * _syllable_shape(u)
    f0[i0:i1] = syl.f0[s] * (1.0 + syl.glide[s] * (u - 0.5))
    sid[i0:i1] = s
    b0 = max(0, i0 - int(0.03 * sr))
    if i0 > b0:
      ramp = np.hanning(i0 - b0 + 2)[1:-1]
      burst[b0:i0] = 0.12 * syl.amplitude[s] * ramp * np.diff(rng.standard_normal(i0 - b0 + 1))
  phase = np.mod(2.0 * np.pi * np.cumsum(f0) / sr, 2.0 * np.pi)
  voiced = np.flatnonzero(sid >= 0)
  out = np.zeros(num_samples, np.float32)
  if voiced.size:
    # Harmonic amplitudes per syllable: formant resonances times a spectral tilt, unit energy.
    k = np.arange(1, 31)
    freq = syl.f0[:, None] * k[None, :]  # [S, K]
    f1, f2 = _VOWELS[syl.vowel, 0][:, None], _VOWELS[syl.vowel, 1][:, None]
    res = 1.0 / (1.0 + ((freq - f1) / 90.0) ** 2) + 0.7 / (1.0 + ((freq - f2) / 130.0) ** 2)
    res += 0.25 / (1.0 + ((freq - 2700.0) / 250.0) ** 2)
    amps = (res + 0.02) * k[None, :] ** -0.6 * (freq < min(0.45 * sr, 5000.0))
    amps /= np.sqrt(np.sum(amps**2, axis=1, keepdims=True))
    ph = phase[voiced].astype(np.float32)
    who = sid[voiced]
    wave = np.zeros(voiced.size, np.float32)
    for j in range(k.size):
      wave += amps[who, j].astype(np.float32) * np.sin(np.float32(k[j]) * ph)
    out[voiced] = 0.45 * env[voiced] * wave
  out += burst + noise_floor * rng.standard_normal(num_samples).astype(np.float32)
  peak = float(np.max(np.abs(out))) if num_samples else 0.0
  if peak > 0.95:
    out *= 0.95 / peak
  return out


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


@dataclasses.dataclass(frozen=True)
class SpeechFrames:
  """Frame-rate view of a speaker's syllables.

  Attributes:
    envelope: [T] syllable amplitude envelope.
    jaw: [T] envelope weighted by vowel openness.
    lip: [T] envelope weighted by vowel rounding.
    stress: [T] envelope of stressed syllables only.
    stress_frames: [E] (fractional) frames of stressed-syllable peaks.
    pause_frames: [P] frames where a phrase ends (a pause follows).
  """

  envelope: np.ndarray
  jaw: np.ndarray
  lip: np.ndarray
  stress: np.ndarray
  stress_frames: np.ndarray
  pause_frames: np.ndarray


def speech_frames(syl: Syllables, num_frames: int, fps: float) -> SpeechFrames:
  """Samples the syllable envelopes at frame centres (t + 0.5) / fps."""
  t = (np.arange(num_frames) + 0.5) / fps
  u = (t[:, None] - syl.onset[None, :]) / syl.duration[None, :]
  act = np.where((u >= 0.0) & (u < 1.0), _syllable_shape(u), 0.0) * syl.amplitude[None, :]  # [T, S]
  vowels = _VOWELS[syl.vowel]
  return SpeechFrames(
      envelope=act.sum(axis=1),
      jaw=act @ vowels[:, 2],
      lip=act @ vowels[:, 3],
      stress=act @ syl.stressed.astype(np.float64),
      stress_frames=(syl.onset + 0.4 * syl.duration)[syl.stressed] * fps,
      pause_frames=(syl.onset + syl.duration)[syl.phrase_end] * fps,
  )


# ---------------------------------------------------------------------------------------------------------
# Motion


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


# Emotion readout from FaceVerse: AU k is on when (sem @ _AU_WEIGHTS)[k] > _AU_THRESHOLDS[k].
# AU order: 1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 23, 24, 25, 26; rows: CHANNELS.
_AU_WEIGHTS = np.array([
    # 1    2    4    6    7    9    10   12   14   15   17   23   24   25   26
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0],  # jaw
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.5, 0.0, 0.0],  # lip
    [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.3, 1.0, 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # smile
    [1.0, 1.0, -0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # brow
    [0.0, 0.0, 1.0, 0.0, 0.5, 1.0, 0.6, 0.0, 0.0, 0.6, 0.0, 0.0, 0.5, 0.0, 0.0],  # frown
    [0.0, 0.0, 0.0, 0.2, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # blink
])
_AU_THRESHOLDS = np.array([0.35, 0.6, 0.4, 0.55, 0.45, 0.9, 0.6, 0.35, 0.9, 0.35, 0.35, 0.6, 0.55, 0.3, 0.8])
# Expression logits = [1, jaw, lip, smile, brow, frown, blink] @ _EXPR_WEIGHTS.
# Order: neutral, happy, sad, surprise, fear, disgust, anger, contempt.
_EXPR_WEIGHTS = np.array([
    [1.5, -0.5, -1.0, -1.5, -2.0, -2.0, -1.5, -2.0],  # bias
    [-0.5, 0.0, 0.0, 1.5, 0.5, 0.0, 0.0, 0.0],  # jaw
    [0.0, 0.0, 0.3, 0.0, 0.0, 1.0, 0.0, 0.8],  # lip
    [-1.0, 3.0, -1.5, 0.0, -0.5, -0.5, -1.0, 0.5],  # smile
    [-0.5, 0.3, -0.5, 2.5, 1.5, 0.0, -1.0, 0.0],  # brow
    [-1.0, -1.0, 1.5, 0.0, 1.0, 1.5, 2.5, 0.8],  # frown
    [0.0, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0],  # blink
])


def emotion_from_faceverse(fv: np.ndarray, fps: float = REACT_FPS) -> np.ndarray:
  """The 25-d REACT emotion of a FaceVerse sequence: float32 [T, 25].

  The person's own 3DMM state decides everything: AU k is on when a fixed combination of semantic expression
  channels exceeds a threshold; valence = tanh(smile - frown); arousal grows with motion energy (frame-to-frame
  change of expression and head rotation, smoothed over 0.3 s), brow raise and mouth opening; the 8 expression
  probabilities are a softmax of linear functions of the channels.

  Args:
    fv: [T, 58] FaceVerse coefficients.
    fps: frame rate (sets the energy smoothing window).
  """
  layouts.FACEVERSE.check(fv, "faceverse")
  fv = np.asarray(fv, np.float64)
  idx = [FACEVERSE_EXP_INDEX[name] for name in CHANNELS]
  sem = fv[:, layouts.FACEVERSE["exp"]][:, idx] / FACEVERSE_EXP_SCALE  # [T, 6]
  rot = fv[:, layouts.FACEVERSE["rot"]]
  au = (sem @ _AU_WEIGHTS > _AU_THRESHOLDS).astype(np.float64)
  speed = np.linalg.norm(np.diff(sem, axis=0, prepend=sem[:1]), axis=1)
  speed += 10.0 * np.linalg.norm(np.diff(rot, axis=0, prepend=rot[:1]), axis=1)
  width = max(1, int(round(0.3 * fps)))
  energy = np.convolve(speed, np.ones(width) / width, mode="same")
  valence = np.tanh(1.1 * sem[:, SMILE] - 1.0 * sem[:, FROWN] + 0.1)
  arousal = np.tanh(2.5 * energy + 0.5 * sem[:, BROW] + 0.4 * sem[:, JAW] - 0.6)
  logits = np.concatenate([np.ones((sem.shape[0], 1)), sem], axis=1) @ _EXPR_WEIGHTS
  logits -= logits.max(axis=1, keepdims=True)
  probs = np.exp(logits)
  probs /= probs.sum(axis=1, keepdims=True)
  return np.concatenate([au, valence[:, None], arousal[:, None], probs], axis=1).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------
# Writers


def _random_ids(rng: np.random.Generator, count: int, length: int, alphabet: str) -> list[str]:
  """`count` distinct random strings."""
  chars = np.array(list(alphabet))
  out, seen = [], set()
  while len(out) < count:
    s = "".join(chars[rng.integers(0, len(chars), length)])
    if s not in seen:
      seen.add(s)
      out.append(s)
  return out


def write_wav(path: str, samples: np.ndarray, sample_rate: int) -> None:
  os.makedirs(os.path.dirname(path), exist_ok=True)
  soundfile.write(path, samples, sample_rate, subtype="PCM_16", format="WAV")


def write_mat(path: str, arrays: dict) -> None:
  """scipy.io.savemat with a fixed header text (savemat's default header holds a timestamp)."""
  buf = io.BytesIO()
  scipy.io.savemat(buf, arrays)
  data = bytearray(buf.getvalue())
  data[:116] = b"MATLAB 5.0 MAT-file, Platform: posix, Created by: listen_jax.synthetic".ljust(116, b" ")
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "wb") as f:
    f.write(bytes(data))


def _split_counts(num_clips: int, ratios: Sequence[float], what: str) -> list[int]:
  if num_clips < len(ratios):
    raise SyntheticError(f"{what}: num_clips={num_clips} is too small, need at least {len(ratios)} (one per split)")
  ratios = np.asarray(ratios, np.float64)
  if ratios.shape != (3,) or np.any(ratios <= 0):
    raise SyntheticError(f"{what}: split ratios must be 3 positive numbers, got {ratios.tolist()}")
  counts = np.maximum(1, np.floor(num_clips * ratios / ratios.sum()).astype(int))
  while counts.sum() < num_clips:
    counts[int(np.argmax(num_clips * ratios / ratios.sum() - counts))] += 1
  while counts.sum() > num_clips:
    counts[int(np.argmax(counts))] -= 1
  return counts.tolist()


def _check_common(num_clips, fps, sample_rate, min_seconds, max_seconds, what):
  if int(num_clips) != num_clips:
    raise SyntheticError(f"{what}: num_clips must be an integer, got {num_clips!r}")
  if fps <= 0 or sample_rate <= 0 or int(sample_rate) != sample_rate:
    raise SyntheticError(f"{what}: need fps > 0 and an integer sample_rate > 0, got {fps}, {sample_rate}")
  if not 0 < min_seconds <= max_seconds:
    raise SyntheticError(f"{what}: need 0 < min_seconds <= max_seconds, got {min_seconds}, {max_seconds}")


def vico_clip_frames(rng: np.random.Generator, num_clips: int, fps: float, min_seconds: float, max_seconds: float,
                     short_fraction: float) -> np.ndarray:
  """Clip lengths in frames: uniform in [min, max] seconds, with a `short_fraction` of clips of 2-3 s.

  Short clips never exceed `max_seconds` (they are drawn from [min(2, min_seconds), min(3, max_seconds)]).
  """
  frames = np.round(rng.uniform(min_seconds, max_seconds, num_clips) * fps).astype(int)
  num_short = int(np.ceil(short_fraction * num_clips)) if short_fraction > 0 else 0
  short = rng.permutation(num_clips)[:num_short]
  short_seconds = rng.uniform(min(2.0, min_seconds), min(3.0, max_seconds), num_short)
  frames[short] = np.round(short_seconds * fps).astype(int)
  return np.maximum(frames, 2)


def make_vico(out_dir: str, num_clips: int, seed: int, *, fps: float = VICO_FPS,
              sample_rate: int = DEFAULT_SAMPLE_RATE, min_seconds: float = 4.0, max_seconds: float = 10.0,
              short_fraction: float = 0.1, split_ratios: Sequence[float] = (0.7, 0.15, 0.15)) -> dict:
  """Writes a synthetic ViCo raw dataset (see the module docstring for the layout).

  Test clips reuse train identities; ood speakers and listeners are people never seen in train or test.

  Args:
    out_dir: output folder (created; files of the same names are overwritten, others are left alone).
    num_clips: total clips over train/test/ood (at least 3).
    seed: random seed; the same seed gives identical files.
    fps: video frame rate.
    sample_rate: wav sample rate in Hz.
    min_seconds, max_seconds: range of clip durations.
    short_fraction: fraction of clips made 2-3 s long (at most 90 frames at 30 fps).
    split_ratios: relative sizes of train, test, ood.

  Returns:
    {split: list of csv row dicts}, each row with the csv columns plus `num_frames` (int).
  """
  what = f"make_vico({out_dir!r})"
  _check_common(num_clips, fps, sample_rate, min_seconds, max_seconds, what)
  if not 0.0 <= short_fraction <= 1.0:
    raise SyntheticError(f"{what}: short_fraction must be in [0, 1], got {short_fraction}")
  counts = _split_counts(int(num_clips), split_ratios, what)
  n_train, n_test, n_ood = counts
  os.makedirs(out_dir, exist_ok=True)
  meta = np.random.default_rng([seed, 0])
  n_in_spk = min(n_train, max(2, -(-(n_train + n_test) // 5)))
  n_in_lst = min(n_train, max(2, -(-(n_train + n_test) // 4)))
  n_ood_spk, n_ood_lst = max(1, -(-n_ood // 3)), max(1, -(-n_ood // 3))
  ids = np.arange(n_in_spk + n_in_lst + n_ood_spk + n_ood_lst)
  in_spk, ids = ids[:n_in_spk], ids[n_in_spk:]
  in_lst, ids = ids[:n_in_lst], ids[n_in_lst:]
  ood_spk, ood_lst = ids[:n_ood_spk], ids[n_ood_spk:]

  def cycled(pool, n):
    return np.resize(meta.permutation(pool), n)

  speakers = np.concatenate([cycled(in_spk, n_train), meta.choice(in_spk, n_test), cycled(ood_spk, n_ood)])
  listeners = np.concatenate([cycled(in_lst, n_train), meta.choice(in_lst, n_test), cycled(ood_lst, n_ood)])
  attitudes = np.concatenate([meta.permutation(np.resize(np.arange(3), n)) for n in counts])
  split_of = np.repeat(np.arange(3), counts)
  frames = vico_clip_frames(meta, int(num_clips), fps, min_seconds, max_seconds, short_fraction)
  uuids = _random_ids(meta, int(num_clips), 12, "abcdefghijklmnopqrstuvwxyz0123456789")
  pairs = sorted({(int(s), int(l)) for s, l in zip(speakers, listeners)})
  pair_video = dict(zip(pairs, _random_ids(meta, len(pairs), 11,
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")))
  people = {int(p): make_person(int(p), seed, "vico") for p in np.concatenate([speakers, listeners])}

  rows = {split: [] for split in VICO_SPLITS}
  for i in range(int(num_clips)):
    rng = np.random.default_rng([seed, 1, i])
    speaker, listener = people[int(speakers[i])], people[int(listeners[i])]
    attitude = attitude_names[int(attitudes[i])]
    t_frames = int(frames[i])
    num_samples = int(round(t_frames * sample_rate / fps))
    spk_style = style(int(rng.integers(0, len(STYLES))))
    syl = syllable_schedule(rng, [(0.0, t_frames / fps)], speaker, spk_style)
    audio = synthesize_speech(rng, syl, num_samples, int(sample_rate))
    sf = speech_frames(syl, t_frames, fps)
    spk_motion = Motion.zeros(t_frames)
    add_speaking(rng, spk_motion, sf, speaker, spk_style, fps)
    add_blinks(rng, spk_motion, fps)
    lst_motion = Motion.zeros(t_frames)
    add_listening(rng, lst_motion, sf, spk_motion.spontaneous_smile, ATTITUDE_REACTIONS[attitude], listener, fps)
    add_blinks(rng, lst_motion, fps, amplitude=0.4)
    uuid = uuids[i]
    for role, person, motion, drift in (("speaker", speaker, spk_motion, 2.0), ("listener", listener, lst_motion, 1.0)):
      dynamic, static = render_vico(rng, motion, person, drift)
      coeff, transform = layouts.vico_to_bfm(dynamic, static, VICO_IMAGE_SIZE)
      write_mat(os.path.join(out_dir, "recons", f"{uuid}.{role}.mat"),
                {"coeff": coeff.astype(np.float32), "transform_params": transform.astype(np.float32)})
    write_wav(os.path.join(out_dir, "audios", f"{uuid}.wav"), audio, int(sample_rate))
    split = VICO_SPLITS[int(split_of[i])]
    rows[split].append(dict(video_id=pair_video[(speaker.person_id, listener.person_id)], uuid=uuid,
                            speaker_id=speaker.person_id, listener_id=listener.person_id, attitude=attitude,
                            split=split, num_frames=t_frames))
  for split in VICO_SPLITS:
    with open(os.path.join(out_dir, f"{split}.csv"), "w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=VICO_CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
      writer.writeheader()
      writer.writerows(rows[split])
  return rows


def _turns(rng: np.random.Generator, duration_s: float) -> tuple[list, list]:
  """Alternating speaking turns of the two persons: ([(start, end)] of person 0, of person 1)."""
  turns = ([], [])
  t, who = rng.uniform(0.1, 0.4), int(rng.integers(0, 2))
  while t < duration_s - 0.8:
    length = rng.uniform(2.5, 6.0)
    end = min(t + length, duration_s - 0.1)
    turns[who].append((t, end))
    t = end + rng.uniform(0.3, 0.8)
    who = 1 - who
  return turns


def _turn_mask(turns, num_frames: int, fps: float) -> np.ndarray:
  """[T] 1 inside the turns, 0 outside, sampled at frame centres."""
  t = (np.arange(num_frames) + 0.5) / fps
  mask = np.zeros(num_frames)
  for start, end in turns:
    mask[(t >= start) & (t < end)] = 1.0
  return mask


def _react_sessions(rng: np.random.Generator, counts: Sequence[int]) -> list[list[tuple[str, str, str]]]:
  """Per split, (site, session, clip) of each csv row; a session belongs to one split."""
  cities = ("Nottingham", "Paris", "Augsburg")
  out, recola_group, noxi_index = [], 0, 0
  for n in counts:
    rows = []
    while len(rows) < n:
      clips = min(n - len(rows), int(rng.integers(2, 6)))
      if rng.random() < 0.15:
        recola_group += 1
        site, session = "RECOLA", f"group-{recola_group}"
      else:
        noxi_index += int(rng.integers(1, 4))
        month, day = int(rng.integers(1, 13)), int(rng.integers(1, 29))
        site = "NoXI"
        session = f"{noxi_index:03d}_2016-{month:02d}-{day:02d}_{cities[int(rng.integers(0, 3))]}"
      rows.extend((site, session, str(c + 1)) for c in range(clips))
    out.append(rows)
  return out


def react_person_path(site: str, session: str, clip: str, column: int) -> str:
  """Relative path (no extension) of csv column 1 (Expert / P25) or 2 (Novice / P26) of a dyadic clip."""
  if site == "NoXI":
    return f"NoXI/{session}/{('Expert_video', 'Novice_video')[column - 1]}/{clip}"
  return f"{site}/{session}/{('P25', 'P26')[column - 1]}/{clip}"


def neighbour_matrix(styles: np.ndarray) -> np.ndarray:
  """[N, N] float64 0/1: A[k, j] = 1 iff items k and j have the same speaker style (diagonal 1)."""
  styles = np.asarray(styles)
  return (styles[:, None] == styles[None, :]).astype(np.float64)


def _dyad_styles(rng: np.random.Generator, num_styles: int, num_rows: int) -> np.ndarray:
  """[2M] balanced random styles in mirrored order where the two persons of every dyad differ.

  An item's mirrored twin (its listener is this item's speaker) is then never among its appropriate neighbours,
  so the Mime baseline cannot copy a neighbour. A random balanced assignment is repaired by swapping second
  persons between dyads, which keeps the style counts and the randomness of the pairing.
  """
  styles = rng.permutation(np.resize(np.arange(num_styles), 2 * num_rows))
  if num_styles < 2:
    return styles
  first, second = styles[:num_rows], styles[num_rows:].copy()
  for i in range(num_rows):
    if first[i] != second[i]:
      continue
    ok = np.flatnonzero((second != first[i]) & (first != second[i]))
    if ok.size == 0:
      raise SyntheticError(f"cannot give {num_rows} dyads two different styles out of {num_styles}")
    j = int(rng.choice(ok))
    second[i], second[j] = second[j], second[i]
  return np.concatenate([first, second])


def make_react(out_dir: str, num_clips: int, seed: int, *, fps: float = REACT_FPS,
               sample_rate: int = DEFAULT_SAMPLE_RATE, min_seconds: float = 12.0, max_seconds: float = 12.0,
               num_styles: int = 4, crosstalk: float = 0.05,
               split_ratios: Sequence[float] = (0.6, 0.2, 0.2),
               lead_in_seconds: tuple[float, float] = (3.0, 8.0)) -> dict:
  """Writes a synthetic REACT 2023 raw dataset (see the module docstring for the layout).

  Each csv row is a dyadic clip in which both persons talk in turns; each person has audio, FaceVerse 3DMM and
  emotion for the whole clip. Every item of the mirrored order (k < M: column-1 person speaks, k >= M: column-2
  person speaks) has a latent speaker style; the listener of that item reacts to the style (`STYLES`), and the
  neighbour matrix marks items with the same style as appropriate for each other.

  Args:
    out_dir: output folder (created; files of the same names are overwritten, others are left alone).
    num_clips: total csv rows over train/val/test (at least 3).
    seed: random seed; the same seed gives identical files.
    fps: video frame rate.
    sample_rate: wav sample rate in Hz.
    min_seconds, max_seconds: range of clip durations (equal by default: the metrics stack clips of one length).
    num_styles: number of latent speaker styles (1-12); each style is used by several items of a split.
    crosstalk: level of the partner's voice leaking into each person's audio.
    split_ratios: relative sizes of train, val, test.
    lead_in_seconds: (min, max) of a per-clip random lead-in. Like the real corpus, whose clips are cut out of
      longer sessions, each conversation is simulated from its start and the clip begins after the lead-in, so
      clips do not share a start transient (both persons at rest, first turn, offsets ramping in) that a
      per-frame mean over training clips (the MeanSeq baseline) could exploit. (0, 0) starts at rest.

  Returns:
    {split: dict(rows=[(speaker_path, listener_path)], styles=[2M] int, num_frames=[M] int)}.
  """
  what = f"make_react({out_dir!r})"
  _check_common(num_clips, fps, sample_rate, min_seconds, max_seconds, what)
  if not 1 <= num_styles <= 12:
    raise SyntheticError(f"{what}: num_styles must be in [1, 12], got {num_styles}")
  lead_lo, lead_hi = (float(v) for v in lead_in_seconds)
  if not 0.0 <= lead_lo <= lead_hi:
    raise SyntheticError(f"{what}: lead_in_seconds must be (min, max) with 0 <= min <= max, got {lead_in_seconds}")
  counts = _split_counts(int(num_clips), split_ratios, what)
  os.makedirs(out_dir, exist_ok=True)
  meta = np.random.default_rng([seed, 0])
  sessions = _react_sessions(meta, counts)
  person_ids: dict[tuple[str, int], int] = {}
  summary = {}
  clip_index = 0
  for split, split_rows in zip(REACT_SPLITS, sessions):
    m = len(split_rows)
    # Balanced style assignment over the 2M items, so every style has several items in the split.
    n_styles = max(1, min(num_styles, (2 * m) // 2))
    styles = _dyad_styles(meta, n_styles, m)
    frames = np.round(meta.uniform(min_seconds, max_seconds, m) * fps).astype(int)
    rows = []
    for r, (site, session, clip) in enumerate(split_rows):
      rng = np.random.default_rng([seed, 3, clip_index])
      clip_index += 1
      clip_frames = int(frames[r])
      lead = int(round(rng.uniform(lead_lo, lead_hi) * fps))
      t_frames = clip_frames + lead  # the simulated conversation; the clip is its last `clip_frames` frames
      lead_samples = int(round(lead * sample_rate / fps))
      clip_samples = int(round(clip_frames * sample_rate / fps))
      num_samples = lead_samples + clip_samples
      paths = [react_person_path(site, session, clip, col) for col in (1, 2)]
      persons = []
      for col in (0, 1):
        key = (f"{site}/{session}", col)
        person_ids.setdefault(key, len(person_ids))
        persons.append(make_person(person_ids[key], seed, "react"))
      person_styles = [style(int(styles[r])), style(int(styles[r + m]))]
      turns = _turns(rng, t_frames / fps)
      syls = [syllable_schedule(rng, turns[p], persons[p], person_styles[p]) for p in (0, 1)]
      voices = [synthesize_speech(rng, syls[p], num_samples, int(sample_rate)) for p in (0, 1)]
      sfs = [speech_frames(syls[p], t_frames, fps) for p in (0, 1)]
      masks = [_turn_mask(turns[p], t_frames, fps) for p in (0, 1)]
      motions = [Motion.zeros(t_frames) for _ in (0, 1)]
      for p in (0, 1):
        add_speaking(rng, motions[p], sfs[p], persons[p], person_styles[p], fps, smile_weight=0.3 + 0.7 * masks[p])
        add_blinks(rng, motions[p], fps)
      for p in (0, 1):
        q = 1 - p
        # Offsets while the partner holds the turn, ramping in and out with the response lag.
        listening = scipy.signal.lfilter([0.15], [1.0, -0.85], _shift(masks[q], int(round(_NOD_LAG_S * fps))))
        add_listening(rng, motions[p], sfs[q], motions[q].spontaneous_smile, person_styles[q].reaction,
                      persons[p], fps, listening=listening)
      for p in (0, 1):
        fv = render_faceverse(rng, motions[p], persons[p], drift_scale=1.5)[lead:]
        audio = (voices[p] + crosstalk * voices[1 - p])[lead_samples:]
        base = os.path.join(out_dir, split)
        write_wav(os.path.join(base, "Audio_files", paths[p] + ".wav"), np.clip(audio, -1.0, 1.0),
                  int(sample_rate))
        npy = os.path.join(base, "3D_FV_files", paths[p] + ".npy")
        os.makedirs(os.path.dirname(npy), exist_ok=True)
        np.save(npy, fv)
        emo = os.path.join(base, "Emotion", paths[p] + ".csv")
        os.makedirs(os.path.dirname(emo), exist_ok=True)
        np.savetxt(emo, emotion_from_faceverse(fv, fps), fmt="%.6f", delimiter=",",
                   header=",".join(EMOTION_COLUMNS), comments="")
      rows.append(tuple(paths))
    with open(os.path.join(out_dir, f"{split}.csv"), "w", newline="") as f:
      f.write(REACT_CSV_HEADER + "\n")
      for r, (p1, p2) in enumerate(rows):
        f.write(f"{r},{p1},{p2}\n")
    np.save(os.path.join(out_dir, f"neighbour_emotion_{split}.npy"), neighbour_matrix(styles))
    summary[split] = dict(rows=rows, styles=styles.tolist(), num_frames=frames.tolist())
  return summary


# ---------------------------------------------------------------------------------------------------------
# Small helpers (tests, sanity checks)


def read_vico_clip(out_dir: str, uuid: str) -> dict:
  """Loads a generated ViCo clip: dict(speaker [T, 73], listener [T, 73], audio [N] float32, sample_rate)."""
  out = {}
  for role in ("speaker", "listener"):
    mat = scipy.io.loadmat(os.path.join(out_dir, "recons", f"{uuid}.{role}.mat"))
    out[role], _ = layouts.bfm_to_vico(mat["coeff"], mat["transform_params"])
  out["audio"], out["sample_rate"] = soundfile.read(os.path.join(out_dir, "audios", f"{uuid}.wav"),
                                                    dtype="float32")
  return out


def read_csv_rows(path: str) -> list[dict]:
  with open(path, newline="") as f:
    return list(csv.DictReader(f))


def lagged_correlation(x: np.ndarray, y: np.ndarray, lag: int) -> float:
  """Pearson correlation of x[t - lag] with y[t] (x leads y by `lag` frames) over the common frames."""
  x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
  n = min(x.shape[0], y.shape[0])
  if lag > 0:
    x, y = x[: n - lag], y[lag:n]
  else:
    x, y = x[:n], y[:n]
  x, y = x - x.mean(), y - y.mean()
  denom = np.sqrt((x * x).sum() * (y * y).sum())
  return float((x * y).sum() / denom) if denom > 0 else 0.0


def frame_energy(samples: np.ndarray, sample_rate: int, fps: float) -> np.ndarray:
  """Mean square of the samples in each video frame: [round(N * fps / sr)] float64."""
  hop = sample_rate / fps
  n = int(np.round(samples.shape[0] / hop))  # the wav holds round(T * sr / fps) samples
  edges = np.minimum(np.round(np.arange(n + 1) * hop).astype(int), samples.shape[0])
  sq = np.concatenate([[0.0], np.cumsum(np.asarray(samples, np.float64) ** 2)])
  return (sq[edges[1:]] - sq[edges[:-1]]) / np.diff(edges)
