"""Backend detection and compute-dtype defaults (runs on the CPU; the GPU/TPU branches are checked by name)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import vico_lstm
from listen_jax import devices, tasks
from listen_jax.train import optim, trainer


def test_describe_reports_the_cpu_backend_and_its_devices():
  info = devices.describe()
  assert info["backend"] == "cpu" and not devices.is_accelerator()
  assert info["device_kind"] == jax.devices()[0].device_kind
  assert info["device_count"] == jax.device_count() == 4  # tests/conftest.py simulates 4 CPU devices
  assert info["process_count"] == 1


@pytest.mark.parametrize("requested,backend,expected", [
    ("auto", "cpu", "float32"), ("auto", "gpu", "bfloat16"), ("auto", "tpu", "bfloat16"),
    ("bfloat16", "cpu", "bfloat16"), ("float32", "tpu", "float32")])
def test_resolve_compute_dtype(requested, backend, expected):
  assert devices.resolve_compute_dtype(requested, backend) == expected


def test_resolve_compute_dtype_rejects_unknown_names():
  with pytest.raises(ValueError, match="config.compute_dtype='float16'"):
    devices.resolve_compute_dtype("float16")


def _one_step(compute_dtype):
  c = vico_lstm.get_config("smoke")
  c.model.dropout = 0.0
  c.identity_augment = 0.0
  task = tasks.get_task(c)
  rng = np.random.default_rng(0)
  b, t = 4, 12
  batch = {"audio": rng.normal(size=(b, t, 45)).astype(np.float32),
           "speaker": rng.normal(size=(b, t, 73)).astype(np.float32),
           "listener": rng.normal(size=(b, t, 73)).astype(np.float32),
           "attitude": np.zeros((b,), np.int32), "lengths": np.full((b,), t, np.int32),
           "clip_index": np.arange(b, dtype=np.int32)}
  tx, _ = optim.make_optimizer(c.optimizer, global_batch_size=b, steps_per_epoch=10, total_steps=10)
  params = task.init(jax.random.key(0), batch)["params"]
  state = trainer.TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))
  step = jax.jit(trainer.make_train_step(task, tx, compute_dtype=compute_dtype))
  return step(state, batch, jax.random.key(1))


def test_auto_compute_dtype_falls_back_to_float32_on_cpu_and_bf16_keeps_float32_weights():
  ref_state, ref = _one_step("float32")
  auto_state, auto = _one_step("auto")
  assert float(auto["loss"]) == float(ref["loss"])  # 'auto' on the CPU is exactly the float32 step
  bf_state, bf = _one_step("bfloat16")
  assert np.isfinite(float(bf["loss"])) and float(bf["loss"]) != float(ref["loss"])
  np.testing.assert_allclose(float(bf["loss"]), float(ref["loss"]), rtol=5e-2)
  for leaf in jax.tree.leaves(bf_state.params) + jax.tree.leaves(auto_state.params):
    assert leaf.dtype == jnp.float32  # master weights stay float32
