"""Tests of listen_jax.metrics.react.corr (FRCorr) against slow NumPy references of the official REACT definitions."""
import numpy as np

from listen_jax.metrics import react

from react_references import ref_fr_corr, _adjacency


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
