"""Tests of the REACT naive baselines."""
import numpy as np
import pytest

from listen_jax.baselines import react as baselines
from listen_jax.metrics import react as metrics


def test_shapes_and_values():
  rng = np.random.default_rng(0)
  listener = rng.random((3, 10, 25)).astype(np.float32)
  speaker = rng.random((3, 10, 25)).astype(np.float32)
  out = baselines.gt(listener, 4)
  assert out.shape == (3, 4, 10, 25) and out.dtype == np.float32
  np.testing.assert_array_equal(out[:, 2], listener)
  np.testing.assert_array_equal(baselines.mime(speaker, 2)[:, 1], speaker)
  noise = baselines.random((3, 4, 10, 25), rng=1)
  assert noise.shape == (3, 4, 10, 25) and noise.dtype == np.float32
  assert noise.min() >= 0.0 and noise.max() < 1.0
  np.testing.assert_array_equal(noise, baselines.random((3, 4, 10, 25), np.random.default_rng(1)))


def test_meanseq_and_meanfr():
  a = np.arange(12, dtype=np.float32).reshape(4, 3)
  b = np.ones((2, 3), np.float32)
  seq = baselines.meanseq([a, b], N=2, S=3)
  assert seq.shape == (2, 3, 4, 3)
  np.testing.assert_allclose(seq[1, 2, :2], (a[:2] + b) / 2)
  np.testing.assert_allclose(seq[0, 0, 2:], a[2:])
  padded = baselines.meanseq([a, b], N=1, S=1, T=6)
  np.testing.assert_allclose(padded[0, 0, 4:], np.repeat(a[3:], 2, axis=0))
  np.testing.assert_allclose(baselines.meanseq(np.stack([a, a]), 1, 1, T=2)[0, 0], a[:2])
  fr = baselines.meanfr([a, b], N=2, T=5, S=3)
  assert fr.shape == (2, 3, 5, 3)
  np.testing.assert_allclose(fr[1, 1, 4], np.concatenate([a, b]).mean(0), rtol=1e-6)
  with pytest.raises(ValueError, match='different feature sizes'):
    baselines.meanfr([a, np.ones((2, 4))], 1, 1, 1)
  with pytest.raises(ValueError, match='empty'):
    baselines.meanseq([], 1, 1)


def test_baselines_through_metrics():
  rng = np.random.default_rng(2)
  n, s, t = 3, 2, 100  # T > 50: shorter clips have empty lag windows (NaN -> FRSyn 49)
  listener = rng.random((n, t, 25)).astype(np.float32)
  speaker = rng.random((n, t, 25)).astype(np.float32)
  fr = metrics.compute_all(baselines.meanfr(list(listener) + list(speaker), n, t, s), listener, speaker,
                           np.eye(n))
  assert fr['fr_div'] == 0.0 and fr['fr_var'] == 0.0 and fr['fr_syn'] == 49.0 and fr['fr_corr'] == 0.0
  assert metrics.fr_div(baselines.meanseq(list(listener), n, s)) == 0.0
  assert metrics.fr_dvs(baselines.meanseq(list(listener), n, s)) == 0.0
  assert metrics.fr_syn(baselines.mime(speaker, s), speaker) == 0.0
