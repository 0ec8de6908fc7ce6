"""Validation of a speaker's model inputs, shared by the REACT models (ReactFace, Trans-AE)."""
from __future__ import annotations

import jax


def check_speaker_inputs(what: str, audio: jax.Array, motion: jax.Array, emotion: jax.Array | None, *,
                         motion_dim: int, emotion_dim: int | None, audio_dim: int | None = None) -> jax.Array | None:
  """Checks a speaker's model inputs and returns the emotion to use (None when the model has no emotion).

  Args:
    what: the caller, named in errors.
    audio: [B, 2T, F] log-mel (F checked only when `audio_dim` is set).
    motion: [B, T, motion_dim] 3DMM.
    emotion: [B, T, emotion_dim], required iff `emotion_dim`; ignored otherwise.
  """
  if motion.ndim != 3 or motion.shape[-1] != motion_dim:
    raise ValueError(f"{what}: speaker_3dmm has shape {motion.shape}, expected [B, T, {motion_dim}]")
  b, t = motion.shape[:2]
  if audio.ndim != 3 or audio.shape[:2] != (b, 2 * t) or (audio_dim and audio.shape[-1] != audio_dim):
    raise ValueError(f"{what}: speaker_audio has shape {audio.shape}, expected "
                     f"[{b}, {2 * t}, {audio_dim or 'F'}] (two audio frames per video frame)")
  if not emotion_dim:
    return None
  if emotion is None or emotion.shape != (b, t, emotion_dim):
    raise ValueError(f"{what}: speaker_emotion has shape {None if emotion is None else emotion.shape}, "
                     f"expected [{b}, {t}, {emotion_dim}]")
  return emotion
