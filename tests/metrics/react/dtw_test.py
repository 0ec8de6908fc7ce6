"""Tests of listen_jax.metrics.react against slow NumPy references of the official REACT definitions."""
import numpy as np
import pytest

from listen_jax.metrics import react

GROUPS25 = ((0, 15, 1 / 15), (15, 17, 1.0), (17, 25, 1 / 8))


# ----------------------------------------------------------------------------------------------------------
# Slow, obvious NumPy references of the official code (loops, np.corrcoef, O(T^2) DP, np.argmax).


def ref_corrcoef_clean(x, y):
  with np.errstate(all='ignore'):
    r = np.corrcoef(x.astype(np.float64), y.astype(np.float64))[0, 1]
  return float(np.clip(np.nan_to_num(r), -1, 1))


def ref_ccc(gt, pr, convention='react2023'):
  vals, keep = [], []
  for d in range(gt.shape[1]):
    x, y = gt[:, d], pr[:, d]
    r = ref_corrcoef_clean(x, y)
    ccc = 2 * r * x.std() * y.std() / (x.var() + y.var() + (x.mean() - y.mean()) ** 2 + 1e-8)
    vals.append(ccc)
    keep.append(x.max() != x.min())
  vals, keep = np.array(vals), np.array(keep)
  if convention == 'react2023':
    return vals.mean()
  return vals[keep].mean() if keep.any() else 0.0


def ref_fr_corr(pred, listener, adj, convention='react2023'):
  per_item = []
  for k in range(pred.shape[0]):
    best = [max(ref_ccc(listener[j], pred[k, s], convention) for j in np.flatnonzero(adj[k] == 1))
            for s in range(pred.shape[1])]
    per_item.append(np.sum(best) if convention == 'react2023' else np.mean(best))
  return float(np.mean(per_item))


def ref_dtw(a, b):
  a, b = a.astype(np.float64), b.astype(np.float64)
  acc = np.full((len(a) + 1, len(b) + 1), np.inf)
  acc[0, 0] = 0.0
  for i in range(1, len(a) + 1):
    for j in range(1, len(b) + 1):
      cost = np.sum((a[i - 1] - b[j - 1]) ** 2)
      acc[i, j] = cost + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
  return np.sqrt(acc[-1, -1])


def ref_weighted_dtw(a, b, groups):
  return sum(w * ref_dtw(a[:, lo:hi], b[:, lo:hi]) for lo, hi, w in groups)


def ref_fr_dist(pred, listener, adj, groups, convention='react2023'):
  per_item = []
  for k in range(pred.shape[0]):
    best = [min(ref_weighted_dtw(pred[k, s], listener[j], groups) for j in np.flatnonzero(adj[k] == 1))
            for s in range(pred.shape[1])]
    per_item.append(np.sum(best) if convention == 'react2023' else np.mean(best))
  return float(np.mean(per_item))


def ref_s_mse(pred):
  n, s = pred.shape[:2]
  if s == 1:
    return 0.0
  out = []
  for k in range(n):
    x = pred[k].reshape(s, -1).astype(np.float64)
    tot = sum(np.sum((x[a] - x[b]) ** 2) for a in range(s) for b in range(s) if a != b)
    out.append(tot / (s * (s - 1) * x.shape[1]))
  return float(np.mean(out))


def ref_fr_dvs(pred):
  n, s = pred.shape[:2]
  tot = 0.0
  for i in range(s):
    x = pred[:, i].reshape(n, -1).astype(np.float64)
    tot += sum(np.sum((x[a] - x[b]) ** 2) for a in range(n) for b in range(n) if a != b)
  return tot / (n * (n - 1) * s) / (pred.shape[2] * pred.shape[3])


def ref_fr_var(pred):
  return float(np.var(pred.astype(np.float64), axis=2, ddof=1).mean())


def ref_tlcc_offset(x, y, max_lag=49):
  """Official crosscorr with the plain np.corrcoef, then np.argmax (first NaN wins)."""
  corrs = []
  for lag in range(-max_lag, max_lag + 1):
    if lag > 0:
      xs, ys = x[lag:], y[:-lag]
    elif lag < 0:
      xs, ys = x[:lag], y[-lag:]
    else:
      xs, ys = x, y
    with np.errstate(all='ignore'):
      r = [np.corrcoef(xs[:, d].astype(np.float64), ys[:, d].astype(np.float64))[0, 1]
           for d in range(x.shape[1])]
    corrs.append(np.mean(r))
  return abs(max_lag - int(np.argmax(np.array(corrs))))


def ref_fr_syn(pred, speaker, max_lag=49):
  return float(np.mean([ref_tlcc_offset(pred[k, 0], speaker[k], max_lag) for k in range(pred.shape[0])]))


# ----------------------------------------------------------------------------------------------------------


def _adjacency(n, rng, p=0.5):
  adj = (rng.random((n, n)) < p).astype(np.float64)
  np.fill_diagonal(adj, 1.0)
  return adj


def test_weighted_dtw_matches_naive_dp_with_unequal_lengths():
  rng = np.random.default_rng(0)
  p = rng.random((3, 9, 25)).astype(np.float32)
  g = rng.random((3, 13, 25)).astype(np.float32)
  got = np.asarray(react.weighted_dtw(p, g, GROUPS25))
  want = [ref_weighted_dtw(p[b], g[b], GROUPS25) for b in range(3)]
  np.testing.assert_allclose(got, want, rtol=1e-5)
  # Symmetric in its arguments, and zero on identical sequences.
  np.testing.assert_allclose(np.asarray(react.weighted_dtw(g, p, GROUPS25)), want, rtol=1e-5)
  assert np.all(np.asarray(react.weighted_dtw(p, p, GROUPS25)) == 0.0)


def test_dtw_squared_strips_match_naive_dp_for_any_strip_height():
  # T1 = 11 is not a multiple of the strip heights, so the last strip is padded and the result comes from
  # an inner row; rows=1 is the plain row recurrence and rows >= T1 a single strip.
  rng = np.random.default_rng(11)
  p = rng.random((5, 11, 25)).astype(np.float32)
  g = rng.random((5, 7, 25)).astype(np.float32)
  bounds = tuple((lo, hi) for lo, hi, _ in GROUPS25)
  want = np.array([[ref_dtw(p[b, :, lo:hi], g[b, :, lo:hi]) ** 2 for b in range(5)] for lo, hi in bounds])
  for rows in (1, 4, 32):
    got = np.asarray(react.dtw_squared(p, g, bounds, rows=rows))
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, want, rtol=1e-5, err_msg=f'rows={rows}')
  got = np.asarray(react.weighted_dtw(p, g, GROUPS25, rows=4))
  np.testing.assert_allclose(got, [ref_weighted_dtw(p[b], g[b], GROUPS25) for b in range(5)], rtol=1e-5)


def test_fr_dist_chunk_larger_than_workload_and_several_chunks_per_device():
  rng = np.random.default_rng(12)
  n, s, t = 6, 2, 9
  pred = rng.random((n, s, t, 25)).astype(np.float32)
  listener = rng.random((n, t + 3, 25)).astype(np.float32)
  adj = _adjacency(n, rng)
  want = ref_fr_dist(pred, listener, adj, GROUPS25)
  for chunk in (2, 1000):
    np.testing.assert_allclose(react.fr_dist(pred, listener, adj, chunk=chunk), want, rtol=1e-5)


def test_fr_dist_vector_width_gives_identical_results():
  rng = np.random.default_rng(13)
  n, s, t = 4, 2, 12
  pred = rng.random((n, s, t, 25)).astype(np.float32)
  listener = rng.random((n, t, 25)).astype(np.float32)
  adj = _adjacency(n, rng)
  want = ref_fr_dist(pred, listener, adj, GROUPS25)
  got = {w: react.fr_dist(pred, listener, adj, vector_width=w) for w in (0, 512)}
  assert got[0] == got[512]
  np.testing.assert_allclose(got[512], want, rtol=1e-5)
  with pytest.raises(ValueError, match='vector_width'):
    react.fr_dist(pred, listener, adj, vector_width=384)


def test_fr_dist_matches_reference_with_padding_mask():
  rng = np.random.default_rng(1)
  n, s, t = 5, 3, 10
  pred = rng.random((n, s, t, 25)).astype(np.float32)
  listener = rng.random((n, t, 25)).astype(np.float32)
  adj = np.zeros((n, n))
  adj[0, [0]] = 1  # neighbour counts 1, 2, 5, 3, 1
  adj[1, [0, 3]] = 1
  adj[2, :] = 1
  adj[3, [1, 2, 4]] = 1
  adj[4, [2]] = 1
  for conv in react.CONVENTIONS:
    want = ref_fr_dist(pred, listener, adj, GROUPS25, conv)
    got = react.fr_dist(pred, listener, adj, convention=conv, chunk=2)
    np.testing.assert_allclose(got, want, rtol=1e-5)
  assert np.isclose(react.fr_dist(pred, listener, adj, convention='react2023'),
                    s * react.fr_dist(pred, listener, adj, convention='corrected'), rtol=1e-6)


def test_fr_dist_non_emotion_dims_use_one_group_and_custom_groups():
  rng = np.random.default_rng(2)
  pred = rng.random((2, 2, 7, 6)).astype(np.float32)
  listener = rng.random((2, 7, 6)).astype(np.float32)
  adj = np.ones((2, 2))
  np.testing.assert_allclose(react.fr_dist(pred, listener, adj),
                             ref_fr_dist(pred, listener, adj, ((0, 6, 1.0),)), rtol=1e-5)
  groups = ((0, 2, 0.5), (2, 6, 2.0))
  np.testing.assert_allclose(react.fr_dist(pred, listener, adj, groups=groups),
                             ref_fr_dist(pred, listener, adj, groups), rtol=1e-5)
  with pytest.raises(ValueError, match='not a valid slice'):
    react.fr_dist(pred, listener, adj, groups=((0, 9, 1.0),))


def test_fr_corr_matches_reference_with_constant_columns():
  rng = np.random.default_rng(3)
  n, s, t = 4, 3, 20
  pred = rng.random((n, s, t, 25)).astype(np.float32)
  listener = rng.random((n, t, 25)).astype(np.float32)
  listener[:, :, :5] = 0.0  # all-zero AU columns
  listener[1, :, 7] = 0.3
  pred[0, 1, :, 9] = 0.7  # constant prediction column
  adj = _adjacency(n, rng)
  adj[2] = 0
  adj[2, 3] = 1  # a single neighbour, not itself
  for conv in react.CONVENTIONS:
    np.testing.assert_allclose(react.fr_corr(pred, listener, adj, convention=conv, chunk=3),
                               ref_fr_corr(pred, listener, adj, conv), rtol=1e-4, atol=1e-6)


def test_diversity_and_variance_match_pairwise_definitions():
  rng = np.random.default_rng(4)
  pred = rng.normal(size=(4, 3, 6, 5)).astype(np.float32)
  np.testing.assert_allclose(react.fr_div(pred), ref_s_mse(pred), rtol=1e-5)
  np.testing.assert_allclose(react.fr_dvs(pred), ref_fr_dvs(pred), rtol=1e-5)
  np.testing.assert_allclose(react.fr_var(pred), ref_fr_var(pred), rtol=1e-5)
  assert react.fr_div(pred[:, :1]) == 0.0
  assert np.isnan(react.fr_dvs(pred[:1]))


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


def test_empty_neighbour_row_and_bad_input():
  rng = np.random.default_rng(10)
  pred = rng.random((3, 2, 8, 25)).astype(np.float32)
  listener = rng.random((3, 8, 25)).astype(np.float32)
  adj = np.eye(3)
  adj[1, 1] = 0
  with pytest.raises(ValueError, match='item 1 is empty'):
    react.fr_dist(pred, listener, adj)
  with pytest.raises(ValueError, match='item 1 is empty'):
    react.fr_corr(pred, listener, adj)
  with pytest.raises(ValueError, match='convention'):
    react.fr_var(pred, convention='official')
  with pytest.raises(ValueError, match='shape'):
    react.fr_corr(pred, listener[:2], np.eye(3))
  bad = pred.copy()
  bad[0, 0, 0, 0] = np.nan
  with pytest.raises(ValueError, match='NaN'):
    react.fr_var(bad)


def test_neighbour_lists_padding():
  adj = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 1]])
  index, mask = react.neighbour_lists(adj, 3)
  np.testing.assert_array_equal(mask, [[1, 1, 0], [1, 0, 0], [1, 1, 1]])
  np.testing.assert_array_equal(np.where(mask, index, -1), [[0, 2, -1], [1, -1, -1], [0, 1, 2]])
