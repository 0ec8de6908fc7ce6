"""Behaviour parameters of the synthetic persons: attitude reactions, speaking styles, identities."""
from __future__ import annotations

import dataclasses

import numpy as np

from listen_jax.synthetic.common import CHANNELS
from listen_jax.synthetic.common import FACEVERSE_EXP_SCALE


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
