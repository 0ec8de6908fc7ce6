"""Locating prepared datasets: `{data_dir}/{name}/{config}/{version}` directories and their statistics."""
from __future__ import annotations

import os
import re

import numpy as np

from listen_jax.data import stats as stats_lib


# Default TFDS config per dataset name (the first entry of each builder's BUILDER_CONFIGS).
_DEFAULT_CONFIGS = {"vico": "raw", "react": "default"}
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def _is_version_dir(path: str) -> bool:
  return os.path.isfile(os.path.join(path, "dataset_info.json"))


def _versions(path: str) -> list[str]:
  """Prepared version sub-directories of `path`, oldest first."""
  if not os.path.isdir(path):
    return []
  found = [d for d in os.listdir(path) if _VERSION_RE.match(d) and _is_version_dir(os.path.join(path, d))]
  return sorted(found, key=lambda d: tuple(int(x) for x in _VERSION_RE.match(d).groups()))


def resolve_version_dir(data_dir: str, dataset: str) -> str:
  """Finds the prepared version directory of `dataset` under `data_dir`.

  Args:
    data_dir: the TFDS data dir (holding `{name}/{config}/{version}/`), or directly a version directory
      (one holding `dataset_info.json`).
    dataset: `'name'`, `'name/config'` or `'name/config/version'` (also `'name/config:version'`), e.g.
      `'vico/raw'`, `'vico'` (default config `raw`), `'react'` (config `default`).

  Returns:
    The version directory, e.g. `{data_dir}/vico/raw/1.0.0` (the latest version when none is named).

  Raises:
    FileNotFoundError: nothing prepared was found; the message names the paths looked at.
  """
  data_dir = os.fspath(data_dir)
  if _is_version_dir(data_dir):
    return data_dir
  parts = [p for p in re.split(r"[/:]", dataset or "") if p]
  if not parts or len(parts) > 3:
    raise ValueError(f"dataset must look like 'name', 'name/config' or 'name/config/version', got {dataset!r}")
  name_dir = os.path.join(data_dir, parts[0])
  if len(parts) == 3:
    candidate = os.path.join(name_dir, parts[1], parts[2])
    if _is_version_dir(candidate):
      return candidate
    raise FileNotFoundError(f"no prepared dataset {dataset!r}: {candidate}/dataset_info.json does not exist "
                            "(build it with `python -m launch.build_datasets`)")
  if len(parts) == 2:
    config_dir = os.path.join(name_dir, parts[1])
    versions = _versions(config_dir)
    if versions:
      return os.path.join(config_dir, versions[-1])
    raise FileNotFoundError(f"no prepared dataset {dataset!r}: no {config_dir}/<version>/dataset_info.json "
                            "(build it with `python -m launch.build_datasets`)")
  # Name only: a config-less layout, the default config, or the single config present.
  versions = _versions(name_dir)
  if versions:
    return os.path.join(name_dir, versions[-1])
  configs = sorted(d for d in (os.listdir(name_dir) if os.path.isdir(name_dir) else [])
                   if _versions(os.path.join(name_dir, d)))
  default = _DEFAULT_CONFIGS.get(parts[0])
  if default in configs:
    chosen = default
  elif len(configs) == 1:
    chosen = configs[0]
  elif configs:
    raise FileNotFoundError(f"dataset {dataset!r} has several prepared configs under {name_dir} ({configs}); "
                            "name one, e.g. " + f"'{parts[0]}/{configs[0]}'")
  else:
    raise FileNotFoundError(f"no prepared dataset {dataset!r}: no {name_dir}/[<config>/]<version>/dataset_info.json"
                            " (build it with `python -m launch.build_datasets`)")
  config_dir = os.path.join(name_dir, chosen)
  return os.path.join(config_dir, _versions(config_dir)[-1])


def load_stats(version_dir: str) -> dict[str, np.ndarray]:
  """Loads `{version_dir}/norm_stats.npz` (`'{group}/mean'`, `'{group}/std'` -> [D] float32)."""
  return stats_lib.load_stats(version_dir)
