"""Multi-process data parallelism on one machine: 2 JAX processes over loopback (gloo CPU collectives).

The processes are real `python -m launch.train --multihost` runs (each reads its own shard of the data, process 0
writes the logs, both save orbax checkpoints collectively); they must compute exactly what one process computes
at the same global batch, including after a resume.
"""
import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from etils import epath

from configs import vico_lstm
from listen_jax.train import sharding, trainer

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TIMEOUT_S = 240


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env():
  env = dict(os.environ, JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3",
             PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  env.setdefault("LISTEN_JAX_CACHE_DIR", os.path.expanduser("~/.cache/listen_jax"))
  env.pop("XLA_FLAGS", None)
  return env


def _run_processes(argv_of, num_processes, log_dir, name):
  """Starts `num_processes` processes (argv from `argv_of(i, port)`), waits, fails with their log tails."""
  port = _free_port()
  procs, logs = [], []
  for i in range(num_processes):
    log = open(os.path.join(log_dir, f"{name}.process{i}.log"), "w", encoding="utf-8")
    logs.append(log)
    procs.append(subprocess.Popen(argv_of(i, port), cwd=_ROOT, env=_env(), stdout=log, stderr=subprocess.STDOUT))
  try:
    codes = [p.wait(timeout=_TIMEOUT_S) for p in procs]
  except subprocess.TimeoutExpired:
    codes = None
  finally:
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait()
    for log in logs:
      log.close()
  if codes != [0] * num_processes:
    tails = []
    for i in range(num_processes):
      with open(os.path.join(log_dir, f"{name}.process{i}.log"), encoding="utf-8") as f:
        tails.append(f"--- process {i} ---\n" + "".join(f.readlines()[-25:]))
    pytest.fail(f"{name}: exit codes {codes} (None: timed out after {_TIMEOUT_S}s)\n" + "\n".join(tails))


def _train_2proc(data_dir, workdir, log_dir, name, num_train_steps):
  def argv_of(i, port):
    return [sys.executable, "-m", "launch.train", "--multihost", f"--coordinator_address=127.0.0.1:{port}",
            "--num_processes=2", f"--process_id={i}", f"--workdir={workdir}",
            "--config=configs/vico_lstm.py:smoke", f"--config.data_dir={data_dir}",
            f"--config.num_train_steps={num_train_steps}", "--config.checkpoint_every=6", "--config.log_every=3",
            "--config.optimizer.total_steps=12"]  # One cosine over the whole 12 steps, also in the 6-step launch.
  _run_processes(argv_of, 2, log_dir, name)


def _params_numpy(workdir, step):
  """Final params as NumPy, whatever topology saved them (no target shardings needed)."""
  path = epath.Path(workdir) / "checkpoints" / str(step) / "state"
  with ocp.PyTreeCheckpointer() as ckptr:
    meta = ckptr.metadata(path)
    tree = meta.item_metadata.tree if hasattr(meta, "item_metadata") else meta
    args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
    state = ckptr.restore(path, args=ocp.args.PyTreeRestore(restore_args=args))
  return state["params"]


def _records(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]


def test_two_processes_with_resume_equal_one_process(vico_data_dir, tmp_path):
  # Two processes x 1 CPU device: 6 steps (checkpoint), then a second launch resumes to step 12.
  multi = str(tmp_path / "multi")
  _train_2proc(vico_data_dir, multi, str(tmp_path), "first", num_train_steps=6)
  assert sorted(os.listdir(os.path.join(multi, "checkpoints"))) == ["6"]
  _train_2proc(vico_data_dir, multi, str(tmp_path), "resumed", num_train_steps=12)

  # One process (this one, 4 devices) at the same global batch.
  c = vico_lstm.get_config("smoke")
  c.data_dir = vico_data_dir
  c.num_train_steps, c.checkpoint_every, c.log_every = 12, 6, 3
  c.optimizer.total_steps = 12
  single = str(tmp_path / "single")
  trainer.train_and_evaluate(c, single)

  # Process 0 alone wrote the logs: one record per logged step, no duplicates from process 1.
  multi_log, single_log = _records(multi), _records(single)
  assert [r["step"] for r in multi_log] == [3, 6, 9, 12] == [r["step"] for r in single_log]
  for key in ("loss", "grad_norm", "exp", "angle"):
    np.testing.assert_allclose([r[key] for r in multi_log], [r[key] for r in single_log], rtol=1e-6, err_msg=key)
  assert os.path.exists(os.path.join(multi, "config.json"))
  assert os.listdir(os.path.join(multi, "tensorboard"))
  assert sorted(os.listdir(os.path.join(multi, "checkpoints"))) == ["12", "6"]
  p_multi, p_single = _params_numpy(multi, 12), _params_numpy(single, 12)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), p_multi, p_single)
  assert jax.tree.structure(p_multi) == jax.tree.structure(p_single)


_WORKER = textwrap.dedent("""
  import json, sys
  import jax
  import numpy as np
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.config.update("jax_num_cpu_devices", 2)
  jax.distributed.initialize(f"127.0.0.1:{sys.argv[2]}", num_processes=2, process_id=int(sys.argv[1]))
  from listen_jax.train import sharding
  n, p, b = jax.process_count(), jax.process_index(), 8
  mesh = sharding.make_mesh()
  stream = np.arange(b * 3, dtype=np.float32).reshape(b, 3)  # Row r = stream position r.
  local = {"x": stream[p::n]}  # The pipeline's process shard: positions p, p + n, ...
  batch = sharding.global_batch(local, mesh)
  order = sharding.interleaved_row_order(mesh, b)
  fixed = jax.jit(lambda x: sharding.reorder_rows(x, order, mesh))(batch)
  out = {"addressable": batch["x"].is_fully_addressable,
         "raw": sharding.to_host(batch)["x"].tolist(),
         "fixed": sharding.to_host(fixed)["x"].tolist(),
         "sharded": str(fixed["x"].sharding.spec),
         "mean": float(sharding.to_host(jax.jit(lambda x: x.mean())(fixed["x"])))}
  print("RESULT " + json.dumps(out), flush=True)
""")


def test_process_shards_are_reordered_to_the_single_process_batch(tmp_path):
  script = tmp_path / "worker.py"
  script.write_text(_WORKER)
  _run_processes(lambda i, port: [sys.executable, str(script), str(i), str(port)], 2, str(tmp_path), "rows")
  stream = np.arange(24, dtype=np.float32).reshape(8, 3)
  for i in range(2):
    with open(tmp_path / f"rows.process{i}.log", encoding="utf-8") as f:
      out = json.loads([l for l in f if l.startswith("RESULT ")][-1][len("RESULT "):])
    assert not out["addressable"]
    # Without the reorder the global batch holds process 0's rows (0, 2, 4, 6) and then process 1's.
    np.testing.assert_array_equal(out["raw"], np.concatenate([stream[0::2], stream[1::2]]))
    np.testing.assert_array_equal(out["fixed"], stream)
    assert out["sharded"] == str(sharding.data_sharding(sharding.make_mesh()).spec)
    assert out["mean"] == pytest.approx(stream.mean())


def test_reorder_rows_is_a_sharded_gather_and_identity_is_skipped():
  mesh = sharding.make_mesh()
  assert sharding.interleaved_row_order(mesh, 8) is None  # One process: already in stream order.
  assert list(sharding.process_rows(mesh, 8)) == [0]
  x = np.arange(16, dtype=np.float32).reshape(8, 2)
  order = np.array([0, 4, 1, 5, 2, 6, 3, 7])
  out = jax.jit(lambda b: sharding.reorder_rows(b, order, mesh))(sharding.global_batch({"x": x}, mesh))
  np.testing.assert_array_equal(np.asarray(out["x"]), x[order])
  assert out["x"].sharding.spec == sharding.data_sharding(mesh).spec
