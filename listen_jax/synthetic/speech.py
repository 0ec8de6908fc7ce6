"""Synthetic speech: syllable schedules, the voiced waveform and its frame-rate view."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from listen_jax.synthetic.persons import Person
from listen_jax.synthetic.persons import SpeakingStyle


# Vowels: (F1 Hz, F2 Hz, jaw openness, lip rounding).
_VOWELS = np.array([
    (750.0, 1200.0, 1.0, 0.0),  # a
    (500.0, 1900.0, 0.6, 0.0),  # e
    (300.0, 2300.0, 0.3, -0.2),  # i
    (500.0, 900.0, 0.6, 0.8),  # o
    (320.0, 800.0, 0.3, 1.0),  # u
])


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
