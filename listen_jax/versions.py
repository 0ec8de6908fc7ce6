"""The software a run was trained with (`W/versions.json`) and a warning when evaluation runs on another.

The trainer writes `W/versions.json` next to `W/config.json`:

  {"python": "3.11.7", "backend": "cpu", "device_kind": "cpu", "device_count": 4,
   "packages": {"jax": "0.10.2", "jaxlib": "0.10.2", "flax": "0.12.8", ...}}

`warn_if_changed(workdir)` (called by `launch.evaluate`) logs one absl warning per package (and for the Python
version and the backend) whose current value differs from the run's, since numerics can change between
releases of jax/XLA and between backends.
"""
from __future__ import annotations

import importlib.metadata
import json
import os
import platform

from absl import logging

from listen_jax import devices

# Distributions whose version is recorded (their releases can change numerics, checkpoints or data reading).
PACKAGES = ("jax", "jaxlib", "flax", "optax", "orbax-checkpoint", "grain", "tensorflow-datasets", "numpy")
FILENAME = "versions.json"


def package_version(name: str) -> str | None:
  """Installed version of distribution `name`, or None when it is not installed."""
  try:
    return importlib.metadata.version(name)
  except importlib.metadata.PackageNotFoundError:
    return None


def current() -> dict:
  """The record of this process: python, backend, device kind and count, and `PACKAGES` versions."""
  info = devices.describe()
  return {"python": platform.python_version(), "backend": info["backend"], "device_kind": info["device_kind"],
          "device_count": info["device_count"], "packages": {name: package_version(name) for name in PACKAGES}}


def save(workdir: str, record: dict | None = None) -> str:
  """Writes `record` (default `current()`) to `workdir/versions.json` and returns the path."""
  path = os.path.join(workdir, FILENAME)
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    json.dump(current() if record is None else record, f, indent=2, sort_keys=True)
    f.write("\n")
  os.replace(path + ".tmp", path)
  return path


def load(workdir: str) -> dict | None:
  """The run's record, or None for a workdir trained before versions were recorded."""
  path = os.path.join(workdir, FILENAME)
  if not os.path.exists(path):
    return None
  with open(path, encoding="utf-8") as f:
    try:
      return json.load(f)
    except json.JSONDecodeError as e:
      raise ValueError(f"{path}: not valid JSON ({e})") from e


def differences(run: dict, now: dict) -> list[tuple[str, str | None, str | None]]:
  """`(name, run value, current value)` for each recorded package, python and backend that differs."""
  out = []
  run_pkgs, now_pkgs = run.get("packages", {}), now.get("packages", {})
  for name in sorted(set(run_pkgs) | set(now_pkgs)):
    if run_pkgs.get(name) != now_pkgs.get(name):
      out.append((name, run_pkgs.get(name), now_pkgs.get(name)))
  for key in ("python", "backend"):
    if key in run and run.get(key) != now.get(key):
      out.append((key, run.get(key), now.get(key)))
  return out


def warn_if_changed(workdir: str, now: dict | None = None) -> list[tuple[str, str | None, str | None]]:
  """Logs a warning for every difference between the run's `versions.json` and this environment.

  Args:
    workdir: training workdir.
    now: the current record (default `current()`).

  Returns:
    The differences (empty when they match or the workdir has no record).
  """
  run = load(workdir)
  if run is None:
    logging.warning("%s has no %s (trained before versions were recorded): cannot check that this environment "
                    "matches the run's", workdir, FILENAME)
    return []
  diff = differences(run, current() if now is None else now)
  for name, was, is_now in diff:
    logging.warning("%s: the run in %s used %s, this environment has %s; results may differ from the run's",
                    name, workdir, was or "none", is_now or "none")
  return diff
