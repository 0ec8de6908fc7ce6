"""A broken prepared dataset reaching the pipeline: missing or non-finite norm_stats.npz, an unbuilt dataset."""
from __future__ import annotations

import os

import numpy as np

from launch import build_datasets
from listen_jax.data import stats

from bad_input_cases import Case, _open, nothing, parametrize, run_case


def remove_stats(root, out, facts):
  version_dir, _ = build_datasets.build("vico", root, out)
  facts["file"] = os.path.join(version_dir, "norm_stats.npz")
  os.remove(facts["file"])
  return _open(out)


def nan_stats(root, out, facts):
  version_dir, _ = build_datasets.build("vico", root, out)
  facts["file"] = os.path.join(version_dir, "norm_stats.npz")
  with np.load(facts["file"]) as f:
    values = dict(f)
  values["motion/std"][3] = np.nan
  np.savez(facts["file"], **values)
  return _open(out)


def open_unbuilt(root, out, facts):
  del root, facts
  return _open(out)


_CASES = [
    Case("missing_norm_stats", "vico", nothing, remove_stats, stats.StatsNotFoundError, r"{file}"),
    Case("nan_norm_stats", "vico", nothing, nan_stats, stats.StatsError, r"{file}: non-finite values in motion/std"),
    Case("dataset_not_built", "vico", nothing, open_unbuilt, FileNotFoundError,
         r"no prepared dataset 'vico/raw'.*python -m launch.build_datasets"),
]


@parametrize(_CASES)
def test_bad_input(case, vico_raw, react_raw, tmp_path, caplog):
  run_case(case, vico_raw, react_raw, tmp_path, caplog)
