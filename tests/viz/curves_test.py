"""Tests of listen_jax.viz.curves."""
import os

import numpy as np
from PIL import Image

from listen_jax import viz

from viz_fakes import _coeffs


def test_plot_curves_png(tmp_path):
  out = viz.plot_curves(_coeffs(40), _coeffs(45, seed=3), _coeffs(40, seed=4), np.random.rand(40), 30,
                        str(tmp_path / "c.png"), title="clip")
  with Image.open(out) as im:
    assert im.size[0] > 500 and im.size[1] > 500
  viz.plot_curves(_coeffs(40), None, None, None, 30, str(tmp_path / "c2.png"))
  assert os.path.getsize(tmp_path / "c2.png") > 10_000
