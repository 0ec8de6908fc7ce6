"""Tests of listen_jax.viz.frames: rendered frames respond to pose."""

import numpy as np

from listen_jax import viz

from viz_fakes import _coeffs


def test_frames_count_size_and_pose_response():
  T = 6
  listener = _coeffs(T)
  frames = viz.render_frames(listener, None, None, fps=30, panel=128)
  assert frames.shape == (T, 128 + viz.STRIP, 128, 3) and frames.dtype == np.uint8
  both = viz.render_frames(listener, _coeffs(T + 3, seed=1), np.linspace(0, 1, T), fps=30, panel=128)
  assert both.shape == (T, 128 + viz.STRIP, 256, 3)
  # Turning the head (yaw) changes the head panel; the same pose twice gives identical pixels.
  turned = listener.copy()
  turned[:, 1] = 0.4
  a = viz.render_frames(listener, None, None, panel=128)[:, :128].astype(int)
  b = viz.render_frames(turned, None, None, panel=128)[:, :128].astype(int)
  assert np.abs(a - b).mean() > 0.5
  np.testing.assert_array_equal(a, viz.render_frames(listener, None, None, panel=128)[:, :128])
  # Nodding (pitch) moves the face features vertically: the dark-pixel centroid moves.
  nod = listener.copy()
  nod[:, 0] = 0.3
  c = viz.render_frames(nod, None, None, panel=128)[:, :128].astype(int)
  dark = lambda f: np.argwhere(f[0].sum(-1) < 200)[:, 0].mean()
  assert abs(dark(c) - dark(a)) > 1.0
