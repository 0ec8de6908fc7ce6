"""Pre-emption and checkpoint integrity.

End to end (subprocesses of `python -m launch.train`): SIGTERM mid-run saves a checkpoint at the stop step and
exits 0, SIGKILL at a random moment loses at most the steps since the last checkpoint, and in both cases the
resumed run ends bit-identical to an uninterrupted run (params, optimiser state, data-iterator state, every
logged loss). In process: interrupted saves are never restored, retention (`max_to_keep`, best-by-metric keeps
the latest step too), and checkpoint/config mismatches are clear errors.
"""
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import vico_lstm
from listen_jax.train import checkpointing, trainer

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_STEPS, _CKPT_EVERY = 40, 10
_STEP_DELAY_S = 0.1  # Throttle of the runs we interrupt: ~3 s between the first checkpoint and the end.

# `python -m launch.train` (runpy is what -m does), optionally throttled by a sleep before every step so a signal
# lands mid-run however fast or loaded the machine is. Nothing else of the training code is touched.
_LAUNCH = """
import os, runpy, time
delay = float(os.environ.get("RELIABILITY_STEP_DELAY", "0"))
if delay:
  from listen_jax.train import sharding
  _global_batch = sharding.global_batch
  def _throttled(*args, **kwargs):
    time.sleep(delay)
    return _global_batch(*args, **kwargs)
  sharding.global_batch = _throttled
runpy.run_module("launch.train", run_name="__main__", alter_sys=True)
"""


def _env(delay: float = 0.0) -> dict[str, str]:
  cache = os.environ.get("LISTEN_JAX_CACHE_DIR", os.path.expanduser("~/.cache/listen_jax"))
  env = dict(os.environ)
  env.update(JAX_COMPILATION_CACHE_DIR=os.path.join(cache, "jit"), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
             JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3",
             PYTHONPATH=_REPO + os.pathsep + env.get("PYTHONPATH", ""), RELIABILITY_STEP_DELAY=str(delay))
  return env


def _start(data_dir: str, workdir: str, delay: float = 0.0) -> subprocess.Popen:
  cmd = [sys.executable, "-c", _LAUNCH, "--config=configs/vico_lstm.py:smoke", f"--config.data_dir={data_dir}",
         f"--workdir={workdir}", f"--config.num_train_steps={_STEPS}",
         f"--config.checkpoint_every={_CKPT_EVERY}", "--config.log_every=1", "--config.max_to_keep=2"]
  return subprocess.Popen(cmd, cwd=_REPO, env=_env(delay), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def _finish(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
  _, err = proc.communicate(timeout=timeout)
  return proc.returncode, err


def _run(data_dir: str, workdir: str) -> str:
  rc, err = _finish(_start(data_dir, workdir))
  assert rc == 0, err[-3000:]
  return err


def _wait_for_checkpoint(proc: subprocess.Popen, workdir: str, step: int, timeout: float = 240) -> None:
  path = os.path.join(workdir, "checkpoints", str(step), checkpointing.COMMIT_MARKER)
  deadline = time.monotonic() + timeout
  while not os.path.exists(path):
    if proc.poll() is not None:
      raise AssertionError(f"training exited ({proc.returncode}) before checkpoint {step}:\n"
                           f"{proc.stderr.read()[-3000:]}")
    if time.monotonic() > deadline:
      proc.kill()
      raise AssertionError(f"no checkpoint {step} after {timeout} s")
    time.sleep(0.02)


def _state(workdir: str):
  """(full state tree as numpy, data-iterator state, step) of the latest checkpoint."""
  ckpt = checkpointing.Checkpointer(os.path.join(workdir, "checkpoints"), read_only=True, max_to_keep=None)
  try:
    step = ckpt.latest_step()
    return ckpt.restore_raw(step), ckpt.read_data_state(step), step
  finally:
    ckpt.close()


def _records(workdir: str) -> dict[int, dict[str, float]]:
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  steps = [r["step"] for r in records]
  assert steps == sorted(set(steps)), f"duplicate or unordered log steps: {steps}"
  return {r.pop("step"): {k: v for k, v in r.items() if k != "steps_per_s"} for r in records}


def assert_trees_bitwise_equal(a, b) -> None:
  flat_a, tree_a = jax.tree_util.tree_flatten_with_path(a)
  flat_b, tree_b = jax.tree_util.tree_flatten_with_path(b)
  assert tree_a == tree_b
  for (path, x), (_, y) in zip(flat_a, flat_b):
    x, y = np.asarray(x), np.asarray(y)
    assert x.dtype == y.dtype and x.shape == y.shape, jax.tree_util.keystr(path)
    assert x.tobytes() == y.tobytes(), f"{jax.tree_util.keystr(path)} differs (max |diff| " \
                                       f"{np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))})"


def _assert_same_run(workdir: str, reference: str) -> None:
  state, data_state, step = _state(workdir)
  ref_state, ref_data_state, ref_step = _state(reference)
  assert step == ref_step == _STEPS
  assert_trees_bitwise_equal(state, ref_state)  # params, optimiser state, step counter
  assert data_state == ref_data_state
  records, ref_records = _records(workdir), _records(reference)
  assert sorted(records) == list(range(1, _STEPS + 1))
  assert records == ref_records  # every logged loss/metric at every step, exactly


class _Background:
  """An uninterrupted run started in the background (overlapping the interrupted runs) and awaited on demand."""

  def __init__(self, data_dir: str, workdir: str):
    self.workdir = workdir
    self._proc = _start(data_dir, workdir)
    self._done = False

  def wait(self) -> str:
    if not self._done:
      rc, err = _finish(self._proc)
      assert rc == 0, err[-3000:]
      self._done = True
    return self.workdir


@pytest.fixture(scope="module")
def reference_run(vico_data_dir, tmp_path_factory):
  run = _Background(vico_data_dir, str(tmp_path_factory.mktemp("uninterrupted") / "w"))
  yield run
  run.wait()


def test_sigterm_saves_exits_zero_and_resume_equals_uninterrupted(vico_data_dir, reference_run, tmp_path):
  workdir = str(tmp_path / "w")
  proc = _start(vico_data_dir, workdir, delay=_STEP_DELAY_S)
  _wait_for_checkpoint(proc, workdir, _CKPT_EVERY)
  proc.send_signal(signal.SIGTERM)
  rc, err = _finish(proc)
  assert rc == 0, err[-3000:]
  stopped = re.search(r"stopped by SIGTERM at step (\d+)", err)
  assert stopped, err[-3000:]
  stop = int(stopped.group(1))
  assert _CKPT_EVERY <= stop < _STEPS
  assert os.path.exists(os.path.join(workdir, "checkpoints", str(stop), checkpointing.COMMIT_MARKER))
  assert _state(workdir)[2] == stop
  assert max(_records(workdir)) == stop

  err = _run(vico_data_dir, workdir)
  assert f"at step {stop}" in err  # "resumed from ... at step {stop}"
  _assert_same_run(workdir, reference_run.wait())


def test_sigkill_at_random_moment_resumes_from_last_complete_checkpoint(vico_data_dir, reference_run, tmp_path):
  workdir = str(tmp_path / "w")
  proc = _start(vico_data_dir, workdir, delay=_STEP_DELAY_S)
  _wait_for_checkpoint(proc, workdir, _CKPT_EVERY)
  moment = random.uniform(0.0, 2.0)  # Random on purpose: the property must hold whenever the kill lands.
  time.sleep(moment)
  proc.kill()
  rc, _ = _finish(proc)
  assert rc == -signal.SIGKILL, f"the run ended ({rc}) before the kill {moment:.2f} s after checkpoint 10"
  last_complete = _state(workdir)[2]
  assert _CKPT_EVERY <= last_complete < _STEPS

  err = _run(vico_data_dir, workdir)
  assert f"at step {last_complete}" in err, f"killed {moment:.2f} s after checkpoint 10:\n{err[-3000:]}"
  leftovers = [d for d in os.listdir(os.path.join(workdir, "checkpoints")) if not d.isdigit()]
  assert not leftovers, leftovers
  _assert_same_run(workdir, reference_run.wait())


# --- Checkpoint integrity, in process. ---

def _tiny_state(value: float):
  return {"params": {"w": jnp.full((3,), value, jnp.float32)}, "step": jnp.int32(int(value))}


def _save_steps(directory, steps, **kwargs):
  ckpt = checkpointing.Checkpointer(directory, **kwargs)
  for step, metrics in steps:
    ckpt.save(step, _tiny_state(step), data_state={"next": step}, meta={"model_name": "m"}, metrics=metrics,
              force=True)
    assert ckpt.latest_step() == step
  ckpt.close()


def test_interrupted_saves_are_never_restored(tmp_path):
  d = str(tmp_path / "checkpoints")
  _save_steps(d, [(10, None), (20, None)], max_to_keep=None)
  # A save killed while orbax was writing: its temporary directory (here holding a copy of real files).
  shutil.copytree(os.path.join(d, "20"), os.path.join(d, "40.orbax-checkpoint-tmp"))
  os.remove(os.path.join(d, "40.orbax-checkpoint-tmp", checkpointing.COMMIT_MARKER))
  # A step directory without its commit marker (partial copy / non-atomic filesystem).
  os.makedirs(os.path.join(d, "30", "state"))
  with open(os.path.join(d, "30", "state", "garbage"), "w", encoding="utf-8") as f:
    f.write("half a checkpoint")

  # A reader (evaluation while training runs) skips both and touches nothing.
  reader = checkpointing.Checkpointer(d, read_only=True, max_to_keep=None)
  assert reader.latest_step() == 20 and reader.all_steps() == [10, 20]
  reader.close()
  assert sorted(os.listdir(d)) == ["10", "20", "30", "40.orbax-checkpoint-tmp"]
  params, _, step = checkpointing.restore_params(str(tmp_path))
  assert step == 20 and np.all(params["w"] == 20)

  # A writer (resumed trainer) sets the uncommitted step aside and restores the previous complete one.
  ckpt = checkpointing.Checkpointer(d, max_to_keep=None)
  assert ckpt.latest_step() == 20
  assert [os.path.basename(p) for p in ckpt.incomplete] == ["30"]
  state, data_state = ckpt.restore(jax.eval_shape(lambda: _tiny_state(0)))
  assert float(state["params"]["w"][0]) == 20 and data_state == {"next": 20}
  ckpt.save(40, _tiny_state(40), data_state={"next": 40}, meta={}, force=True)  # Same step as the leftover.
  ckpt.close()
  names = sorted(os.listdir(d))
  assert names[:3] == ["10", "20", "30.incomplete-" + names[2].split("-")[-1]] and names[3:] == ["40"]
  assert os.path.exists(os.path.join(d, "40", checkpointing.COMMIT_MARKER))
  with pytest.raises(FileNotFoundError, match="step 30"):
    checkpointing.restore_params(str(tmp_path), step=30)


def test_max_to_keep(tmp_path):
  d = str(tmp_path / "checkpoints")
  _save_steps(d, [(s, {"loss": 1.0}) for s in (10, 20, 30, 40, 50)], max_to_keep=2)
  assert sorted(os.listdir(d)) == ["40", "50"]


def test_best_metric_retention_keeps_the_latest_step(tmp_path):
  d = str(tmp_path / "checkpoints")
  # Losses get worse after step 20 (and NaN at 40): plain orbax best_fn retention would delete the latest step.
  losses = {10: 1.0, 20: 0.5, 30: 2.0, 40: float("nan"), 50: 3.0}
  _save_steps(d, [(s, {"loss": v}) for s, v in losses.items()], max_to_keep=2, best_metric="loss")
  assert sorted(int(n) for n in os.listdir(d)) == [10, 20, 50]  # best two + latest
  with pytest.raises(ValueError, match="keep_best_metric='fd'.*\\['loss'\\]"):
    _save_steps(str(tmp_path / "other"), [(10, {"loss": 1.0})], best_metric="fd")


def test_trainer_best_metric_run_resumes_from_latest(vico_data_dir, tmp_path, caplog):
  # learning_rate grows during the warm-up, so the best ('min') checkpoint is the first one and the latest the worst.
  def config(steps):
    c = vico_lstm.get_config("smoke")
    c.data_dir = vico_data_dir
    c.num_train_steps, c.checkpoint_every, c.log_every, c.max_to_keep = steps, 5, 5, 1
    c.keep_best_metric = "learning_rate"
    c.optimizer.warmup_steps = 100
    return c

  w = str(tmp_path / "w")
  trainer.train_and_evaluate(config(15), w)
  assert sorted(os.listdir(os.path.join(w, "checkpoints"))) == ["15", "5"]
  with caplog.at_level(logging.INFO):
    trainer.train_and_evaluate(config(20), w)
  assert any("at step 15" in r.getMessage() for r in caplog.records if "resumed" in r.getMessage())
  assert sorted(_records(w)) == [5, 10, 15, 20]
  assert sorted(os.listdir(os.path.join(w, "checkpoints"))) == ["20", "5"]


def test_checkpoint_of_another_model_is_a_clear_error(tmp_path):
  d = str(tmp_path / "checkpoints")
  params = {"dense": {"kernel": np.zeros((4, 8), np.float32)}}
  ckpt = checkpointing.Checkpointer(d)
  ckpt.save(1, {"params": params}, meta=checkpointing.describe_params("reactface", params), force=True)
  expected = checkpointing.describe_params("vico_lstm", params)
  with pytest.raises(checkpointing.CheckpointMismatchError, match="holds model 'reactface'.*asks for 'vico_lstm'"):
    ckpt.restore({"params": params}, expect_meta=expected)
  wider = checkpointing.describe_params("reactface", {"dense": {"kernel": np.zeros((4, 16), np.float32)}})
  with pytest.raises(checkpointing.CheckpointMismatchError,
                     match=re.escape("['dense']['kernel']: checkpoint [4, 8] vs config [4, 16]")):
    ckpt.restore({"params": params}, expect_meta=wider)
  ckpt.close()


def test_resume_drops_log_records_after_the_checkpoint_and_a_torn_last_line(tmp_path):
  """A SIGKILL can land after some steps were logged (past the last checkpoint) or in the middle of a line."""
  path = str(tmp_path / "metrics.jsonl")
  with open(path, "w", encoding="utf-8") as f:
    f.writelines(json.dumps({"step": s, "loss": 1.0 / s}) + "\n" for s in range(1, 6))
    f.write('{"step": 6, "lo')
  trainer._truncate_jsonl(path, 3)  # pylint: disable=protected-access
  with open(path, encoding="utf-8") as f:
    assert [json.loads(line)["step"] for line in f] == [1, 2, 3]
  assert not os.path.exists(path + ".tmp")
