"""Device mesh and global-batch helpers (data parallel over every device of every host).

The trainer runs one `jax.jit` step over a `jax.make_mesh` mesh with a `'data'` axis (and an optional `'model'`
axis). Batches are built as global arrays from each process's local rows with
`jax.make_array_from_process_local_data`; parameters are replicated (or sharded on `'model'`).
"""
from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np
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


def to_host(tree: Any) -> Any:
  """Fetches (fully addressable or replicated) arrays to NumPy on every process."""
  def fetch(x):
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
      x = jax.experimental.multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)
  return jax.tree.map(fetch, tree)
