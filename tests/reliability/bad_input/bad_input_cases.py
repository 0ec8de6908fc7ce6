"""Bad-input sweep, end to end: tables of broken inputs fed to the builders, the pipeline and the CLIs.

Every row starts from a tiny synthetic raw layout (`listen_jax.synthetic`, what `launch.make_synthetic` writes:
4 ViCo clips of 1.5 s, or 4 REACT rows; fixtures in conftest.py), corrupts it in tmp_path, and asserts either a
clear error (exception type + a message naming the clip / file / field) or the documented handling with a correct
result. Reader-level checks live in tests/data/raw/; here the input goes through `launch.build_datasets.build`,
`listen_jax.data.pipeline`, `listen_jax.train.trainer` or a `python -m launch.*` subprocess.

This module holds what the tables share (the `Case` row, its runner, the raw-layout helpers); the tables are in
`wav_test.py` (audio files), `motion_test.py` (3DMM files), `splits_test.py` (split csvs, neighbour matrices),
`prepared_test.py` (prepared dataset and statistics), `config_test.py` (configs and CLI flags), and
`trainer_test.py` holds the non-finite batches reaching the trainer. Not a test module.
"""
from __future__ import annotations

import csv
import dataclasses
import logging
import os
import re
import shutil
import subprocess
from typing import Any, Callable

import numpy as np
import pytest
import scipy.io

from launch import build_datasets
from listen_jax.data import pipeline

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_FPS, _SR, _FRAMES = 30.0, 16000, 45


# ---------------------------------------------------------------------------------------------------------------
# Corruption helpers. Each returns facts for the expected message ({uuid}, {file}, ...).


def _first_train_uuid(root: str) -> str:
  with open(os.path.join(root, "train.csv"), newline="", encoding="utf-8") as f:
    return next(csv.DictReader(f))["uuid"]


def _wav(root: str, uuid: str) -> str:
  return os.path.join(root, "audios", f"{uuid}.wav")


def _mat(root: str, uuid: str, role: str) -> str:
  return os.path.join(root, "recons", f"{uuid}.{role}.mat")


def _edit_mat(path: str, edit: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> None:
  m = scipy.io.loadmat(path)
  coeff, tp = edit(m["coeff"].astype(np.float32), m["transform_params"].astype(np.float32))
  scipy.io.savemat(path, {"coeff": coeff, "transform_params": tp})


def _edit_csv(path: str, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
  with open(path, newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    fields, rows = reader.fieldnames, list(reader)
  rows = edit(rows)
  with open(path, "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)


def nothing(root):
  del root
  return {}


# ---------------------------------------------------------------------------------------------------------------
# Actions (what consumes the broken input) shared by the tables.


def build_vico(root, out, facts, config=None):
  del facts
  return build_datasets.build("vico", root, out, config)


def _open(out, dataset="vico/raw", split="train"):
  return pipeline.open_split(out, dataset, split)


def _clip(source, uuid):
  positions = [p for p in range(len(source)) if source[p]["uuid"] == uuid]
  assert len(positions) == 1
  return source[positions[0]]


# ---------------------------------------------------------------------------------------------------------------
# The table row and its runner.


@dataclasses.dataclass(frozen=True)
class Case:
  """One broken input: how to break the raw layout, what consumes it, and the expected outcome."""

  name: str
  dataset: str  # 'vico' | 'react': which raw layout to start from
  corrupt: Callable[[str], dict[str, Any]]
  action: Callable[[str, str, dict[str, Any]], Any]
  error: type[BaseException] | None = None  # expected exception type, or None for documented handling
  message: str = ""  # regex (formatted with the corruption facts, escaped) the error message must match
  check: Callable[..., None] | None = None  # check(root, out, facts, result_or_logs) for handled inputs


def parametrize(cases: list[Case]):
  """The tables' `pytest.mark.parametrize`: one test per case, named by the case."""
  return pytest.mark.parametrize("case", cases, ids=[getattr(c, "values", [c])[0].name for c in cases])


def run_case(case: Case, vico_raw: str, react_raw: str, tmp_path, caplog) -> None:
  """Copies the case's raw layout into tmp_path, corrupts it, runs the action and checks the outcome."""
  root = str(tmp_path / "raw")
  shutil.copytree(vico_raw if case.dataset == "vico" else react_raw, root)
  out = str(tmp_path / "data")
  facts = case.corrupt(root)
  if case.error is not None:
    with pytest.raises(case.error) as info:
      case.action(root, out, facts)
    # Facts may be completed by the action (e.g. the stats file it wrote), so format the pattern afterwards.
    pattern = case.message.format(**{k: re.escape(v) for k, v in facts.items() if isinstance(v, str)})
    assert re.search(pattern, str(info.value)), f"{pattern!r} not in {str(info.value)!r}"
    return
  with caplog.at_level(logging.INFO):
    result = case.action(root, out, facts)
  logs = [r.getMessage() for r in caplog.records]
  case.check(root, out, facts, result if isinstance(result, subprocess.CompletedProcess) else logs)
