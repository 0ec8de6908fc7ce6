"""Tests of listen_jax.viz.tracks: expression features, rotations, audio envelope."""

import numpy as np

from listen_jax import viz


def test_expression_features_normalised_per_clip():
  exp = np.zeros((50, 64), np.float32)
  exp[:, 0] = np.linspace(0.0, 1e-3, 50)  # tiny absolute range still spans the display range
  feats = viz.expression_features(exp)
  assert feats["mouth_open"].min() < -0.6 and feats["mouth_open"].max() > 0.6
  np.testing.assert_array_equal(feats["smile"], 0.0)  # constant channel -> neutral


def test_rotation_matrices_are_rotations():
  angle = np.random.default_rng(0).normal(size=(5, 3))
  r = viz.rotation_matrices(angle)
  np.testing.assert_allclose(r @ np.swapaxes(r, 1, 2), np.broadcast_to(np.eye(3), (5, 3, 3)), atol=1e-12)
  yaw = viz.rotation_matrices(np.array([[0.0, 0.5, 0.0]]))[0]
  np.testing.assert_allclose(yaw @ [0, 0, 1.0], [np.sin(0.5), 0, np.cos(0.5)], atol=1e-12)


def test_audio_envelope():
  sr, fps = 8000, 25
  samples = np.zeros(sr, np.float32)
  samples[sr // 2:] = 0.5 * np.sin(np.arange(sr // 2))
  env = viz.audio_envelope(samples, sr, fps, 25)
  assert env.shape == (25,) and env[:12].max() == 0.0 and env[13:].min() > 0.9
