"""Tests of listen_jax.metrics.react.compute_all: analytic values and conventions."""
import numpy as np
import pytest

from listen_jax.metrics import react

from react_references import _adjacency


def test_constant_predictions_analytic_values():
  rng = np.random.default_rng(6)
  n, s, t = 3, 4, 60
  listener = rng.random((n, t, 25)).astype(np.float32)
  speaker = rng.random((n, t, 25)).astype(np.float32)
  pred = np.broadcast_to(rng.random(25).astype(np.float32), (n, s, t, 25)).copy()
  adj = _adjacency(n, rng)
  for conv in react.CONVENTIONS:
    out = react.compute_all(pred, listener, speaker, adj, convention=conv)
    assert out['fr_var'] == 0.0 and out['fr_div'] == 0.0 and out['fr_dvs'] == 0.0
    assert out['fr_syn'] == 49.0
    assert out['fr_corr'] == 0.0
    assert set(out) == {'fr_corr', 'fr_dist', 'fr_div', 'fr_var', 'fr_dvs', 'fr_syn'}


def test_uniform_noise_analytic_values():
  rng = np.random.default_rng(7)
  pred = rng.random((12, 6, 200, 25)).astype(np.float32)
  assert react.fr_var(pred) == pytest.approx(1 / 12, rel=0.02)
  assert react.fr_div(pred) == pytest.approx(1 / 6, rel=0.02)
  assert react.fr_dvs(pred) == pytest.approx(1 / 6, rel=0.02)


def test_ground_truth_repeated():
  rng = np.random.default_rng(8)
  n, s, t = 4, 3, 16
  listener = rng.random((n, t, 25)).astype(np.float32)
  listener[:, :, :6] = 0.0
  listener[0, :, 6:10] = 1.0  # item 0 has fewer varying dims
  speaker = rng.random((n, t, 25)).astype(np.float32)
  pred = np.repeat(listener[:, None], s, axis=1)
  adj = _adjacency(n, rng)
  out = react.compute_all(pred, listener, speaker, adj)
  nonconst = (listener.max(1) != listener.min(1)).mean(1)  # [N]
  assert out['fr_corr'] == pytest.approx(s * nonconst.mean(), rel=1e-5)
  assert out['fr_dist'] == 0.0
  assert out['fr_div'] == 0.0
  corrected = react.compute_all(pred, listener, speaker, adj, convention='corrected')
  assert corrected['fr_corr'] == pytest.approx(1.0, rel=1e-5)
  assert corrected['fr_dist'] == 0.0


def test_corrected_differs_from_react2023_on_constant_column():
  rng = np.random.default_rng(9)
  n, s, t, d = 3, 2, 80, 25
  speaker = rng.normal(size=(n, t, d)).astype(np.float32)
  pred = rng.normal(size=(n, s, t, d)).astype(np.float32)
  for k in range(n):
    pred[k, :, 5:] = speaker[k, :-5]  # every sample lags the speaker by 5 frames
  speaker[:, :, 0] = 0.0  # a constant speaker column
  assert react.fr_syn(pred, speaker) == 49.0
  assert react.fr_syn(pred, speaker, convention='corrected') == 5.0
  listener = np.repeat(pred[:, :1, :, :], 1, axis=1)[:, 0]
  listener[:, :, :10] = 0.0
  gt = np.repeat(listener[:, None], s, axis=1)
  adj = np.eye(n)
  assert react.fr_corr(gt, listener, adj) == pytest.approx(s * 15 / 25, rel=1e-5)
  assert react.fr_corr(gt, listener, adj, convention='corrected') == pytest.approx(1.0, rel=1e-5)
