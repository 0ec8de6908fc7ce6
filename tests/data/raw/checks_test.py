"""Tests for listen_jax.data.raw.checks: the shared frame checks."""
import numpy as np
import pytest

from listen_jax.data import raw


def test_check_frames_messages():
  with pytest.raises(raw.DataError, match=r"clip c: f\.npy: arr has shape \(3,\), expected \[T, 5\]"):
    raw.check_frames(np.zeros(3), width=5, clip="c", path="f.npy", what="arr")
  out = raw.check_frames(np.ones((2, 5), np.float64), width=5, clip="c", path="f.npy", what="arr")
  assert out.dtype == np.float32 and out.shape == (2, 5)
