"""Orbax checkpoints of the train state together with the data-iterator state.

One `Checkpointer` over `ocp.CheckpointManager` with three items per step:
  * `state`: the train state pytree (params, optimiser state, step), restored against an abstract target that
    carries shardings, so arrays come back already placed;
  * `data`: the input iterator's state (JSON), so a resumed run sees exactly the batches it would have seen;
  * `meta`: JSON describing the model (name, parameter shapes), checked before restoring so a checkpoint that
    does not match the config fails with a clear message instead of an orbax shape error.
Completeness: orbax (0.12.8, local filesystems) writes each step into `{step}.orbax-checkpoint-tmp/`, writes
`commit_success.txt` into it, then renames it to `{step}/`, so a save killed half-way leaves only the temporary
directory, which is never listed as a step and is deleted when the next writer opens the directory. A step
directory without `commit_success.txt` (copied by hand, or written by a filesystem without atomic rename) is not
trusted either: it is moved aside to `{step}.incomplete-{time}` with a warning, and the previous step restores.

Retention: the latest `max_to_keep` steps; with `best_metric`, the `max_to_keep` best steps by that logged metric
(NaN counts as worst) *plus* the latest step, so a run can always resume where it stopped.
"""
from __future__ import annotations

import math
import os
import time
from typing import Any

from absl import logging
import jax
import numpy as np
import orbax.checkpoint as ocp
from etils import epath


class CheckpointMismatchError(ValueError):
  """The checkpoint on disk does not match the model/config being restored."""


def describe_params(model_name: str, params: Any) -> dict[str, Any]:
  """JSON-able summary of a parameter tree: model name and `path -> shape`."""
  flat = jax.tree_util.tree_flatten_with_path(params)[0]
  shapes = {jax.tree_util.keystr(path): list(np.shape(leaf)) for path, leaf in flat}
  return {"model_name": model_name, "param_shapes": shapes}


class Checkpointer:
  """Saves and restores `(state, data_state, meta)` under `directory` (see module docstring)."""

  def __init__(self, directory: str, *, max_to_keep: int | None = 3, save_interval_steps: int = 1,
               best_metric: str | None = None, best_mode: str = "min", async_save: bool = False,
               read_only: bool = False):
    """Opens (creating unless `read_only`) the checkpoint directory.

    Args:
      directory: the checkpoint directory (`W/checkpoints`).
      max_to_keep: steps kept (None: all); with `best_metric`, the best this many plus the latest.
      save_interval_steps: orbax's minimum distance between saved steps (`force=True` overrides).
      best_metric: a key of the `metrics` passed to `save` ranking the checkpoints kept.
      best_mode: 'min' or 'max' for `best_metric`.
      async_save: write in a background thread (call `wait()` / `close()` before reading).
      read_only: for readers (evaluation, export) that may run while a trainer writes: nothing is created,
        moved or deleted (in particular the trainer's in-flight temporary directory is left alone).
    """
    self.directory = epath.Path(os.path.abspath(os.fspath(directory)))
    if best_mode not in ("min", "max"):
      raise ValueError(f"best_mode must be 'min' or 'max', got {best_mode!r}")
    self.best_metric = best_metric or None
    self._best_mode = best_mode
    self.read_only = read_only
    # Step directories without a commit marker: moved aside by writers, skipped by read-only readers.
    if read_only:
      self.incomplete = [os.fspath(p) for p in _incomplete_step_dirs(self.directory)]
    else:
      self.incomplete = _set_aside_incomplete_steps(self.directory)
    self._skip = {int(os.path.basename(p)) for p in self.incomplete if os.path.basename(p).isdigit()}
    policy = None
    keep = max_to_keep
    if self.best_metric and max_to_keep is not None:
      # orbax's best_fn alone keeps only the best N and may delete the latest step: keep that one as well.
      policy = ocp.checkpoint_managers.AnyPreservationPolicy([
          ocp.checkpoint_managers.BestN(get_metric_fn=self._metric_value, reverse=(best_mode == "min"),
                                        n=max_to_keep, keep_checkpoints_without_metrics=True),
          ocp.checkpoint_managers.LatestN(n=1)])
      keep = None
    options = ocp.CheckpointManagerOptions(
        max_to_keep=keep,
        save_interval_steps=0 if read_only else save_interval_steps,
        create=not read_only,
        enable_async_checkpointing=async_save,
        best_fn=self._metric_value if self.best_metric else None,
        best_mode=best_mode,
        keep_checkpoints_without_metrics=True,
        cleanup_tmp_directories=not read_only,
        preservation_policy=policy,
        read_only=read_only,
    )
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("state", "data", "meta"))

  def _metric_value(self, metrics: dict) -> float:
    """The ranking value of a checkpoint's metrics; NaN/inf count as the worst."""
    value = float(metrics[self.best_metric])
    if not math.isfinite(value):
      return math.inf if self._best_mode == "min" else -math.inf
    return value

  def latest_step(self) -> int | None:
    """The latest complete step, or None."""
    steps = self.all_steps()
    return steps[-1] if steps else None

  def all_steps(self) -> list[int]:
    """Complete steps on disk, ascending."""
    return sorted(s for s in self._manager.all_steps() if s not in self._skip)

  def save(self, step: int, state: Any, *, data_state: dict | None = None, meta: dict | None = None,
           metrics: dict | None = None, force: bool = False) -> bool:
    """Writes step `step` (state pytree, data-iterator state, meta); `metrics` rank it when `best_metric` is set."""
    if self.read_only:
      raise PermissionError(f"{self.directory} was opened read_only")
    if self.best_metric and metrics is not None and self.best_metric not in metrics:
      raise ValueError(f"keep_best_metric={self.best_metric!r} is not among the logged metrics {sorted(metrics)}")
    args = ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        data=ocp.args.JsonSave(data_state or {}),
        meta=ocp.args.JsonSave(meta or {}),
    )
    return self._manager.save(step, args=args, metrics=metrics, force=force)

  def read_meta(self, step: int | None = None) -> dict:
    step = self._resolve(step)
    out = self._manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))
    return dict(out.meta or {})

  def read_data_state(self, step: int | None = None) -> dict:
    """The data-iterator state saved with `step` (default: the latest complete step)."""
    step = self._resolve(step)
    out = self._manager.restore(step, args=ocp.args.Composite(data=ocp.args.JsonRestore()))
    return dict(out.data or {})

  def restore(self, abstract_state: Any, step: int | None = None, *, expect_meta: dict | None = None
              ) -> tuple[Any, dict]:
    """Restores `(state, data_state)`; `abstract_state` gives structure, shapes, dtypes and shardings."""
    step = self._resolve(step)
    if expect_meta is not None:
      check_meta(self.read_meta(step), expect_meta, where=str(self.directory / str(step)))
    out = self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore()))
    return out.state, dict(out.data or {})

  def restore_raw(self, step: int | None = None) -> Any:
    """Restores the state tree without a target (NumPy arrays), e.g. for evaluation."""
    step = self._resolve(step)
    # Ask for NumPy leaves explicitly: restoring without a target would try to rebuild the saved shardings,
    # which fails for checkpoints written on another device topology (e.g. a multi-host run).
    path = self.directory / str(step) / "state"
    with ocp.PyTreeCheckpointer() as reader:
      tree = reader.metadata(path).item_metadata.tree
      restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), tree)
      return reader.restore(path, args=ocp.args.PyTreeRestore(restore_args=restore_args))

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def _resolve(self, step: int | None) -> int:
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no complete checkpoint in {self.directory}")
    if step not in self.all_steps():
      raise FileNotFoundError(f"no complete checkpoint for step {step} in {self.directory} "
                              f"(complete steps: {self.all_steps()})")
    return step


COMMIT_MARKER = "commit_success.txt"  # written by orbax into a step directory just before it is finalised


def _incomplete_step_dirs(directory: epath.Path) -> list[epath.Path]:
  """Step directories (`{digits}/`) without orbax's commit marker: interrupted or partially copied saves."""
  if not directory.is_dir():
    return []
  return sorted((p for p in directory.iterdir() if p.name.isdigit() and p.is_dir() and
                 not (p / COMMIT_MARKER).exists()), key=lambda p: int(p.name))


def _set_aside_incomplete_steps(directory: epath.Path) -> list[str]:
  """Renames incomplete step directories to `{step}.incomplete-{unix time}` (process 0) and returns their paths."""
  found = _incomplete_step_dirs(directory)
  if found and jax.process_index() == 0:
    stamp = int(time.time())
    for path in found:
      target = path.parent / f"{path.name}.incomplete-{stamp}"
      logging.warning("checkpoint %s has no %s (an interrupted or partial save): moved aside to %s; the previous "
                      "complete step is used", path, COMMIT_MARKER, target)
      path.rename(target)
  if found and jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices("listen_jax_checkpoint_set_aside")
  return [os.fspath(p) for p in found]


def check_meta(found: dict, expected: dict, where: str) -> None:
  """Raises `CheckpointMismatchError` naming the differences between checkpoint and config."""
  if not found:
    return
  if found.get("model_name") != expected.get("model_name"):
    raise CheckpointMismatchError(f"checkpoint {where} holds model {found.get('model_name')!r} but the config asks "
                                  f"for {expected.get('model_name')!r}")
  fs, es = found.get("param_shapes", {}), expected.get("param_shapes", {})
  missing = sorted(set(es) - set(fs))
  extra = sorted(set(fs) - set(es))
  wrong = sorted(k for k in set(fs) & set(es) if list(fs[k]) != list(es[k]))
  if missing or extra or wrong:
    lines = [f"checkpoint {where} does not match the model built from the config:"]
    if wrong:
      lines += [f"  {k}: checkpoint {fs[k]} vs config {es[k]}" for k in wrong[:10]]
    if missing:
      lines.append(f"  missing in checkpoint: {missing[:10]}")
    if extra:
      lines.append(f"  not in the model: {extra[:10]}")
    raise CheckpointMismatchError("\n".join(lines))


def restore_params(workdir: str, step: int | None = None) -> tuple[Any, dict, int]:
  """Loads `(params, meta, step)` from `workdir/checkpoints` for evaluation or export (NumPy arrays).

  Read-only: safe to call while a trainer is writing into the same workdir.
  """
  if not os.path.isdir(os.path.join(workdir, "checkpoints")):
    raise FileNotFoundError(f"no checkpoints directory in {workdir} (train first, or import weights)")
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=None, read_only=True)
  try:
    step = ckpt._resolve(step)  # pylint: disable=protected-access
    state = ckpt.restore_raw(step)
    meta = ckpt.read_meta(step)
  finally:
    ckpt.close()
  return state["params"], meta, step


def save_imported_params(workdir: str, params: Any, model_name: str, step: int = 0) -> str:
  """Writes a params-only checkpoint (e.g. converted from PyTorch) that evaluation and generation can load."""
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=None)
  try:
    meta = describe_params(model_name, params)
    meta["imported"] = True
    ckpt.save(step, {"params": params, "step": np.int32(step)}, meta=meta, force=True)
    ckpt.wait()
  finally:
    ckpt.close()
  return os.path.join(workdir, "checkpoints", str(step))
