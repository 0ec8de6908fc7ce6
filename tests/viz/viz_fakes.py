"""Fake ViCo coefficients shared by the viz tests (imported by them; not a test module)."""
import numpy as np


def _coeffs(T, seed=0, yaw=0.0):
  rng = np.random.default_rng(seed)
  x = np.zeros((T, 73), np.float32)
  x[:, 1] = yaw
  x[:, 3:67] = 0.3 * rng.normal(size=(T, 64))
  x[:, 67:70] = (0.01, 0.02, 0.3)
  x[:, 70:73] = (0.94, 127.0, 129.0)
  return x
