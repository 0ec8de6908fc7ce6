"""Constants of the synthetic generator (frame rates, splits, csv layouts, semantic channels and their
expression components) and its error type."""
from __future__ import annotations

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
