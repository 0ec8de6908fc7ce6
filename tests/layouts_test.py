"""Tests for listen_jax.layouts."""
import jax.numpy as jnp
import numpy as np
import pytest

from listen_jax import layouts


def test_dims_and_slices():
  assert layouts.BFM_COEFF.dim == 257
  assert layouts.VICO_DYNAMIC.dim == 73
  assert layouts.VICO_STATIC.dim == 187
  assert layouts.PIRENDER.dim == 73
  assert layouts.FACEVERSE.dim == 58
  assert layouts.REACT_EMOTION.dim == 25
  assert layouts.BFM_COEFF["angle"] == slice(224, 227)
  assert layouts.BFM_COEFF["gamma"] == slice(227, 254)
  assert layouts.BFM_COEFF["trans"] == slice(254, 257)
  assert layouts.VICO_DYNAMIC["crop"] == slice(70, 73)
  assert layouts.PIRENDER["angle"] == slice(64, 67)
  assert layouts.FACEVERSE["rot"] == slice(52, 55)


def test_bfm_vico_round_trip_both_ways():
  rng = np.random.default_rng(0)
  coeff = rng.normal(size=(5, 257)).astype(np.float32)
  tp = np.concatenate([np.full((5, 2), 256.0), rng.normal(size=(5, 3))], -1).astype(np.float32)
  dyn, static = layouts.bfm_to_vico(coeff, tp)
  assert dyn.shape == (5, 73) and static.shape == (5, 187)
  np.testing.assert_array_equal(dyn[:, :3], coeff[:, 224:227])
  np.testing.assert_array_equal(dyn[:, 3:67], coeff[:, 80:144])
  np.testing.assert_array_equal(dyn[:, 70:], tp[:, 2:])
  np.testing.assert_array_equal(static[:, 80:107], coeff[:, 227:254])
  coeff2, tp2 = layouts.vico_to_bfm(dyn, static)
  np.testing.assert_array_equal(coeff2, coeff)
  np.testing.assert_array_equal(tp2, tp)
  dyn2, static2 = layouts.bfm_to_vico(coeff2, tp2)
  np.testing.assert_array_equal(dyn2, dyn)
  np.testing.assert_array_equal(static2, static)


@pytest.mark.parametrize("xp", [np, jnp])
def test_pirender_round_trip(xp):
  x = xp.asarray(np.random.default_rng(1).normal(size=(2, 4, 73)).astype(np.float32))
  p = layouts.vico_to_pirender(x)
  np.testing.assert_array_equal(np.asarray(p[..., :64]), np.asarray(x[..., 3:67]))
  np.testing.assert_array_equal(np.asarray(p[..., 64:67]), np.asarray(x[..., :3]))
  np.testing.assert_array_equal(np.asarray(layouts.pirender_to_vico(p)), np.asarray(x))


def test_wrong_width_raises():
  with pytest.raises(ValueError, match="expected 73"):
    layouts.vico_to_pirender(np.zeros((3, 70)))
  with pytest.raises(KeyError):
    layouts.FACEVERSE.join({"exp": np.zeros((1, 52))})
