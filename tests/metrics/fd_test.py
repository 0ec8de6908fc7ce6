"""Tests for the ViCo feature distance."""
import numpy as np
import pytest

from listen_jax.metrics import fd


def test_fd_hand_computed_and_pooled_average():
  true = np.zeros((3, 73))
  pred = np.zeros((3, 73))
  pred[1:, 0:3] = 0.3  # angle error 0.3 on frames 1..2.
  pred[1:, 3:67] = 0.1
  pred[0] = 100.0  # Frame 0 is the given reference: never scored.
  true2 = np.zeros((5, 73))
  pred2 = np.zeros((5, 73))
  pred2[1:, 67:70] = -0.2
  res = fd.feature_distance([pred, pred2], [true, true2], ["positive", 2])
  np.testing.assert_allclose(res["positive"]["angle"], 30.0)
  np.testing.assert_allclose(res["positive"]["exp"], 10.0)
  np.testing.assert_allclose(res["positive"]["trans"], 0.0)
  np.testing.assert_allclose(res["negative"]["trans"], 20.0)
  assert "neutral" not in res
  # Average pools frames: angle = (0.3 * 2 frames * 3 dims) / ((2 + 4) * 3) * 100 = 10.
  np.testing.assert_allclose(res["average"]["angle"], 10.0)
  np.testing.assert_allclose(res["average"]["trans"], 100 * 0.2 * 4 / 6)


def test_fd_rejects_bad_shapes_and_nan():
  acc = fd.FDAccumulator()
  with pytest.raises(ValueError, match="73"):
    acc.add(np.zeros((3, 70)), np.zeros((3, 70)), 0)
  bad = np.zeros((3, 73))
  bad[1, 5] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    acc.add(bad, np.zeros((3, 73)), 0)


def test_markdown_table_layout():
  res = {"test": {"model": fd.feature_distance([np.ones((2, 73))], [np.zeros((2, 73))], [1])}}
  md = fd.markdown_table(res)
  assert "| neutral | angle | 100.00 |" in md
  assert "| positive | exp | - |" in md
