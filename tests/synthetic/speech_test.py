"""Tests of the synthetic speech (listen_jax/synthetic/speech.py)."""

import numpy as np

from listen_jax import synthetic


def test_synthesize_speech_follows_syllables():
  person = synthetic.make_person(0, seed=0, fmt="vico")
  rng = np.random.default_rng(0)
  syl = synthetic.syllable_schedule(rng, [(0.0, 3.0)], person, synthetic.STYLES[0])
  assert syl.size > 5 and syl.stressed.any() and syl.phrase_end.any()
  assert np.all(np.diff(syl.onset) > 0) and np.all(syl.onset[1:] >= syl.onset[:-1] + syl.duration[:-1])
  audio = synthetic.synthesize_speech(rng, syl, 48000, 16000)
  assert audio.dtype == np.float32 and audio.shape == (48000,)
  frames = synthetic.speech_frames(syl, 90, 30.0)
  energy = synthetic.frame_energy(audio, 16000, 30.0)
  assert np.corrcoef(frames.envelope, np.sqrt(energy))[0, 1] > 0.7
  # Stressed syllables are louder.
  assert frames.envelope[frames.stress > 0.5].mean() > 1.2 * frames.envelope[
      (frames.envelope > 0.3) & (frames.stress == 0)].mean()
