"""Tests for the shared trainer: workdir layout, resume, sharding equivalence, accumulation, numerics."""
import json
import os

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import vico_lstm
from listen_jax import tasks, versions
from listen_jax.train import checkpointing, optim, sharding, trainer


def _config(data_dir, **overrides):
  c = vico_lstm.get_config("smoke")
  c.data_dir = data_dir
  c.update_from_flattened_dict(overrides)
  return c


def _params(workdir):
  params, _, step = checkpointing.restore_params(workdir)
  return params, step


def _losses(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [(r["step"], r["loss"]) for r in map(json.loads, f)]


def test_train_writes_workdir_layout_and_learns(vico_data_dir, tmp_path):
  w = str(tmp_path / "w")
  last = trainer.train_and_evaluate(_config(vico_data_dir), w)
  assert os.path.exists(os.path.join(w, "config.json"))
  with open(os.path.join(w, "versions.json"), encoding="utf-8") as f:
    recorded = json.load(f)
  assert recorded == versions.current() and recorded["packages"]["jax"] == jax.__version__
  assert os.listdir(os.path.join(w, "tensorboard"))
  records = [json.loads(l) for l in open(os.path.join(w, "metrics.jsonl"), encoding="utf-8")]
  assert [r["step"] for r in records] == [10, 20, 30]
  assert all(np.isfinite(r["loss"]) for r in records)
  assert records[-1]["loss"] < records[0]["loss"]
  assert last["loss"] == pytest.approx(records[-1]["loss"])
  _, step = _params(w)
  assert step == 30


def test_resume_equals_uninterrupted_run(vico_data_dir, tmp_path):
  full, part = str(tmp_path / "full"), str(tmp_path / "part")
  trainer.train_and_evaluate(_config(vico_data_dir), full)
  # Stops at the step-15 checkpoint; the cosine keeps the 30-step length of the full run (by default it spans
  # the run length, which `num_train_steps=15` would halve).
  trainer.train_and_evaluate(_config(vico_data_dir, num_train_steps=15, **{"optimizer.total_steps": 30}), part)
  trainer.train_and_evaluate(_config(vico_data_dir), part)  # Resumes (params, optimiser, data iterator).
  p_full, _ = _params(full)
  p_part, step = _params(part)
  assert step == 30
  chex.assert_trees_all_close(p_full, p_part, atol=1e-6)
  # Logged losses agree at every step whose logging window does not straddle the interruption (step 15).
  full_log, part_log = dict(_losses(full)), dict(_losses(part))
  common = [s for s in full_log if s in part_log and not 15 < s < 25]
  assert common == [10, 30]
  np.testing.assert_allclose([full_log[s] for s in common], [part_log[s] for s in common], rtol=1e-6)


def test_one_device_equals_four_devices(vico_data_dir, tmp_path):
  assert jax.device_count() == 4
  one, four = str(tmp_path / "one"), str(tmp_path / "four")
  trainer.train_and_evaluate(_config(vico_data_dir, num_devices=1, num_train_steps=10), one)
  trainer.train_and_evaluate(_config(vico_data_dir, num_devices=4, num_train_steps=10), four)
  np.testing.assert_allclose([l for _, l in _losses(one)], [l for _, l in _losses(four)], rtol=1e-5)
  chex.assert_trees_all_close(_params(one)[0], _params(four)[0], atol=1e-5)


def test_checkpoint_mismatch_is_a_clear_error(vico_data_dir, tmp_path):
  w = str(tmp_path / "w")
  trainer.train_and_evaluate(_config(vico_data_dir, num_train_steps=10), w)
  with pytest.raises(checkpointing.CheckpointMismatchError, match="lstm_l0"):
    trainer.train_and_evaluate(_config(vico_data_dir, **{"model.hidden": 24}), w)


def test_non_finite_loss_stops_with_step_and_clip_ids(vico_data_dir, tmp_path):
  c = _config(vico_data_dir, **{"optimizer.learning_rate": 1e30, "optimizer.grad_clip": 0.0,
                                "optimizer.warmup_steps": 0, "optimizer.schedule": "constant"})
  with pytest.raises(trainer.NonFiniteError, match=r"at step \d+.*clip ids \["):
    trainer.train_and_evaluate(c, str(tmp_path / "w"))


# --- Step-level equivalences on a fixed synthetic batch (no data pipeline). ---

def _step_setup(impl="jit", accumulate=1, num_devices=4):
  c = vico_lstm.get_config("smoke")
  c.model.dropout = 0.0
  c.identity_augment = 0.0  # Random per-window offsets, like dropout, differ per device / micro-batch.
  task = tasks.get_task(c)
  rng = np.random.default_rng(0)
  b, t = 8, 12
  batch = {"audio": rng.normal(size=(b, t, 45)).astype(np.float32),
           "speaker": rng.normal(size=(b, t, 73)).astype(np.float32),
           "listener": rng.normal(size=(b, t, 73)).astype(np.float32),
           "attitude": rng.integers(0, 3, size=(b,)).astype(np.int32),
           "lengths": np.full((b,), t, np.int32), "clip_index": np.arange(b, dtype=np.int32)}
  mesh = sharding.make_mesh(devices=jax.devices()[:num_devices])
  tx, _ = optim.make_optimizer(c.optimizer, global_batch_size=b, steps_per_epoch=10, total_steps=c.num_train_steps)
  params = task.init(jax.random.key(0), batch)["params"]
  state = trainer.TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))
  state = jax.device_put(state, sharding.replicated(mesh))
  step = jax.jit(trainer.make_train_step(task, tx, accumulate_steps=accumulate, impl=impl, mesh=mesh))
  return state, sharding.global_batch(batch, mesh), step


@pytest.mark.parametrize("impl,accumulate,num_devices", [("shard_map", 1, 4), ("jit", 4, 4), ("jit", 1, 1)])
def test_step_variants_equal_plain_jit(impl, accumulate, num_devices):
  state, batch, step = _step_setup()
  ref_state, ref_metrics = step(state, batch, jax.random.key(1))
  state2, batch2, step2 = _step_setup(impl, accumulate, num_devices)
  new_state, metrics = step2(state2, batch2, jax.random.key(1))
  np.testing.assert_allclose(float(metrics["loss"]), float(ref_metrics["loss"]), rtol=1e-5)
  chex.assert_trees_all_close(new_state.params, ref_state.params, atol=1e-5)


def test_nan_batch_is_flagged_and_not_applied():
  state, batch, step = _step_setup()
  before = jax.device_get(state.params)
  bad = dict(batch)
  bad["audio"] = batch["audio"].at[0, 0, 0].set(jnp.nan)
  new_state, metrics = step(state, bad, jax.random.key(1))
  assert not bool(metrics["finite"])
  chex.assert_trees_all_equal(jax.device_get(new_state.params), before)


def test_cosine_length_defaults_to_the_run_length():
  c = vico_lstm.get_config("smoke").optimizer
  c.warmup_steps = 0
  sched = optim.learning_rate_schedule(c, global_batch_size=8, steps_per_epoch=10, total_steps=40)
  np.testing.assert_allclose([sched(0), sched(20), sched(40)], [c.learning_rate, c.learning_rate / 2, 0.0],
                             rtol=1e-6, atol=1e-9)
  c.total_steps = 80  # An explicit length wins over the run length.
  sched = optim.learning_rate_schedule(c, global_batch_size=8, steps_per_epoch=10, total_steps=40)
  np.testing.assert_allclose(sched(40), c.learning_rate / 2, rtol=1e-6)
  c.total_steps = 0
  with pytest.raises(ValueError, match="total_steps"):
    optim.learning_rate_schedule(c, global_batch_size=8, steps_per_epoch=10)
