"""Builds past TFDS's in-memory buffer without TensorFlow: spilled examples equal the in-memory build."""
import os

import numpy as np
import tensorflow_datasets as tfds

from datasets.react import react_dataset_builder
from listen_jax.data import tfds_spill

_DUMMY = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "datasets", "react", "dummy_data")


def _build(data_dir):
  builder = react_dataset_builder.Builder(data_dir=str(data_dir), config="default", file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=_DUMMY))
  out = {}
  for split in builder.info.splits:
    source = builder.as_data_source(split)
    out[split] = [source[i] for i in range(len(source))]  # in stored (key-hash) order
  return out


def test_spilled_build_equals_in_memory_build(tmp_path, monkeypatch):
  assert not tfds_spill.tensorflow_available()  # TFDS's own spill files would need TensorFlow
  in_memory = _build(tmp_path / "mem")
  monkeypatch.setattr(tfds_spill, "DEFAULT_BUFFER_BYTES", 1)  # every example goes to a spill file
  spilled = _build(tmp_path / "spill")
  assert {k: len(v) for k, v in spilled.items()} == {k: len(v) for k, v in in_memory.items()}
  for split, examples in in_memory.items():
    for a, b in zip(examples, spilled[split]):
      assert a["index"] == b["index"]  # same stored order
      for key in a:
        np.testing.assert_array_equal(a[key], b[key])
  assert not [f for f in os.listdir(tmp_path / "spill") if f.endswith(".tmp")]


def test_patch_is_undone_after_the_block():
  from tensorflow_datasets.core import shuffle  # pylint: disable=g-import-not-at-top

  before = shuffle._Bucket, shuffle.MAX_MEM_BUFFER_SIZE  # pylint: disable=protected-access
  with tfds_spill.local_spill_files(123):
    assert shuffle.MAX_MEM_BUFFER_SIZE == 123 and shuffle._Bucket is not before[0]  # pylint: disable=protected-access
  assert (shuffle._Bucket, shuffle.MAX_MEM_BUFFER_SIZE) == before  # pylint: disable=protected-access
