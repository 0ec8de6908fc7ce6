"""The shared trainer: `train_and_evaluate(config, workdir)` for every model (chosen by `config.model_name`).

One jitted, donated train step `(state, batch, step_rng) -> (state, metrics)` runs over a `jax.make_mesh` mesh
with the batch sharded on the data axis (the same code on 1 device, N devices or N hosts). State is created
already placed (`jax.eval_shape` + `jax.jit(init, out_shardings=...)`), checkpoints hold the state and the data
iterator state, rerunning with the same workdir resumes, SIGTERM saves and exits cleanly, and a non-finite loss
or gradient stops training with the step and the batch's clip ids (or skips the step when
`config.skip_nonfinite`).
"""
from __future__ import annotations

import functools
import json
import logging
import os
import signal
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from listen_jax import devices, tasks, versions
from listen_jax.data import pipeline
from listen_jax.train import checkpointing, optim, sharding


class NonFiniteError(FloatingPointError):
  """Raised when a training step produced a non-finite loss or gradient."""


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  opt_state: Any


def _tree_select(pred, a, b):
  return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def make_train_step(task: tasks.Task, tx: optax.GradientTransformation, *, accumulate_steps: int = 1,
                    compute_dtype: str = "float32", impl: str = "jit", mesh=None):
  """Pure `train_step(state, batch, rng) -> (state, metrics)`.

  With `accumulate_steps = k > 1` the batch is split into k micro-batches whose gradients are averaged by a
  `lax.scan` (one optimiser update per call, equal to the full-batch update when every micro-batch has equal
  weight). `compute_dtype='bfloat16'` casts the parameters for the forward/backward pass while the master
  weights and optimiser state stay float32 (`'auto'`: bfloat16 on GPU/TPU, float32 on the CPU). The update is
  applied only when loss and gradients are finite; `metrics['finite']` tells the loop.

  `impl='shard_map'` computes loss and gradients per device on its shard of the batch under `jax.shard_map` and
  averages them with `lax.pmean` over the data axis (the modern form of a pmap loop); `impl='jit'` lets XLA
  partition the global computation. They agree when every device's shard carries equal weight and the model is
  deterministic (dropout draws differ: the per-device variant folds the device index into the rng).
  """
  if impl not in ("jit", "shard_map"):
    raise ValueError(f"config.step_impl={impl!r}: expected 'jit' or 'shard_map'")
  cdt = jnp.dtype(devices.resolve_compute_dtype(compute_dtype))

  def loss_fn(params, batch, rng):
    p = jax.tree.map(lambda x: x.astype(cdt) if jnp.issubdtype(x.dtype, jnp.floating) else x, params)
    loss, aux = task.loss(p, batch, rng, True)
    return loss.astype(jnp.float32), aux

  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

  def grads_and_metrics(params, batch, rng):
    if accumulate_steps == 1:
      (loss, aux), grads = grad_fn(params, batch, rng)
    else:
      k = accumulate_steps

      def split(x):  # [B, ...] -> [k, B/k, ...]; micro-batch i takes rows i::k (keeps data sharding intact).
        return jnp.swapaxes(x.reshape((x.shape[0] // k, k) + x.shape[1:]), 0, 1)

      micro = jax.tree.map(split, batch)

      def body(carry, xs):
        i, mb = xs
        (l, a), g = grad_fn(params, mb, jax.random.fold_in(rng, i))
        acc_g, acc_l, acc_a = carry
        return (jax.tree.map(jnp.add, acc_g, g), acc_l + l, jax.tree.map(jnp.add, acc_a, a)), None

      zeros_g = jax.tree.map(jnp.zeros_like, params)
      aux_shape = jax.eval_shape(lambda: grad_fn(params, jax.tree.map(lambda x: x[0], micro), rng)[0][1])
      zeros_a = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), aux_shape)
      (grads, loss, aux), _ = jax.lax.scan(body, (zeros_g, jnp.zeros((), jnp.float32), zeros_a),
                                           (jnp.arange(k), micro))
      grads = jax.tree.map(lambda g: g / k, grads)
      loss = loss / k
      aux = jax.tree.map(lambda a: a / k, aux)
    return loss, aux, grads

  if impl == "shard_map":
    from jax.sharding import PartitionSpec as P  # pylint: disable=g-import-not-at-top

    def per_device(params, batch, rng):
      rng = jax.random.fold_in(rng, jax.lax.axis_index(sharding.DATA_AXIS))
      loss, aux, grads = grads_and_metrics(params, batch, rng)
      return jax.lax.pmean((loss, aux, grads), sharding.DATA_AXIS)

    compute = jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(sharding.DATA_AXIS), P()),
                            out_specs=P(), check_vma=False)
  else:
    compute = grads_and_metrics

  def train_step(state: TrainState, batch, rng):
    rng = jax.random.fold_in(rng, state.step)
    loss, aux, grads = compute(state.params, batch, rng)
    grads = jax.tree.map(lambda g, p: g.astype(p.dtype), grads, state.params)
    grad_norm = optax.global_norm(grads)
    finite = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
    updates, new_opt_state = tx.update(grads, state.opt_state, state.params)
    new_params = optax.apply_updates(state.params, updates)
    new_state = TrainState(step=state.step + 1,
                           params=_tree_select(finite, new_params, state.params),
                           opt_state=_tree_select(finite, new_opt_state, state.opt_state))
    metrics = {"loss": loss, "grad_norm": grad_norm, "finite": finite,
               **{k: v.astype(jnp.float32) for k, v in aux.items()}}
    return new_state, metrics

  return train_step


class _Stop:
  """Turns SIGTERM into a flag checked between steps."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    try:
      self._previous = signal.signal(signal.SIGTERM, self._handler)
    except ValueError:  # Not in the main thread.
      self._previous = None
    return self

  def _handler(self, signum, frame):
    del signum, frame
    logging.warning("SIGTERM received: saving a checkpoint and stopping after this step")
    self.requested = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


class MetricWriter:
  """JSON lines + TensorBoard scalars, written by process 0 only."""

  def __init__(self, workdir: str):
    self.enabled = jax.process_index() == 0
    self._jsonl = None
    self._tb = None
    if self.enabled:
      self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a", encoding="utf-8")
      try:
        from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
        self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
      except ImportError:  # pragma: no cover - tensorboardX is a dependency.
        os.makedirs(os.path.join(workdir, "tensorboard"), exist_ok=True)

  def write(self, step: int, scalars: dict[str, float]) -> None:
    if not self.enabled:
      return
    record = {"step": int(step), **{k: float(v) for k, v in scalars.items()}}
    self._jsonl.write(json.dumps(record) + "\n")
    self._jsonl.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        self._tb.add_scalar(k, float(v), int(step))

  def close(self) -> None:
    if self._jsonl:
      self._jsonl.close()
    if self._tb is not None:
      self._tb.close()


def _truncate_jsonl(path: str, max_step: int) -> None:
  """Drops logged records after `max_step` (written before a kill, after the last checkpoint)."""
  if not os.path.exists(path) or jax.process_index() != 0:
    return
  with open(path, encoding="utf-8") as f:
    lines = [l for l in f if l.strip()]
  kept = [l for l in lines if l.endswith("\n") and json.loads(l)["step"] <= max_step]  # drops a torn last line
  if len(kept) != len(lines):
    with open(path + ".tmp", "w", encoding="utf-8") as f:  # atomic: a kill here leaves the old log intact
      f.writelines(kept)
    os.replace(path + ".tmp", path)


def save_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Writes `W/config.json` and `W/versions.json` (package versions, python, backend; process 0 only)."""
  if jax.process_index() == 0:
    with open(os.path.join(workdir, "config.json"), "w", encoding="utf-8") as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True))
    versions.save(workdir)


class Setup:
  """Everything `train_and_evaluate` builds before the loop (also used by evaluation and benchmarks)."""

  def __init__(self, config: ml_collections.ConfigDict, *, process_index: int | None = None,
               process_count: int | None = None, split: str = "train"):
    self.config = config
    num_devices = int(config.get("num_devices", 0) or 0)
    self.mesh = sharding.make_mesh(config.get("model_parallel", 1),
                                   devices=jax.devices()[:num_devices] if num_devices else None)
    sharding.check_batch_size(config.batch_size, self.mesh)
    self.task = tasks.get_task(config)
    self.process_index = jax.process_index() if process_index is None else process_index
    self.process_count = jax.process_count() if process_count is None else process_count
    self.source = pipeline.open_split(config.data_dir, config.dataset, split)
    self.iterator_kwargs = dict(
        data_format=self.task.batch_format, window=config.window, stride=config.stride,
        global_batch_size=config.batch_size, seed=config.seed, process_index=self.process_index,
        process_count=self.process_count, num_neighbours=config.get("num_neighbours", 8),
        min_window=config.get("min_window") or None, worker_count=config.get("worker_count", 0))
    self.num_windows = pipeline.count_windows(self.source, window=config.window, stride=config.stride,
                                              min_window=config.get("min_window") or None)
    self.steps_per_epoch = max(1, self.num_windows // config.batch_size)
    if config.get("num_train_steps", 0):
      self.num_steps = int(config.num_train_steps)
    else:
      self.num_steps = int(config.num_epochs) * self.steps_per_epoch
    self.tx, self.schedule = optim.make_optimizer(config.optimizer, global_batch_size=config.batch_size,
                                                  steps_per_epoch=self.steps_per_epoch, total_steps=self.num_steps)
    accumulate = int(config.get("accumulate_steps", 1) or 1)
    if config.batch_size % accumulate:
      raise ValueError(f"batch_size={config.batch_size} is not divisible by accumulate_steps={accumulate}")
    self.train_step = make_train_step(self.task, self.tx, accumulate_steps=accumulate,
                                      compute_dtype=config.get("compute_dtype", "float32"),
                                      impl=config.get("step_impl", "jit"), mesh=self.mesh)
    self.rng = jax.random.key(config.seed)
    # The pipeline interleaves processes over each global batch; restore the single-process row order on device.
    self.row_order = None
    if self.process_count > 1:
      if len(sharding.process_rows(self.mesh, config.batch_size)) != self.process_count:
        raise ValueError(f"the mesh ({num_devices or 'all'} devices) must span all {self.process_count} processes")
      self.row_order = sharding.interleaved_row_order(self.mesh, config.batch_size)

  def make_iterator(self):
    return pipeline.make_train_iterator(self.source, **self.iterator_kwargs)

  def example_batch(self) -> dict[str, np.ndarray]:
    return next(iter(self.make_iterator()))

  def init_state(self, example_batch) -> TrainState:
    """Creates the state already placed on the mesh (replicated params; no host round trip)."""
    init_rng = jax.random.fold_in(self.rng, 0x1A17)
    local = {k: np.asarray(v) for k, v in example_batch.items()}

    def init(rng):
      variables = self.task.init(rng, local)
      params = variables["params"]
      return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=self.tx.init(params))

    abstract = jax.eval_shape(init, init_rng)
    shardings = jax.tree.map(lambda _: sharding.replicated(self.mesh), abstract)
    state = jax.jit(init, out_shardings=shardings)(init_rng)
    return state

  def jit_train_step(self, state: TrainState):
    state_sharding = jax.tree.map(lambda x: x.sharding, state)
    order, mesh, train_step = self.row_order, self.mesh, self.train_step

    def step(state, batch, rng):
      return train_step(state, sharding.reorder_rows(batch, order, mesh), rng)

    return jax.jit(step, in_shardings=(state_sharding, sharding.data_sharding(self.mesh),
                                                  sharding.replicated(self.mesh)),
                   out_shardings=(state_sharding, sharding.replicated(self.mesh)), donate_argnums=(0,))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, float]:
  """Trains `config` into `workdir` (resuming if it holds a checkpoint) and returns the last logged metrics."""
  os.makedirs(workdir, exist_ok=True)
  if jax.process_index() == 0 and os.path.exists(os.path.join(workdir, versions.FILENAME)):
    versions.warn_if_changed(workdir)  # resuming under other package versions than the run so far
  save_config(config, workdir)
  setup = Setup(config)
  logging.info("devices: %d (%d processes), mesh %s, %d training windows, %d steps/epoch, %d steps",
               jax.device_count(), jax.process_count(), dict(setup.mesh.shape), setup.num_windows,
               setup.steps_per_epoch, setup.num_steps)
  state = setup.init_state(setup.example_batch())
  meta = checkpointing.describe_params(config.model_name, state.params)
  ckpt = checkpointing.Checkpointer(os.path.join(workdir, "checkpoints"),
                                    max_to_keep=config.get("max_to_keep", 3),
                                    best_metric=config.get("keep_best_metric") or None)
  iterator = setup.make_iterator()
  start = 0
  if ckpt.latest_step() is not None:
    state, data_state = ckpt.restore(state, expect_meta=meta)
    if data_state:
      iterator.set_state(data_state)
    start = int(jax.device_get(state.step))
    logging.info("resumed from %s at step %d", ckpt.directory, start)
  _truncate_jsonl(os.path.join(workdir, "metrics.jsonl"), start)
  step_fn = setup.jit_train_step(state)
  writer = MetricWriter(workdir)
  log_every = max(1, int(config.get("log_every", 50)))
  ckpt_every = max(1, int(config.get("checkpoint_every", 1000)))
  skip_nonfinite = bool(config.get("skip_nonfinite", False))
  last: dict[str, float] = {}
  pending = None  # (step, metrics on device, clip ids) of the previous step: checked one step late (no stall).
  sums: dict[str, float] = {}
  count = 0
  progress = _progress(start, setup.num_steps)
  t0 = time.time()

  skipped = 0  # non-finite steps skipped in the current logging window (logged as `skipped`)

  def check(pending_item):
    nonlocal sums, count, skipped
    step_done, metrics, clip_ids = pending_item
    host = jax.device_get(metrics)
    if not bool(host["finite"]):
      msg = (f"non-finite loss or gradient at step {step_done}: loss={float(host['loss'])}, "
             f"grad_norm={float(host['grad_norm'])}; batch clip ids {clip_ids.tolist()}")
      if not skip_nonfinite:
        raise NonFiniteError(msg + " (the update was not applied; set config.skip_nonfinite=True to skip)")
      logging.warning("skipped step: %s", msg)
      skipped += 1
      return
    for k, v in host.items():
      if k != "finite":
        sums[k] = sums.get(k, 0.0) + float(v)
    count += 1

  with _Stop() as stop:
    step = start
    for step in range(start, setup.num_steps):
      local = next(iterator)
      clip_ids = np.asarray(local.get("clip_index", np.zeros(0)))
      batch = sharding.global_batch(local, setup.mesh)
      state, metrics = step_fn(state, batch, setup.rng)
      if pending is not None:
        check(pending)
      pending = (step + 1, metrics, clip_ids)
      done = step + 1
      if done % log_every == 0 or done == setup.num_steps or stop.requested:
        check(pending)
        pending = None
        if count or skipped:
          last = {k: v / count for k, v in sums.items()} if count else {"loss": float("nan")}
          if skip_nonfinite:
            last["skipped"] = float(skipped)
          last["learning_rate"] = float(setup.schedule(done - 1))
          last["steps_per_s"] = (done - start) / max(1e-9, time.time() - t0)
          writer.write(done, last)
          progress.set_postfix(loss=f"{last['loss']:.4f}")
        sums, count, skipped = {}, 0, 0
      progress.update(1)
      if done % ckpt_every == 0 or done == setup.num_steps or stop.requested:
        ckpt.save(done, state, data_state=iterator.get_state(), meta=meta,
                  metrics=dict(last) if last else None, force=True)
      if stop.requested:
        logging.warning("stopped by SIGTERM at step %d; rerun with the same workdir to resume", done)
        break
    if pending is not None:
      check(pending)
  progress.close()
  ckpt.close()
  writer.close()
  return last


def _progress(start: int, total: int):
  from tqdm import tqdm  # pylint: disable=g-import-not-at-top
  return tqdm(total=total, initial=start, desc="train", disable=jax.process_index() != 0, dynamic_ncols=True,
              mininterval=1.0)
