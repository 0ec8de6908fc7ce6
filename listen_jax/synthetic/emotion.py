"""REACT emotion (15 AUs, valence, arousal, 8 expressions) read off a synthetic FaceVerse sequence."""
from __future__ import annotations

import numpy as np

from listen_jax import layouts
from listen_jax.synthetic.common import BROW
from listen_jax.synthetic.common import CHANNELS
from listen_jax.synthetic.common import FACEVERSE_EXP_INDEX
from listen_jax.synthetic.common import FACEVERSE_EXP_SCALE
from listen_jax.synthetic.common import FROWN
from listen_jax.synthetic.common import JAW
from listen_jax.synthetic.common import REACT_FPS
from listen_jax.synthetic.common import SMILE


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
