"""Timing and reporting helpers shared by the benchmark entry points (no flags)."""
import json
import time

import numpy as np


def time_train_step(step, state, batch, key, *, steps: int, repeats: int):
  """Median seconds per call of a compiled, donated train step; returns (state, seconds)."""
  import jax  # pylint: disable=g-import-not-at-top

  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(steps):
      state, metrics = step(state, batch, key)
    jax.block_until_ready(metrics)
    times.append((time.perf_counter() - t0) / steps)
  return state, float(np.median(times))


def emit(name: str, value: float, unit: str, digits: int | None = None) -> None:
  """Prints one benchmark figure as a JSON line {"name": ..., "value": ..., "unit": ...} (rounded to `digits`)."""
  value = float(value) if digits is None else round(float(value), digits)
  print(json.dumps({"name": name, "value": value, "unit": unit}), flush=True)
