"""Tests for the ViCo baselines."""
import numpy as np

from listen_jax.baselines import vico


def test_random_keeps_reference_and_is_seeded():
  ref = np.arange(73.0)
  a = vico.random_baseline(ref, 10, np.full(73, 0.1), np.random.default_rng(0))
  b = vico.random_baseline(ref, 10, np.full(73, 0.1), np.random.default_rng(0))
  np.testing.assert_array_equal(a, b)
  np.testing.assert_array_equal(a[0], ref)
  assert 0.05 < np.std(a[1:] - ref) < 0.15


def test_replay_reanchors_and_tiles():
  ref = np.full(73, 5.0)
  motion = np.cumsum(np.ones((4, 73)), axis=0)  # 1, 2, 3, 4
  sim = vico.simulation_baseline(ref, 9, [motion], np.random.default_rng(0))
  assert sim.shape == (9, 73)
  np.testing.assert_array_equal(sim[:, 0], 5.0 + np.array([0, 1, 2, 3, 2, 1, 0, 1, 2]))
  mir = vico.mirroring_baseline(ref, motion)
  np.testing.assert_array_equal(mir[:, 0], [5, 6, 7, 8])
