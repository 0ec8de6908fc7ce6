"""Broken split tables: a uuid in two ViCo splits, an unknown attitude label, a REACT item without neighbours."""
from __future__ import annotations

import csv
import os

import numpy as np

from launch import build_datasets
from listen_jax.data import raw

from bad_input_cases import Case, _edit_csv, _first_train_uuid, _open, build_vico, parametrize, run_case


def duplicate_uuid(root):
  uuid = _first_train_uuid(root)
  with open(os.path.join(root, "train.csv"), newline="", encoding="utf-8") as f:
    first = next(csv.DictReader(f))
  _edit_csv(os.path.join(root, "test.csv"), lambda rows: rows + [{**first, "split": "test", "video_id": "again"}])
  return {"uuid": uuid}


def unknown_attitude(root):
  uuid = _first_train_uuid(root)
  _edit_csv(os.path.join(root, "train.csv"),
            lambda rows: [{**r, "attitude": "sarcastic"} if r["uuid"] == uuid else r for r in rows])
  return {"uuid": uuid}


def react_item_without_neighbours(root):
  path = os.path.join(root, "neighbour_emotion_train.npy")
  matrix = np.load(path)
  matrix[0] = 0
  np.save(path, matrix)
  return {"file": path, "matrix": matrix}


def build_react(root, out, facts):
  del facts
  return build_datasets.build("react", root, out)


def check_neighbour_fallback_to_self(root, out, facts, logs):
  source = _open(out, "react")
  matrix = facts["matrix"]
  for index in range(matrix.shape[0]):
    neighbours = source[source.position_of(index)]["neighbours"].tolist()
    expected = [index] if index == 0 else np.flatnonzero(matrix[index] == 1).tolist()
    assert neighbours == expected, index
  assert any("no appropriate neighbour" in m and facts["file"] in m for m in logs)


_CASES = [
    Case("duplicate_uuid", "vico", duplicate_uuid, build_vico, raw.DataError,
         r"duplicate uuid {uuid}: .*train.csv \(train\) and .*test.csv \(test\)"),
    Case("unknown_attitude_label", "vico", unknown_attitude, build_vico, raw.DataError,
         r"train.csv: line 2: clip {uuid}: unknown attitude label 'sarcastic'"),
    Case("react_item_without_neighbours", "react", react_item_without_neighbours, build_react,
         check=check_neighbour_fallback_to_self),
]


@parametrize(_CASES)
def test_bad_input(case, vico_raw, react_raw, tmp_path, caplog):
  run_case(case, vico_raw, react_raw, tmp_path, caplog)
