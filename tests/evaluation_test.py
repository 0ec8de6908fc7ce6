"""listen_jax.evaluation: sampling helpers shared by the REACT and ViCo drivers."""
import types

import jax.numpy as jnp
import numpy as np
import pytest

from listen_jax import evaluation


def _fake_source(kind, group, dim=3):
  stats = {f"{group}/mean": np.full(dim, 10.0, np.float32), f"{group}/std": np.full(dim, 2.0, np.float32)}
  return types.SimpleNamespace(kind=kind, stats=stats, lengths=[4, 4])


@pytest.mark.parametrize("kind,group", [("react", "3dmm"), ("vico", "motion")])
def test_sample_reactions_denormalises_with_the_source_kinds_group(monkeypatch, kind, group):
  # ViCo data has no '3dmm' statistics (its group is 'motion'): ReactFace ':vico' evaluation raised before.
  source = _fake_source(kind, group)

  def fake_clips(src, **kwargs):
    assert src is source and kwargs["data_format"] == "reaction"
    yield {"lengths": np.array([4, 4])}, [0, 1]

  monkeypatch.setattr(evaluation.pipeline, "iterate_clips", fake_clips)
  task = types.SimpleNamespace(predict=lambda params, batch, key: {"motion": jnp.ones((2, 4, 3))})
  out = evaluation.sample_reactions(task, None, source, num_samples=2, seed=0)
  assert out["motion"].shape == (2, 2, 4, 3)
  np.testing.assert_allclose(out["motion"], 12.0)
  np.testing.assert_array_equal(out["positions"], [0, 1])


def test_motion_stats_group_rejects_unknown_kinds():
  with pytest.raises(ValueError, match="kind"):
    evaluation.motion_stats_group(types.SimpleNamespace(kind="other"))
