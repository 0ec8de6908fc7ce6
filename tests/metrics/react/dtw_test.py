"""Tests of listen_jax.metrics.react.dtw (weighted DTW, FRDist) against slow NumPy references of the
official REACT definitions."""
import numpy as np
import pytest

from listen_jax.metrics import react

from react_references import ref_dtw, ref_weighted_dtw, ref_fr_dist, _adjacency, GROUPS25


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
