"""The REACT builder on the real REACT 2023 listing conventions, and one test per mismatch naming the file.

Real conventions: split csvs with a leading unnamed index column, dataset-style nested paths (NoXI 4 levels,
RECOLA 4, UDIVA 5: `UDIVA/talk/023102/FC1/8`), 3DMM stored as [T, 1, 58], stereo 44.1 kHz wavs, the ReactFace
neighbour-file name. Each raw dir is a tiny synthetic REACT set (4 csv rows of 1.2 s) edited in place.
"""
import csv
import os
import re
import shutil

import numpy as np
import pytest
import soundfile
import tensorflow_datasets as tfds

from datasets.react import react_dataset_builder
from listen_jax import synthetic
from listen_jax.data import raw

_SR = 44_100
_SECONDS = 1.2
_FRAMES = 30


@pytest.fixture(scope="module")
def base_raw(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("react_real"))
  synthetic.make_react(root, num_clips=4, seed=1, sample_rate=_SR, min_seconds=_SECONDS, max_seconds=_SECONDS,
                       num_styles=2, split_ratios=(2, 1, 1))
  return root


@pytest.fixture
def root(base_raw, tmp_path):
  out = str(tmp_path / "raw")
  shutil.copytree(base_raw, out)
  return out


def _rows(root, split="train"):
  with open(os.path.join(root, f"{split}.csv"), newline="", encoding="utf-8") as f:
    return list(csv.reader(f))


def _write_rows(root, rows, split="train"):
  with open(os.path.join(root, f"{split}.csv"), "w", newline="", encoding="utf-8") as f:
    csv.writer(f).writerows(rows)


def _file(root, modality, clip, split="train"):
  ext = {"Audio_files": ".wav", "3D_FV_files": ".npy", "Emotion": ".csv"}[modality]
  return os.path.join(root, split, modality, clip + ext)


def _build(root, tmp_path):
  builder = react_dataset_builder.Builder(data_dir=str(tmp_path / "data"), config="default",
                                          file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=root))
  source = builder.as_data_source("train")
  return sorted((source[i] for i in range(len(source))), key=lambda e: e["index"])


def _first_clip(root):
  return _rows(root)[1][1]


def test_real_listing_conventions_are_accepted(root, tmp_path):
  rows = _rows(root)
  assert rows[0] == ["", "speaker_path", "listener_path"] and rows[1][0] == "0"  # unnamed index column
  # Move the first dyad to UDIVA's 5-level paths, store every 3DMM as [T, 1, 58], make one wav stereo and
  # rename the neighbour matrix to ReactFace's name.
  udiva = ("UDIVA/talk/023102/FC1/8", "UDIVA/talk/023102/FC2/8")
  for old, new in zip(rows[1][1:], udiva):
    for modality in ("Audio_files", "3D_FV_files", "Emotion"):
      os.makedirs(os.path.dirname(_file(root, modality, new)), exist_ok=True)
      os.replace(_file(root, modality, old), _file(root, modality, new))
  rows[1][1:] = udiva
  _write_rows(root, rows)
  flat = {}
  for dirpath, _, files in os.walk(os.path.join(root, "train", "3D_FV_files")):
    for name in files:
      path = os.path.join(dirpath, name)
      a = np.load(path)
      flat[path] = a
      np.save(path, a[:, None, :])
  samples, sr = soundfile.read(_file(root, "Audio_files", udiva[0]), dtype="float32")
  assert sr == _SR
  soundfile.write(_file(root, "Audio_files", udiva[0]), np.stack([samples, samples], axis=1), sr, subtype="FLOAT")
  os.replace(os.path.join(root, "neighbour_emotion_train.npy"), os.path.join(root, "neighbour_emotion_new_train.npy"))

  examples = _build(root, tmp_path)
  assert len(examples) == 2 * (len(rows) - 1)
  assert examples[0]["speaker_path"].decode() == udiva[0] and examples[0]["listener_path"].decode() == udiva[1]
  for e in examples:
    assert e["speaker_3dmm"].shape == (_FRAMES, 58) and e["speaker_audio"].shape == (2 * _FRAMES, 80)
  np.testing.assert_array_equal(examples[0]["speaker_3dmm"], flat[_file(root, "3D_FV_files", udiva[0])])
  matrix = np.load(os.path.join(root, "neighbour_emotion_new_train.npy"))
  np.testing.assert_array_equal(examples[1]["neighbours"], np.flatnonzero(matrix[1] == 1))


def _expect(error, root, tmp_path, *parts):
  with pytest.raises(error) as info:
    _build(root, tmp_path)
  for part in parts:
    assert part in str(info.value), f"{part!r} not in {str(info.value)!r}"
  return str(info.value)


def test_3dmm_of_wrong_width_names_the_npy(root, tmp_path):
  clip = _first_clip(root)
  path = _file(root, "3D_FV_files", clip)
  np.save(path, np.load(path)[:, None, :57])
  msg = _expect(raw.DataError, root, tmp_path, clip, path)
  assert re.search(r"57", msg)


def test_emotion_shorter_than_3dmm_names_both_files(root, tmp_path):
  clip = _first_clip(root)
  path = _file(root, "Emotion", clip)
  with open(path, encoding="utf-8") as f:
    lines = f.readlines()
  with open(path, "w", encoding="utf-8") as f:
    f.writelines(lines[:-5])
  _expect(raw.DataError, root, tmp_path, clip, path, _file(root, "3D_FV_files", clip))


def test_emotion_of_wrong_width_names_the_csv(root, tmp_path):
  clip = _first_clip(root)
  path = _file(root, "Emotion", clip)
  a = np.loadtxt(path, delimiter=",", skiprows=1)
  np.savetxt(path, a[:, :24], delimiter=",", header=",".join(f"c{i}" for i in range(24)), comments="")
  _expect(raw.DataError, root, tmp_path, clip, path)


def test_speaker_and_listener_lengths_that_differ_name_the_clips(root, tmp_path):
  _, first, second = _rows(root)[1]
  for modality in ("3D_FV_files", "Emotion"):
    path = _file(root, modality, second)
    if modality == "3D_FV_files":
      np.save(path, np.load(path)[:-4])
    else:
      with open(path, encoding="utf-8") as f:
        lines = f.readlines()
      with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines[:-4])
  samples, sr = soundfile.read(_file(root, "Audio_files", second), dtype="float32")
  soundfile.write(_file(root, "Audio_files", second), samples[: len(samples) - 4 * sr // 25], sr)
  _expect(raw.DataError, root, tmp_path, first, second)


def test_missing_wav_names_the_path(root, tmp_path):
  clip = _first_clip(root)
  path = _file(root, "Audio_files", clip)
  os.remove(path)
  _expect(raw.MissingFileError, root, tmp_path, clip, path)


def test_short_wav_names_the_wav(root, tmp_path):
  clip = _first_clip(root)
  path = _file(root, "Audio_files", clip)
  samples, sr = soundfile.read(path, dtype="float32")
  soundfile.write(path, samples[: len(samples) // 2], sr)
  _expect(raw.DataError, root, tmp_path, clip, path, "wav lasts")


def test_nan_in_3dmm_names_the_npy(root, tmp_path):
  clip = _first_clip(root)
  path = _file(root, "3D_FV_files", clip)
  a = np.load(path)
  a[3, 7] = np.nan
  np.save(path, a)
  _expect(raw.DataError, root, tmp_path, clip, path, "NaN")


def test_csv_without_listener_column_names_the_csv(root, tmp_path):
  rows = [[r[0], r[1]] for r in _rows(root)]
  _write_rows(root, rows)
  _expect(raw.DataError, root, tmp_path, os.path.join(root, "train.csv"), "listener_path")


def test_csv_row_pointing_at_absent_clip_names_the_file(root, tmp_path):
  rows = _rows(root)
  rows[2][2] = "RECOLA/group-9/P26/404"
  _write_rows(root, rows)
  _expect(raw.MissingFileError, root, tmp_path, "RECOLA/group-9/P26/404")


def test_neighbour_matrix_of_wrong_size_names_the_file(root, tmp_path):
  path = os.path.join(root, "neighbour_emotion_train.npy")
  np.save(path, np.eye(3))
  _expect(raw.DataError, root, tmp_path, path, "(3, 3)")


def test_examples_are_streamed_one_csv_row_at_a_time(root, monkeypatch):
  builder = react_dataset_builder.Builder(data_dir=os.path.join(root, "unused"), config="default")
  reads = []
  original = react_dataset_builder._read_person  # pylint: disable=protected-access

  def counting(data_root, clip_path, cfg):
    reads.append(clip_path)
    return original(data_root, clip_path, cfg)

  monkeypatch.setattr(react_dataset_builder, "_read_person", counting)
  pairs = raw.read_react_csv(os.path.join(root, "train.csv"))
  neighbours = [np.array([k], np.int32) for k in range(2 * len(pairs))]
  examples = builder._generate_examples(os.path.join(root, "train"), pairs, neighbours)  # pylint: disable=protected-access
  assert reads == []  # a generator: nothing is read before TFDS asks
  first = [next(examples), next(examples)]  # the row's two mirrored items
  assert reads == list(pairs[0]) and [k for k, _ in first] == [0, len(pairs)]
  next(examples)
  assert reads == list(pairs[0]) + list(pairs[1])
