"""ViCo listener baselines (raw 73-d ViCo motion in, raw out), after the ViCo paper's Tables 3 and 5.

* Random: the reference (first) listener frame repeated, plus small Gaussian perturbations.
* Simulation: a training listener's motion replayed, re-anchored on the test listener's reference frame
  (its displacement from its own first frame is added to the test listener's first frame).
* Simulation*: the same, drawing only from training clips of the same attitude.
* Mirroring: the speaker's motion displacement applied to the listener's reference frame.
All baselines are deterministic given their `np.random.Generator`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def random_baseline(reference: np.ndarray, length: int, sigma: np.ndarray, rng: np.random.Generator
                    ) -> np.ndarray:
  """[length, 73]: `reference` [73] repeated plus N(0, sigma^2) noise (frame 0 kept exact)."""
  out = np.repeat(np.asarray(reference, np.float64)[None], length, axis=0)
  out[1:] += rng.normal(size=(length - 1, out.shape[-1])) * np.asarray(sigma, np.float64)
  return out


def _replay(reference: np.ndarray, motion: np.ndarray, length: int) -> np.ndarray:
  """Re-anchors `motion` [N, 73] on `reference` and tiles/crops it (back and forth) to `length` frames."""
  motion = np.asarray(motion, np.float64)
  if len(motion) < length:  # Ping-pong tiling keeps the replayed motion continuous.
    period = np.concatenate([motion, motion[-2:0:-1]]) if len(motion) > 2 else motion
    motion = np.concatenate([period] * (length // len(period) + 1))
  motion = motion[:length]
  return np.asarray(reference, np.float64)[None] + (motion - motion[:1])


def simulation_baseline(reference: np.ndarray, length: int, train_listeners: Sequence[np.ndarray],
                        rng: np.random.Generator) -> np.ndarray:
  """A randomly chosen training listener's motion, re-anchored on `reference`."""
  if not train_listeners:
    raise ValueError("simulation baseline: no training listener clips to replay")
  return _replay(reference, train_listeners[int(rng.integers(len(train_listeners)))], length)


def mirroring_baseline(reference: np.ndarray, speaker: np.ndarray) -> np.ndarray:
  """The speaker's motion displacement applied to the listener's reference frame."""
  return _replay(reference, speaker, len(speaker))
