"""Tests for the ViCo readers (listen_jax.data.raw.audio, vico_motion, vico_csv) through builds that must
fail on bad raw data."""
import logging
import os
import shutil

import numpy as np
import pytest
import scipy.io
import soundfile

from datasets.vico import vico_dataset_builder
from listen_jax.data import raw

from raw_builds import _build

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
_VICO_DUMMY = os.path.join(_REPO, "datasets", "vico", "dummy_data")


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _vico_copy(tmp_path, keep_splits=("train",)):
  """Copy of the ViCo dummy data with only `keep_splits` csvs; returns (dir, first train uuid)."""
  out = tmp_path / "vico_raw"
  shutil.copytree(_VICO_DUMMY, out)
  for split in ("train", "test", "ood"):
    if split not in keep_splits:
      os.remove(out / f"{split}.csv")
  with open(out / "train.csv") as f:
    uuid = f.read().splitlines()[1].split(",")[1]
  return out, uuid


def _rewrite_mat(path, coeff_fn=lambda c: c, tp_fn=lambda t: t):
  m = scipy.io.loadmat(path)
  scipy.io.savemat(path, dict(coeff=coeff_fn(m["coeff"]), transform_params=tp_fn(m["transform_params"])))


def _write_csv(path, header, rows):
  with open(path, "w") as f:
    f.write(",".join(header) + "\n")
    for r in rows:
      f.write(",".join(str(v) for v in r) + "\n")


# ---------------------------------------------------------------------------------------------------------
# ViCo builds that must fail


def test_listener_shorter_than_speaker_names_uuid(tmp_path):
  raw_dir, uuid = _vico_copy(tmp_path)
  _rewrite_mat(raw_dir / "recons" / f"{uuid}.listener.mat", lambda c: c[:-3], lambda t: t[:-3])
  with pytest.raises(raw.DataError, match=rf"clip {uuid}: frame counts disagree: speaker has 36 frames .*"
                                          rf"listener has 33 frames .*{uuid}\.listener\.mat"):
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path)


def test_wav_duration_mismatch(tmp_path):
  raw_dir, uuid = _vico_copy(tmp_path)
  wav = raw_dir / "audios" / f"{uuid}.wav"
  samples, sr = soundfile.read(wav)
  soundfile.write(wav, samples[: int(0.9 * len(samples))], sr)  # 1.08 s vs 36 frames = 1.2 s: 3.6 frames short
  with pytest.raises(raw.DataError, match=rf"clip {uuid}: .*{uuid}\.wav: wav lasts 1\.080 s .* more than 1 frame"):
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path)


def test_wav_within_one_frame_is_accepted(tmp_path):
  raw_dir, uuid = _vico_copy(tmp_path)
  wav = raw_dir / "audios" / f"{uuid}.wav"
  samples, sr = soundfile.read(wav)
  soundfile.write(wav, samples[: len(samples) - int(0.8 * sr / 30)], sr)  # 0.8 frame short
  builder = _build(vico_dataset_builder.Builder, raw_dir, tmp_path)
  assert builder.info.splits["train"].num_examples == 2


@pytest.mark.parametrize("bad, message", [
    ("nan", r"coeff has 1 NaN/inf values \(first at frame 4, dim 7\)"),
    ("inf_tp", r"transform_params has 1 NaN/inf values"),
    ("coeff_width", r"coeff has width 256, expected 257"),
    ("tp_width", r"transform_params has width 4, expected 5"),
    ("empty", r"coeff is empty \(T == 0\)"),
])
def test_bad_coefficients(tmp_path, bad, message):
  raw_dir, uuid = _vico_copy(tmp_path)
  path = raw_dir / "recons" / f"{uuid}.speaker.mat"

  def coeff_fn(c):
    c = c.copy()
    if bad == "nan":
      c[4, 7] = np.nan
    if bad == "coeff_width":
      c = c[:, :256]
    if bad == "empty":
      c = np.zeros((0, 257), np.float32)
    return c

  def tp_fn(t):
    t = t.copy()
    if bad == "inf_tp":
      t[2, 3] = np.inf
    if bad == "tp_width":
      t = t[:, :4]
    if bad == "empty":
      t = np.zeros((0, 5), np.float32)
    return t

  _rewrite_mat(path, coeff_fn, tp_fn)
  with pytest.raises(raw.DataError, match=rf"clip {uuid}: .*{uuid}\.speaker\.mat: {message}"):
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path)


def test_missing_wav(tmp_path):
  raw_dir, uuid = _vico_copy(tmp_path)
  os.remove(raw_dir / "audios" / f"{uuid}.wav")
  with pytest.raises(raw.MissingFileError, match=rf"clip {uuid}: missing wav: .*{uuid}\.wav") as info:
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path)
  assert isinstance(info.value, FileNotFoundError)


def test_unreadable_wav(tmp_path):
  raw_dir, uuid = _vico_copy(tmp_path)
  (raw_dir / "audios" / f"{uuid}.wav").write_bytes(b"this is not audio" * 10)
  with pytest.raises(raw.DataError, match=rf"clip {uuid}: .*{uuid}\.wav: unreadable wav"):
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path)


def test_csv_row_pointing_at_missing_file(tmp_path):
  raw_dir, _ = _vico_copy(tmp_path)
  with open(raw_dir / "train.csv", "a") as f:
    f.write("vidX,ghostclip0001,1,2,neutral,train\n")
  with pytest.raises(raw.MissingFileError, match=r"clip ghostclip0001: missing 3DMM reconstruction \(.mat\): "
                                                 r".*recons/ghostclip0001\.speaker\.mat"):
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path)


def test_features_config_audio_length_mismatch(tmp_path):
  raw_dir, uuid = _vico_copy(tmp_path)
  path = raw_dir / "features" / "audio_feats" / f"{uuid}.npy"
  np.save(path, np.load(path)[:30])
  with pytest.raises(raw.DataError, match=rf"clip {uuid}: frame counts disagree: .*audio has 30 frames"):
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path, config="features")


def test_features_config_wrong_audio_width(tmp_path):
  raw_dir, uuid = _vico_copy(tmp_path)
  path = raw_dir / "features" / "audio_feats" / f"{uuid}.npy"
  np.save(path, np.load(path)[:, :43])
  with pytest.raises(raw.DataError, match=rf"clip {uuid}: .*{uuid}\.npy: audio features has width 43, expected 45"):
    _build(vico_dataset_builder.Builder, raw_dir, tmp_path, config="features")


# ---------------------------------------------------------------------------------------------------------
# ViCo csvs


def test_csv_without_attitude_warns_and_uses_neutral(tmp_path, caplog):
  path = tmp_path / "train.csv"
  _write_csv(path, ["video_id", "uuid", "speaker_id", "listener_id"], [["v0", "a", 1, 2], ["v1", "b", 3, 4]])
  with caplog.at_level(logging.WARNING):
    rows = raw.read_vico_csv(path, split="train")
  assert [r.attitude for r in rows] == ["neutral", "neutral"]
  assert [(r.index, r.uuid, r.speaker_id, r.listener_id) for r in rows] == [(0, "a", 1, 2), (1, "b", 3, 4)]
  assert any("no 'attitude' column" in rec.getMessage() and str(path) in rec.getMessage() for rec in caplog.records)


def test_csv_unknown_attitude_names_uuid_and_label(tmp_path):
  path = tmp_path / "train.csv"
  _write_csv(path, ["video_id", "uuid", "speaker_id", "listener_id", "attitude"],
             [["v0", "a", 1, 2, "Positive"], ["v1", "clipb", 3, 4, "sarcastic"]])
  with pytest.raises(raw.DataError, match=r"line 3: clip clipb: unknown attitude label 'sarcastic'"):
    raw.read_vico_csv(path, split="train")


def test_csv_duplicate_uuid_across_splits(tmp_path):
  header = ["video_id", "uuid", "speaker_id", "listener_id"]
  _write_csv(tmp_path / "train.csv", header, [["v0", "a", 1, 2], ["v1", "b", 3, 4]])
  _write_csv(tmp_path / "test.csv", header, [["v2", "b", 5, 6]])
  with pytest.raises(raw.DataError, match=r"duplicate uuid b: .*train\.csv \(train\) and .*test\.csv \(test\)"):
    raw.find_vico_splits(tmp_path)


def test_csv_duplicate_uuid_within_split(tmp_path):
  _write_csv(tmp_path / "train.csv", ["video_id", "uuid", "speaker_id", "listener_id"],
             [["v0", "a", 1, 2], ["v1", "a", 3, 4]])
  with pytest.raises(raw.DataError, match=r"duplicate uuid a"):
    raw.find_vico_splits(tmp_path)


def test_single_csv_with_split_column(tmp_path):
  (tmp_path / "metadata").mkdir()
  _write_csv(tmp_path / "metadata" / "data.csv", ["video_id", "uuid", "speaker_id", "listener_id", "split"],
             [["v0", "a", 1, 2, "train"], ["v1", "b", 3, 4, "OOD"], ["v2", "c", 5, 6, "train"]])
  splits = raw.find_vico_splits(tmp_path)
  assert {s: [(r.index, r.uuid) for r in rows] for s, rows in splits.items()} == {
      "train": [(0, "a"), (1, "c")], "ood": [(0, "b")]}


def test_csv_bad_values(tmp_path):
  path = tmp_path / "train.csv"
  _write_csv(path, ["video_id", "uuid", "speaker_id"], [["v0", "a", 1]])
  with pytest.raises(raw.DataError, match=r"missing columns \['listener_id'\]"):
    raw.read_vico_csv(path, split="train")
  _write_csv(path, ["video_id", "uuid", "speaker_id", "listener_id"], [["v0", "a", 1, "x7"]])
  with pytest.raises(raw.DataError, match=r"clip a: listener_id 'x7' is not an integer"):
    raw.read_vico_csv(path, split="train")
  _write_csv(path, ["video_id", "uuid", "speaker_id", "listener_id", "split"], [["v0", "a", 1, 2, "test"]])
  with pytest.raises(raw.DataError, match=r"split column says 'test' but the file is the 'train' csv"):
    raw.read_vico_csv(path, split="train")
  with pytest.raises(raw.MissingFileError, match="no ViCo split csvs"):
    raw.find_vico_splits(tmp_path / "nowhere")
