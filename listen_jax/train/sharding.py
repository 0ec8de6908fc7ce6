"""Device mesh and global-batch helpers (data parallel over every device of every host).

The trainer runs one `jax.jit` step over a `jax.make_mesh` mesh with a `'data'` axis (and an optional `'model'`
axis). Batches are built as global arrays from each process's local rows with
`jax.make_array_from_process_local_data`; parameters are replicated (or sharded on `'model'`).
"""
from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding, PartitionSpec as P

DATA_AXIS = "data"
MODEL_AXIS = "model"


def make_mesh(model_parallel: int = 1, devices=None) -> jax.sharding.Mesh:
  """A `(data, model)` mesh over all devices (`model_parallel` devices on the model axis)."""
  devices = jax.devices() if devices is None else list(devices)
  n = len(devices)
  if model_parallel < 1 or n % model_parallel:
    raise ValueError(f"model_parallel={model_parallel} must divide the device count {n}")
  return jax.make_mesh((n // model_parallel, model_parallel), (DATA_AXIS, MODEL_AXIS), devices=devices,
                       axis_types=(jax.sharding.AxisType.Auto,) * 2)


def data_sharding(mesh) -> NamedSharding:
  """Leading (batch) axis split over the data axis."""
  return NamedSharding(mesh, P(DATA_AXIS))


def replicated(mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def check_batch_size(global_batch_size: int, mesh) -> None:
  n_data = mesh.shape[DATA_AXIS]
  if global_batch_size % n_data:
    raise ValueError(f"global batch_size={global_batch_size} is not divisible by the {n_data} data-parallel "
                     "devices; choose a multiple")
  if global_batch_size % jax.process_count():
    raise ValueError(f"global batch_size={global_batch_size} is not divisible by process_count="
                     f"{jax.process_count()}")


def global_batch(local_batch: Mapping[str, np.ndarray], mesh) -> dict[str, jax.Array]:
  """Lifts this process's rows of a batch to global arrays sharded over the data axis."""
  sharding = data_sharding(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local_batch.items()}


def process_rows(mesh, global_batch_size: int) -> dict[int, np.ndarray]:
  """`process index -> global rows` of a `data_sharding(mesh)` batch, in local-row order.

  `jax.make_array_from_process_local_data` places a process's local rows, in order, on the sorted global rows
  its devices hold; this returns those rows for every process (computable on any process).
  """
  index_map = data_sharding(mesh).devices_indices_map((global_batch_size,))
  rows: dict[int, set[int]] = {}
  for device, (index,) in index_map.items():
    start, stop, _ = index.indices(global_batch_size)
    rows.setdefault(device.process_index, set()).update(range(start, stop))
  return {p: np.array(sorted(r), np.int64) for p, r in sorted(rows.items())}


def interleaved_row_order(mesh, global_batch_size: int) -> np.ndarray | None:
  """Permutation putting a global batch built from interleaved process shards back in stream order.

  The input pipeline gives process p of n the stream positions p, p + n, p + 2n, ... of each global batch
  (`pipeline.make_train_iterator`), while the global array holds each process's rows on the contiguous rows of
  its devices. `batch[order]` is then row for row the batch one process would have read (so per-row randomness
  such as dropout masks, and hence the whole step, matches the single-process run). None when already in order
  (one process).

  Args:
    mesh: the training mesh.
    global_batch_size: B, rows of the global batch.

  Returns:
    `[B] int` with `stream position r -> global row`, or None for the identity.
  """
  rows = process_rows(mesh, global_batch_size)
  n = len(rows)
  stream_of_row = np.empty(global_batch_size, np.int64)
  for p, (proc, proc_rows) in enumerate(rows.items()):
    if proc != p:
      raise ValueError(f"mesh devices cover processes {sorted(rows)}; expected 0..{n - 1}")
    stream_of_row[proc_rows] = p + n * np.arange(len(proc_rows))
  order = np.argsort(stream_of_row)
  return None if np.array_equal(order, np.arange(global_batch_size)) else order


def reorder_rows(batch: Mapping[str, jax.Array], order: np.ndarray | None, mesh) -> dict[str, jax.Array]:
  """`batch[order]` for every key, kept sharded over the data axis (call inside jit; one all-to-all)."""
  if order is None:
    return dict(batch)
  out_sharding = data_sharding(mesh)
  idx = jnp.asarray(order, jnp.int32)
  return {k: jax.lax.with_sharding_constraint(jnp.take(v, idx, axis=0), out_sharding) for k, v in batch.items()}


def to_host(tree: Any) -> Any:
  """Fetches arrays to NumPy on every process (replicated, fully addressable, or sharded over hosts)."""
  def fetch(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable and not x.is_fully_replicated:
      x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)
  return jax.tree.map(fetch, tree)
