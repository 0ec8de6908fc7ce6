"""Tests for listen_jax.data.raw: readers, validation, and builds that must fail on bad raw data."""
import logging
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import scipy.io
import soundfile
import tensorflow_datasets as tfds

from datasets.react import react_dataset_builder
from datasets.vico import vico_dataset_builder
from listen_jax.data import raw

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_VICO_DUMMY = os.path.join(_REPO, "datasets", "vico", "dummy_data")
_REACT_DUMMY = os.path.join(_REPO, "datasets", "react", "dummy_data")


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


def _react_copy(tmp_path):
  """Copy of the REACT dummy data with only the train split; returns (dir, first csv row paths)."""
  out = tmp_path / "react_raw"
  shutil.copytree(_REACT_DUMMY, out)
  for split in ("val", "test"):
    os.remove(out / f"{split}.csv")
  first, second = raw.read_react_csv(out / "train.csv")[0]
  return out, first, second


def _build(builder_cls, manual_dir, tmp_path, config=None):
  builder = builder_cls(data_dir=str(tmp_path / "out"), config=config, file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
  return builder


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


# ---------------------------------------------------------------------------------------------------------
# .bin feature files (torch.save pickles of numpy arrays)


def _bin_payload(num_frames=6, seed=0):
  rng = np.random.default_rng(seed)
  return {"angle.exp.trans": rng.normal(size=(num_frames, 73)).astype(np.float32),
          "id.gamma.tex": rng.normal(size=(num_frames, 187)).astype(np.float32)}


@pytest.mark.parametrize("variant", ["zip_protocol2", "zip_protocol4", "torch_legacy", "plain_pickle",
                                     "numpy1_pickle"])
def test_read_feature_bin_variants(tmp_path, variant):
  torch = pytest.importorskip("torch")
  payload = _bin_payload()
  path = tmp_path / "clip.listener.bin"
  if variant == "numpy1_pickle":  # written by numpy 1.x (the reference's era): numpy.core, not numpy._core
    data = pickle.dumps(payload, protocol=2)
    assert b"cnumpy._core.multiarray\n" in data
    path.write_bytes(data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n"))
  elif variant == "zip_protocol2":
    torch.save(payload, path)
  elif variant == "zip_protocol4":
    torch.save(payload, path, pickle_protocol=4)
  elif variant == "torch_legacy":
    torch.save(payload, path, _use_new_zipfile_serialization=False)
  else:
    with open(path, "wb") as f:
      pickle.dump(payload, f)
  assert zipfile.is_zipfile(path) == variant.startswith("zip")
  motion = raw.read_vico_feature_bin(path, "clip")
  np.testing.assert_array_equal(motion.dynamic, payload["angle.exp.trans"])
  np.testing.assert_array_equal(motion.static, payload["id.gamma.tex"])
  assert motion.dynamic.dtype == np.float32 and motion.image_size is None


def test_read_feature_bin_without_torch(tmp_path):
  torch = pytest.importorskip("torch")
  payload = _bin_payload(num_frames=4, seed=1)
  path = tmp_path / "clip.speaker.bin"
  torch.save(payload, path)
  np.save(tmp_path / "expected.npy", payload["angle.exp.trans"])
  code = (
      "import sys, numpy as np\n"
      "from listen_jax.data import raw\n"
      f"m = raw.read_vico_feature_bin({str(path)!r}, 'clip')\n"
      f"np.testing.assert_array_equal(m.dynamic, np.load({str(tmp_path / 'expected.npy')!r}))\n"
      "assert 'torch' not in sys.modules, 'torch was imported'\n"
      "print('ok', m.dynamic.shape, m.static.shape)\n")
  out = subprocess.run([sys.executable, "-c", code], cwd=_REPO, capture_output=True, text=True, timeout=120)
  assert out.returncode == 0, out.stderr
  assert "ok (4, 73) (4, 187)" in out.stdout


def test_read_feature_bin_rejects_bad_content(tmp_path):
  torch = pytest.importorskip("torch")
  path = tmp_path / "a.bin"
  torch.save({"angle.exp.trans": torch.zeros(3, 73), "id.gamma.tex": torch.zeros(3, 187)}, path)
  with pytest.raises(raw.DataError, match=r"clip c1: .*a\.bin: unreadable torch pickle .*torch"):
    raw.read_vico_feature_bin(path, "c1")
  payload = _bin_payload()
  payload["angle.exp.trans"] = payload["angle.exp.trans"][:, :72]
  torch.save(payload, path)
  with pytest.raises(raw.DataError, match=r"'angle.exp.trans' has width 72, expected 73"):
    raw.read_vico_feature_bin(path, "c1")
  payload = _bin_payload()
  payload["id.gamma.tex"] = payload["id.gamma.tex"][:-1]
  torch.save(payload, path)
  with pytest.raises(raw.DataError, match=r"'angle.exp.trans' has 6 frames but 'id.gamma.tex' has 5"):
    raw.read_vico_feature_bin(path, "c1")
  with open(path, "wb") as f:
    pickle.dump(shutil.rmtree, f)  # an arbitrary callable must never be unpickled
  with pytest.raises(raw.DataError, match="refusing to unpickle"):
    raw.read_vico_feature_bin(path, "c1")
  with pytest.raises(raw.MissingFileError, match=r"clip c1: missing torch feature file"):
    raw.read_vico_feature_bin(tmp_path / "nope.bin", "c1")


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


def test_check_frames_messages():
  with pytest.raises(raw.DataError, match=r"clip c: f\.npy: arr has shape \(3,\), expected \[T, 5\]"):
    raw.check_frames(np.zeros(3), width=5, clip="c", path="f.npy", what="arr")
  out = raw.check_frames(np.ones((2, 5), np.float64), width=5, clip="c", path="f.npy", what="arr")
  assert out.dtype == np.float32 and out.shape == (2, 5)


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
