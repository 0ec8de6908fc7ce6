"""Tests of listen_jax.metrics.react.inputs: bad input, empty neighbour rows, neighbour lists."""
import numpy as np
import pytest

from listen_jax.metrics import react


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
