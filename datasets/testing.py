"""TF-free test harness for the TFDS builders under datasets/.

`tfds.testing.DatasetBuilderTestCase` imports TensorFlow and reads through `tf.data`, so it cannot run here.
`DatasetBuilderTestCase` below keeps its class attributes (`DATASET_CLASS`, `SPLITS`,
`BUILDER_CONFIG_NAMES_TO_TEST`, `EXAMPLE_DIR`, `DL_EXTRACT_RESULT`, `SKIP_CHECKSUMS`) so a test file can switch
to the TFDS class if TensorFlow is ever installed. It builds every tested config from `EXAMPLE_DIR` (default:
`dummy_data/` next to the builder) as the manual dir into a temporary `data_dir` with
`file_format='array_record'`, then checks, through `tfds.builder_from_directory(...).as_data_source` and
`tfds.data_source`:
  * the split names and sizes (`SPLITS`),
  * every example's features against `builder.info.features` (shape with None as wildcard, dtype, ClassLabel
    range, Text as bytes),
  * unique `KEY_FEATURE` values and, when the dataset has an `index` feature, that it is 0..n-1,
  * `check_example(config_name, split, example)`, a hook for dataset-specific checks,
  * that TensorFlow was never imported.

Usage:

  from datasets import testing

  class VicoTest(testing.DatasetBuilderTestCase):
    DATASET_CLASS = vico_dataset_builder.Builder
    SPLITS = {'train': 2, 'test': 1, 'ood': 1}
    KEY_FEATURE = 'uuid'
"""
from __future__ import annotations

import inspect
import os
import shutil
import sys
import tempfile
import unittest

from absl.testing import absltest
import numpy as np
import tensorflow_datasets as tfds


class DatasetBuilderTestCase(absltest.TestCase):
  """Builds a dataset from its dummy data and checks splits, features and keys (see module docstring)."""

  DATASET_CLASS: type | None = None
  SPLITS: dict[str, int] = {}
  BUILDER_CONFIG_NAMES_TO_TEST: list[str] | None = None  # None: every config in BUILDER_CONFIGS
  EXAMPLE_DIR: str | None = None  # manual_dir; default dummy_data/ next to the builder module
  DL_EXTRACT_RESULT = None  # unused (manual data only); kept for DatasetBuilderTestCase compatibility
  SKIP_CHECKSUMS = True
  KEY_FEATURE: str | None = None  # a feature whose values must be unique within a split

  _data_dir: str
  _built: dict

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    if cls.DATASET_CLASS is None:
      raise unittest.SkipTest("DatasetBuilderTestCase base class: set DATASET_CLASS in a subclass")
    cls._data_dir = tempfile.mkdtemp(prefix=f"tfds_{cls.DATASET_CLASS.name}_")
    cls._built = {}

  @classmethod
  def tearDownClass(cls):
    if getattr(cls, "_data_dir", None):
      shutil.rmtree(cls._data_dir, ignore_errors=True)
    super().tearDownClass()

  # -- helpers usable from subclasses ----------------------------------------------------------------------

  @classmethod
  def example_dir(cls) -> str:
    if cls.EXAMPLE_DIR is not None:
      return cls.EXAMPLE_DIR
    return os.path.join(os.path.dirname(inspect.getfile(cls.DATASET_CLASS)), "dummy_data")

  @classmethod
  def config_names(cls) -> list:
    if cls.BUILDER_CONFIG_NAMES_TO_TEST is not None:
      return list(cls.BUILDER_CONFIG_NAMES_TO_TEST)
    configs = getattr(cls.DATASET_CLASS, "BUILDER_CONFIGS", None) or []
    return [c.name for c in configs] or [None]

  @classmethod
  def build(cls, config_name=None) -> tfds.core.DatasetBuilder:
    """Builds (once per test class) and returns the prepared builder of `config_name`."""
    if config_name not in cls._built:
      builder = cls.DATASET_CLASS(data_dir=cls._data_dir, config=config_name, file_format="array_record")
      builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=cls.example_dir()))
      cls._built[config_name] = builder
    return cls._built[config_name]

  @classmethod
  def examples(cls, config_name, split: str) -> list[dict]:
    """All examples of a split, read back from disk and sorted by `index` when the dataset has one."""
    source = tfds.builder_from_directory(os.fspath(cls.build(config_name).data_dir)).as_data_source(split)
    out = [source[i] for i in range(len(source))]
    if out and "index" in out[0]:
      out.sort(key=lambda e: int(e["index"]))
    return out

  def check_example(self, config_name, split: str, example: dict) -> None:
    """Dataset-specific checks of one example; override in subclasses."""

  # -- tests ------------------------------------------------------------------------------------------------

  def test_info(self):
    cls = self.DATASET_CLASS
    self.assertTrue(cls.VERSION, "builder has no VERSION")
    self.assertIn(str(cls.VERSION), getattr(cls, "RELEASE_NOTES", {}), "VERSION missing from RELEASE_NOTES")
    self.assertTrue(getattr(cls, "MANUAL_DOWNLOAD_INSTRUCTIONS", None), "no MANUAL_DOWNLOAD_INSTRUCTIONS")
    for config_name in self.config_names():
      info = cls(data_dir=self._data_dir, config=config_name, file_format="array_record").info
      self.assertTrue(info.description, f"{config_name}: empty description (README.md)")
      self.assertTrue(info.citation, f"{config_name}: empty citation (CITATIONS.bib)")

  def test_download_and_prepare_as_dataset(self):
    for config_name in self.config_names():
      with self.subTest(config=config_name):
        builder = self.build(config_name)
        self.assertEqual({k: v.num_examples for k, v in builder.info.splits.items()}, dict(self.SPLITS))
        features = builder.info.features
        for split, count in self.SPLITS.items():
          examples = self.examples(config_name, split)
          self.assertLen(examples, count, f"{config_name}/{split}")
          name = builder.name if config_name is None else f"{builder.name}/{config_name}"
          self.assertLen(tfds.data_source(name, split=split, data_dir=self._data_dir), count)
          for example in examples:
            self._check_features(features, example, f"{config_name}/{split}")
            self.check_example(config_name, split, example)
          if self.KEY_FEATURE is not None:
            keys = [e[self.KEY_FEATURE] for e in examples]
            self.assertLen(set(keys), len(keys), f"{config_name}/{split}: duplicate {self.KEY_FEATURE}")
          if "index" in features:
            self.assertEqual([int(e["index"]) for e in examples], list(range(count)))
    self.assertNotIn("tensorflow", sys.modules, "the build imported TensorFlow")

  def _check_features(self, features, example: dict, where: str) -> None:
    self.assertEqual(set(example), set(features.keys()), where)
    for key, feature in features.items():
      value = example[key]
      what = f"{where}: feature {key!r}"
      if isinstance(feature, tfds.features.Text):
        self.assertIsInstance(value, bytes, what)
        continue
      if isinstance(feature, tfds.features.ClassLabel):
        self.assertIsInstance(value, (int, np.integer), what)
        self.assertBetween(int(value), 0, feature.num_classes - 1, what)
        continue
      array = np.asarray(value)
      expected = np.dtype(feature.np_dtype)
      if array.ndim == 0 and isinstance(value, int):  # scalars come back as Python ints
        self.assertEqual(expected.kind, "i", what)
        info = np.iinfo(expected)
        self.assertBetween(value, info.min, info.max, what)
      else:
        self.assertEqual(array.dtype, expected, what)
      shape = tuple(feature.shape)
      self.assertEqual(array.ndim, len(shape), f"{what}: shape {array.shape}, expected {shape}")
      for got, want in zip(array.shape, shape):
        if want is not None:
          self.assertEqual(got, want, f"{what}: shape {array.shape}, expected {shape}")
      if array.dtype.kind == "f":
        self.assertTrue(np.all(np.isfinite(array)), f"{what}: NaN/inf values")


def main(make_dummy_data, dummy_dir: str) -> None:
  """`__main__` of a builder test: `--regenerate_dummy_data` rewrites `dummy_dir`, otherwise runs the tests."""
  if "--regenerate_dummy_data" in sys.argv:
    make_dummy_data(dummy_dir)
    print(f"wrote {dummy_dir}")
  else:
    absltest.main()
