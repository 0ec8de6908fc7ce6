"""Tests for listen_jax.data.raw.react: REACT readers and REACT builds that must fail on bad raw data."""
import logging
import os
import shutil

import numpy as np
import pytest
import soundfile

from datasets.react import react_dataset_builder
from listen_jax.data import raw

from raw_builds import _build

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_REACT_DUMMY = os.path.join(_REPO, "datasets", "react", "dummy_data")


def _react_copy(tmp_path):
  """Copy of the REACT dummy data with only the train split; returns (dir, first csv row paths)."""
  out = tmp_path / "react_raw"
  shutil.copytree(_REACT_DUMMY, out)
  for split in ("val", "test"):
    os.remove(out / f"{split}.csv")
  first, second = raw.read_react_csv(out / "train.csv")[0]
  return out, first, second


# ---------------------------------------------------------------------------------------------------------
# REACT


def test_react_emotion_length_mismatch_names_clip(tmp_path):
  raw_dir, first, _ = _react_copy(tmp_path)
  path = raw_dir / "train" / "Emotion" / f"{first}.csv"
  lines = path.read_text().splitlines()
  path.write_text("\n".join(lines[:-2]) + "\n")
  with pytest.raises(raw.DataError, match=rf"clip {first}: frame counts disagree: 3DMM has 30 frames .*"
                                          rf"emotion has 28 frames"):
    _build(react_dataset_builder.Builder, raw_dir, tmp_path)


def test_react_speaker_listener_length_mismatch(tmp_path):
  raw_dir, first, second = _react_copy(tmp_path)
  for modality, ext in (("3D_FV_files", ".npy"), ("Emotion", ".csv"), ("Audio_files", ".wav")):
    path = raw_dir / "train" / modality / f"{second}{ext}"
    if ext == ".npy":
      np.save(path, np.load(path)[:25])
    elif ext == ".csv":
      path.write_text("\n".join(path.read_text().splitlines()[:26]) + "\n")
    else:
      samples, sr = soundfile.read(path)
      soundfile.write(path, samples[: 25 * sr // 25], sr)
  with pytest.raises(raw.DataError, match=rf"clip {first} / {second}: frame counts disagree: .*30 frames.*25 frames"):
    _build(react_dataset_builder.Builder, raw_dir, tmp_path)


@pytest.mark.parametrize("bad, message", [
    ("3dmm_width", r"3DMM coefficients has width 57, expected 58"),
    ("3dmm_nan", r"3DMM coefficients has 1 NaN/inf values"),
    ("emotion_width", r"emotion has width 24, expected 25"),
    ("emotion_text", r"non-numeric emotion value"),
    ("emotion_empty", r"emotion is empty \(T == 0\)"),
])
def test_react_bad_arrays(tmp_path, bad, message):
  raw_dir, first, _ = _react_copy(tmp_path)
  fv = raw_dir / "train" / "3D_FV_files" / f"{first}.npy"
  emo = raw_dir / "train" / "Emotion" / f"{first}.csv"
  lines = emo.read_text().splitlines()
  if bad == "3dmm_width":
    np.save(fv, np.load(fv)[:, :57])
  elif bad == "3dmm_nan":
    a = np.load(fv)
    a[3, 3] = np.nan
    np.save(fv, a)
  elif bad == "emotion_width":
    emo.write_text("\n".join(",".join(line.split(",")[:24]) for line in lines) + "\n")
  elif bad == "emotion_text":
    emo.write_text("\n".join(lines[:5] + ["oops," + lines[5].split(",", 1)[1]] + lines[6:]) + "\n")
  else:
    emo.write_text(lines[0] + "\n")
  with pytest.raises(raw.DataError, match=rf"clip {first}: .*{os.path.basename(first)}\.(npy|csv): {message}"):
    _build(react_dataset_builder.Builder, raw_dir, tmp_path)


def test_react_missing_wav_and_missing_3dmm(tmp_path):
  raw_dir, first, second = _react_copy(tmp_path)
  os.remove(raw_dir / "train" / "Audio_files" / f"{second}.wav")
  with pytest.raises(raw.MissingFileError, match=rf"clip {second}: missing wav: .*{second}\.wav"):
    _build(react_dataset_builder.Builder, raw_dir, tmp_path)
  os.remove(raw_dir / "train" / "3D_FV_files" / f"{first}.npy")
  with pytest.raises(raw.MissingFileError, match=rf"clip {first}: missing 3DMM coefficients"):
    _build(react_dataset_builder.Builder, raw_dir, tmp_path)


def test_react_neighbour_matrix_size_mismatch(tmp_path):
  raw_dir, _, _ = _react_copy(tmp_path)
  np.save(raw_dir / "neighbour_emotion_train.npy", np.eye(6))
  with pytest.raises(raw.DataError, match=r"neighbour_emotion_train\.npy: neighbour matrix has shape \(6, 6\), "
                                          r"but the split has 4 items .* expected \(4, 4\)"):
    _build(react_dataset_builder.Builder, raw_dir, tmp_path)


def test_read_neighbours_empty_row_uses_own_index(tmp_path, caplog):
  a = np.zeros((4, 4))
  a[0, [0, 2]] = 1
  a[1, 3] = 1
  a[3, [1, 3]] = 1  # row 2 has no neighbour
  path = tmp_path / "neighbour_emotion_val.npy"
  np.save(path, a)
  with caplog.at_level(logging.WARNING):
    neighbours = raw.read_neighbours(path, 4)
  assert [n.tolist() for n in neighbours] == [[0, 2], [3], [2], [1, 3]]
  assert all(n.dtype == np.int32 for n in neighbours)
  assert any("no appropriate neighbour" in rec.getMessage() for rec in caplog.records)


def test_react_csv_and_3dmm_squeeze(tmp_path):
  path = tmp_path / "val.csv"
  path.write_text(",speaker_path,listener_path\n0,NoXI/a/Expert_video/1,NoXI/a/Novice_video/1\n")
  assert raw.read_react_csv(path) == [("NoXI/a/Expert_video/1", "NoXI/a/Novice_video/1")]
  path.write_text(",speaker,listener_path\n")
  with pytest.raises(raw.DataError, match=r"missing columns \['speaker_path'\]"):
    raw.read_react_csv(path)
  fv = tmp_path / "x.npy"
  np.save(fv, np.ones((7, 1, 58), np.float64))
  a = raw.read_react_3dmm(fv, "x")
  assert a.shape == (7, 58) and a.dtype == np.float32


def test_react_missing_neighbour_file_uses_own_index(tmp_path, caplog):
  raw_dir, _, _ = _react_copy(tmp_path)
  os.remove(raw_dir / "neighbour_emotion_train.npy")
  with caplog.at_level(logging.WARNING):
    builder = _build(react_dataset_builder.Builder, raw_dir, tmp_path)
  assert any("neighbour_emotion_train.npy" in rec.getMessage() for rec in caplog.records)
  source = builder.as_data_source("train")
  for i in range(len(source)):
    example = source[i]
    assert example["neighbours"].tolist() == [example["index"]]
