"""Tests of listen_jax.data.pipeline.normalization."""
import numpy as np
import pytest

from listen_jax.data import pipeline

from pipeline_fakes import VICO_STATS, vico_examples


def test_zscore_with_zero_variance_dimension():
  mean = np.linspace(-1, 1, 73).astype(np.float32)
  std = np.full([73], 2.0, np.float32)
  std[5] = 0.0  # a constant dimension: only centred, never divided by zero
  stats = dict(VICO_STATS, **{"motion/mean": mean, "motion/std": std})
  source = pipeline.ClipSource(vico_examples([4], reverse=False), stats)
  batch = next(pipeline.make_train_iterator(source, data_format="vico", window=4, stride=1, global_batch_size=1,
                                            seed=0))
  raw = source[0]["speaker"]
  expected = (raw - mean) / np.where(std == 0, 1, std)
  np.testing.assert_allclose(batch["speaker"][0], expected, rtol=1e-6)
  assert np.all(np.isfinite(batch["speaker"]))
  np.testing.assert_allclose(pipeline.denormalize(pipeline.normalize(raw, stats, "motion"), stats, "motion"), raw,
                             rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match="no group 'emotion'"):
    pipeline.normalize(raw, stats, "emotion")
  with pytest.raises(ValueError, match="dimension 73"):
    pipeline.normalize(raw[:, :10], stats, "motion")
