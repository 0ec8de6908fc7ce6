"""Tests of the ViCo TFDS builder on its dummy data (TF-free harness, both configs).

Regenerate the dummy data (needs torch for the .bin files):
  python -m datasets.vico.vico_dataset_builder_test --regenerate_dummy_data
"""
import os
import shutil

import numpy as np
import scipy.io

from datasets import testing
from datasets.vico import vico_dataset_builder
from listen_jax import layouts

_DUMMY_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dummy_data")
_FPS = 30


def make_dummy_data(out_dir: str, num_clips: int = 4, seconds: float = 1.2, seed: int = 0) -> None:
  """Writes synthetic clips in the raw layout plus the matching vico_challenge_baseline features layout."""
  import torch  # pylint: disable=g-import-not-at-top

  from listen_jax import audio, synthetic  # pylint: disable=g-import-not-at-top

  shutil.rmtree(out_dir, ignore_errors=True)
  rows = synthetic.make_vico(out_dir, num_clips=num_clips, seed=seed, min_seconds=seconds, max_seconds=seconds,
                             short_fraction=0.0)
  os.makedirs(os.path.join(out_dir, "features", "audio_feats"))
  os.makedirs(os.path.join(out_dir, "features", "video_feats"))
  for split_rows in rows.values():
    for row in split_rows:
      uuid, num_frames = row["uuid"], row["num_frames"]
      samples, sr = audio.load_wav(os.path.join(out_dir, "audios", f"{uuid}.wav"))
      feats = audio.vico_features(samples, sr, _FPS, num_frames).astype(np.float64)  # the reference stores f64
      np.save(os.path.join(out_dir, "features", "audio_feats", f"{uuid}.npy"), feats)
      for role in ("speaker", "listener"):
        mat = scipy.io.loadmat(os.path.join(out_dir, "recons", f"{uuid}.{role}.mat"))
        dynamic, static = layouts.bfm_to_vico(mat["coeff"], mat["transform_params"])
        # Speaker files use torch's default pickle protocol (2, as the reference's files), listener files
        # protocol 4 (smaller): the reader must handle both.
        torch.save({"angle.exp.trans": dynamic.astype(np.float32), "id.gamma.tex": static.astype(np.float32)},
                   os.path.join(out_dir, "features", "video_feats", f"{uuid}.{role}.bin"),
                   pickle_protocol=2 if role == "speaker" else 4)


class VicoTest(testing.DatasetBuilderTestCase):
  DATASET_CLASS = vico_dataset_builder.Builder
  SPLITS = {"train": 2, "test": 1, "ood": 1}
  BUILDER_CONFIG_NAMES_TO_TEST = ["raw", "features"]
  KEY_FEATURE = "uuid"

  def check_example(self, config_name, split, example):
    num_frames = example["speaker"].shape[0]
    self.assertEqual(num_frames, 36)  # 1.2 s at 30 fps
    self.assertEqual(example["listener"].shape, (num_frames, 73))
    self.assertEqual(example["audio"].shape, (num_frames, 45))
    if config_name == "raw":
      self.assertEqual(example["audio_mel"].shape, (2 * num_frames, 80))
    else:
      self.assertNotIn("audio_mel", example)
    np.testing.assert_array_equal(example["image_size"], [256.0, 256.0])
    # Speaker and listener are different people with moving faces.
    self.assertGreater(np.abs(example["speaker"] - example["listener"]).max(), 1e-3)
    self.assertGreater(example["listener"].std(axis=0).max(), 1e-4)

  def test_examples_match_raw_files(self):
    for example in self.examples("raw", "train"):
      uuid = example["uuid"].decode()
      mat = scipy.io.loadmat(os.path.join(_DUMMY_DIR, "recons", f"{uuid}.listener.mat"))
      dynamic, static = layouts.bfm_to_vico(mat["coeff"], mat["transform_params"])
      np.testing.assert_array_equal(example["listener"], dynamic)
      np.testing.assert_array_equal(example["listener_static"], static[0])
      np.testing.assert_array_equal(example["image_size"], mat["transform_params"][0, :2])

  def test_csv_fields_and_order(self):
    with open(os.path.join(_DUMMY_DIR, "train.csv")) as f:
      lines = [line.strip().split(",") for line in f if line.strip()]
    header, body = lines[0], lines[1:]
    for config_name in ("raw", "features"):
      examples = self.examples(config_name, "train")
      for example, line in zip(examples, body, strict=True):
        row = dict(zip(header, line))
        self.assertEqual(example["uuid"].decode(), row["uuid"])
        self.assertEqual(example["video_id"].decode(), row["video_id"])
        self.assertEqual(example["speaker_id"], int(row["speaker_id"]))
        self.assertEqual(example["listener_id"], int(row["listener_id"]))
        self.assertEqual(example["attitude"], ["positive", "neutral", "negative"].index(row["attitude"]))

  def test_raw_and_features_configs_agree(self):
    for split in self.SPLITS:
      for a, b in zip(self.examples("raw", split), self.examples("features", split), strict=True):
        self.assertEqual(a["uuid"], b["uuid"])
        for key in ("speaker", "listener", "listener_static", "audio", "image_size"):
          np.testing.assert_array_equal(a[key], b[key], err_msg=key)


if __name__ == "__main__":
  testing.main(make_dummy_data, _DUMMY_DIR)
