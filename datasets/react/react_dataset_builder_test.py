"""Tests of the REACT TFDS builder on its dummy data (TF-free harness).

Regenerate the dummy data:
  python -m datasets.react.react_dataset_builder_test --regenerate_dummy_data
"""
import os
import shutil
import tempfile

import numpy as np
import tensorflow_datasets as tfds

from datasets import testing
from datasets.react import react_dataset_builder

_DUMMY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dummy_data")
_ROWS = {"train": 2, "val": 1, "test": 1}
_FRAMES = 30  # 1.2 s at 25 fps


def make_dummy_data(out_dir: str, seconds: float = 1.2, seed: int = 0) -> None:
  """Writes synthetic dyadic clips in the REACT 2023 layout (2 train, 1 val, 1 test csv rows)."""
  from listen_jax import synthetic  # pylint: disable=g-import-not-at-top

  shutil.rmtree(out_dir, ignore_errors=True)
  synthetic.make_react(out_dir, num_clips=sum(_ROWS.values()), seed=seed, min_seconds=seconds,
                       max_seconds=seconds, num_styles=2, split_ratios=tuple(_ROWS.values()))


class ReactTest(testing.DatasetBuilderTestCase):
  DATASET_CLASS = react_dataset_builder.Builder
  SPLITS = {split: 2 * rows for split, rows in _ROWS.items()}
  BUILDER_CONFIG_NAMES_TO_TEST = ["default"]
  KEY_FEATURE = "index"

  def check_example(self, config_name, split, example):
    num_frames = example["speaker_3dmm"].shape[0]
    self.assertEqual(num_frames, _FRAMES)
    for key, width in (("listener_3dmm", 58), ("speaker_emotion", 25), ("listener_emotion", 25)):
      self.assertEqual(example[key].shape, (num_frames, width), key)
    self.assertEqual(example["speaker_audio"].shape, (2 * num_frames, 80))
    neighbours = example["neighbours"]
    self.assertGreater(neighbours.size, 0)
    self.assertTrue(np.all((neighbours >= 0) & (neighbours < self.SPLITS[split])))
    np.testing.assert_array_equal(neighbours, np.unique(neighbours))

  def test_mirrored_order(self):
    for split, rows in _ROWS.items():
      examples = self.examples("default", split)
      for k in range(rows):
        a, b = examples[k], examples[k + rows]
        self.assertEqual(a["speaker_path"], b["listener_path"])
        self.assertEqual(a["listener_path"], b["speaker_path"])
        self.assertIn(b"Expert_video", a["speaker_path"])  # column 1 speaks first
        for x, y in (("speaker_3dmm", "listener_3dmm"), ("speaker_emotion", "listener_emotion")):
          np.testing.assert_array_equal(a[x], b[y])
          np.testing.assert_array_equal(a[y], b[x])
        self.assertGreater(np.abs(a["speaker_audio"] - b["speaker_audio"]).max(), 0.1)

  def test_matches_raw_files(self):
    example = self.examples("default", "train")[1]
    path = example["listener_path"].decode()
    np.testing.assert_array_equal(
        example["listener_3dmm"], np.load(os.path.join(_DUMMY_DIR, "train", "3D_FV_files", path + ".npy")))
    emotion = np.loadtxt(os.path.join(_DUMMY_DIR, "train", "Emotion", path + ".csv"), delimiter=",", skiprows=1)
    np.testing.assert_allclose(example["listener_emotion"], emotion, rtol=1e-6)

  def test_neighbours_match_matrix(self):
    for split in _ROWS:
      matrix = np.load(os.path.join(_DUMMY_DIR, f"neighbour_emotion_{split}.npy"))
      for example in self.examples("default", split):
        np.testing.assert_array_equal(example["neighbours"], np.flatnonzero(matrix[example["index"]] == 1))

  def test_flat_layout_and_max_frames(self):
    # Flat ReactFace layout: the train split's modality folders sit directly in the manual dir.
    with tempfile.TemporaryDirectory() as tmp:
      raw_dir = os.path.join(tmp, "raw")
      shutil.copytree(os.path.join(_DUMMY_DIR, "train"), raw_dir)
      for name in ("train.csv", "neighbour_emotion_train.npy"):
        shutil.copy(os.path.join(_DUMMY_DIR, name), raw_dir)
      config = react_dataset_builder.ReactConfig(name="flat_cut", max_frames=20)
      builder = react_dataset_builder.Builder(data_dir=os.path.join(tmp, "out"), config=config,
                                              file_format="array_record")
      builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=raw_dir))
      self.assertEqual(list(builder.info.splits), ["train"])
      source = builder.as_data_source("train")
      flat = sorted((source[i] for i in range(len(source))), key=lambda e: e["index"])
    full = self.examples("default", "train")
    self.assertLen(flat, len(full))
    for a, b in zip(flat, full):
      self.assertEqual(a["speaker_3dmm"].shape, (20, 58))
      self.assertEqual(a["speaker_audio"].shape, (40, 80))
      np.testing.assert_array_equal(a["speaker_3dmm"], b["speaker_3dmm"][:20])
      np.testing.assert_array_equal(a["listener_emotion"], b["listener_emotion"][:20])
      np.testing.assert_array_equal(a["neighbours"], b["neighbours"])


if __name__ == "__main__":
  testing.main(make_dummy_data, _DUMMY_DIR)
