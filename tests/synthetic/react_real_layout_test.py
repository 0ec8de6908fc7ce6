"""make_react's real-listing options: UDIVA 5-level paths and [T, 1, 58] 3DMM files; defaults unchanged."""
import csv
import os

import numpy as np
import pytest

from listen_jax import synthetic


def _rows(root, split):
  with open(os.path.join(root, f"{split}.csv"), newline="", encoding="utf-8") as f:
    return list(csv.reader(f))


def test_udiva_sessions_and_singleton_axis(tmp_path):
  root = str(tmp_path / "raw")
  summary = synthetic.make_react(root, num_clips=12, seed=3, min_seconds=1.0, max_seconds=1.0,
                                 udiva_fraction=1.0, threedmm_singleton_axis=True)
  rows = _rows(root, "train")
  assert rows[0] == ["", "speaker_path", "listener_path"]
  for i, (index, first, second) in enumerate(rows[1:]):
    assert index == str(i)
    site, task, session, person, clip = first.split("/")
    assert (site, person) == ("UDIVA", "FC1") and task in ("talk", "animals", "lego", "ghost")
    assert len(session) == 6 and session.isdigit() and clip.isdigit()
    assert second == f"UDIVA/{task}/{session}/FC2/{clip}"
  assert [tuple(r[1:]) for r in rows[1:]] == [tuple(r) for r in summary["train"]["rows"]]
  a = np.load(os.path.join(root, "train", "3D_FV_files", rows[1][1] + ".npy"))
  assert a.shape == (25, 1, 58) and a.dtype == np.float32


def test_defaults_write_no_udiva_and_two_dimensional_3dmm(tmp_path):
  root = str(tmp_path / "raw")
  synthetic.make_react(root, num_clips=12, seed=3, min_seconds=1.0, max_seconds=1.0)
  rows = _rows(root, "train")[1:]
  assert {r[1].split("/")[0] for r in rows} <= {"NoXI", "RECOLA"}
  assert np.load(os.path.join(root, "train", "3D_FV_files", rows[0][1] + ".npy")).shape == (25, 58)


def test_bad_udiva_fraction_is_rejected(tmp_path):
  with pytest.raises(synthetic.SyntheticError, match="udiva_fraction"):
    synthetic.make_react(str(tmp_path), num_clips=3, seed=0, udiva_fraction=1.5)
