"""Orbax checkpoints of the train state together with the data-iterator state.

One `Checkpointer` over `ocp.CheckpointManager` with three items per step:
  * `state`: the train state pytree (params, optimiser state, step), restored against an abstract target that
    carries shardings, so arrays come back already placed;
  * `data`: the input iterator's state (JSON), so a resumed run sees exactly the batches it would have seen;
  * `meta`: JSON describing the model (name, parameter shapes), checked before restoring so a checkpoint that
    does not match the config fails with a clear message instead of an orbax shape error.
Orbax writes each step to a temporary directory and renames it when complete, so an interrupted save is never
picked up as the latest step.
"""
from __future__ import annotations

import os
from typing import Any

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
               best_metric: str | None = None, best_mode: str = "min", async_save: bool = False):
    self.directory = epath.Path(os.path.abspath(os.fspath(directory)))
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep,
        save_interval_steps=save_interval_steps,
        create=True,
        enable_async_checkpointing=async_save,
        best_fn=(lambda m: float(m[best_metric])) if best_metric else None,
        best_mode=best_mode,
        keep_checkpoints_without_metrics=True,
        cleanup_tmp_directories=True,
    )
    self._manager = ocp.CheckpointManager(self.directory, options=options,
                                          item_names=("state", "data", "meta"))

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return list(self._manager.all_steps())

  def save(self, step: int, state: Any, *, data_state: dict | None = None, meta: dict | None = None,
           metrics: dict | None = None, force: bool = False) -> bool:
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
    out = self._manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
    return out.state

  def wait(self) -> None:
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()

  def _resolve(self, step: int | None) -> int:
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"no complete checkpoint in {self.directory}")
    return step


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
  """Loads `(params, meta, step)` from `workdir/checkpoints` for evaluation or export (NumPy arrays)."""
  ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), max_to_keep=None)
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
