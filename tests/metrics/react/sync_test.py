"""Tests of listen_jax.metrics.react.sync (FRSyn) against slow NumPy references of the official REACT definitions."""
import numpy as np
import pytest

from listen_jax.metrics import react

from react_references import ref_tlcc_offset, ref_fr_syn


def test_fr_syn_matches_numpy_nan_first_argmax():
  rng = np.random.default_rng(5)
  n, t, d = 6, 120, 4
  speaker = rng.normal(size=(n, t, d)).astype(np.float32)
  pred = rng.normal(size=(n, 2, t, d)).astype(np.float32)
  # Item 1: prediction is the speaker delayed by 7 frames -> 7.
  pred[1, 0, 7:] = speaker[1, :-7]
  # Item 2: a speaker column constant over the whole clip -> every lag NaN -> 49.
  speaker[2, :, 3] = 1.0
  # Item 3: a prediction column constant over the first 100 frames: the windows x[:lag] of lags <= -20
  # are constant, so index 0 is the first NaN -> 49.
  pred[3, 0, :100, 2] = 0.0
  # Item 4: constant over the last 100 frames: lags >= 20 are NaN, the first NaN (index 69) wins -> 20.
  pred[4, 0, -100:, 1] = 0.5
  got = [react.fr_syn(pred[k:k + 1], speaker[k:k + 1]) for k in range(n)]
  want = [ref_tlcc_offset(pred[k, 0], speaker[k]) for k in range(n)]
  assert got == want
  assert want[1] == 7 and want[2] == 49 and want[3] == 49 and want[4] == 20
  assert react.fr_syn(pred, speaker) == pytest.approx(ref_fr_syn(pred, speaker))
