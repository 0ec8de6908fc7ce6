"""Tests of the ReactFace building blocks."""
import numpy as np

from listen_jax.models.reactface import layers


def test_interpolation_weights_match_reference():
  np.testing.assert_allclose(layers.interpolation_weights(8), [0, 0, .125, .375, .625, .875, 1, 1])
