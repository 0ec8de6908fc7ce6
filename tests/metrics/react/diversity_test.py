"""Tests of listen_jax.metrics.react.diversity (FRDiv, FRVar, FRDvs) against slow NumPy references
of the official REACT definitions."""
import numpy as np

from listen_jax.metrics import react

from react_references import ref_s_mse, ref_fr_dvs, ref_fr_var


def test_diversity_and_variance_match_pairwise_definitions():
  rng = np.random.default_rng(4)
  pred = rng.normal(size=(4, 3, 6, 5)).astype(np.float32)
  np.testing.assert_allclose(react.fr_div(pred), ref_s_mse(pred), rtol=1e-5)
  np.testing.assert_allclose(react.fr_dvs(pred), ref_fr_dvs(pred), rtol=1e-5)
  np.testing.assert_allclose(react.fr_var(pred), ref_fr_var(pred), rtol=1e-5)
  assert react.fr_div(pred[:, :1]) == 0.0
  assert np.isnan(react.fr_dvs(pred[:1]))
