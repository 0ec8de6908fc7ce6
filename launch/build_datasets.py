r"""Builds a prepared TFDS dataset (array_record, no TensorFlow) and its normalisation statistics.

  python -m launch.build_datasets --dataset=vico --manual_dir=RAW --data_dir=OUT [--config=raw|features]
  python -m launch.build_datasets --dataset=react --manual_dir=RAW --data_dir=OUT

RAW is the raw layout (see datasets/{vico,react}/README.md, or `python -m launch.make_synthetic`). The
prepared data land in OUT/{dataset}/{config}/1.0.0/ together with norm_stats.npz (train split statistics, see
listen_jax.data.stats). Prints (on stdout, TFDS progress going to stderr) the version directory, then one
`split: count` line per split.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys

from absl import app
from absl import flags

_DATASET = flags.DEFINE_enum("dataset", None, ["vico", "react"], "Dataset to build.")
_MANUAL_DIR = flags.DEFINE_string("manual_dir", None, "Directory holding the raw layout.")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data_dir to build into.")
_CONFIG = flags.DEFINE_string("config", None, "Builder config (vico: raw (default) | features; react: default).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Rebuild even if the version directory already exists.")
_STATS_SPLIT = flags.DEFINE_string("stats_split", "train", "Split the normalisation statistics are computed on.")


def builder_class(dataset: str):
  """The `Builder` class of `datasets/{dataset}/{dataset}_dataset_builder.py`."""
  module = importlib.import_module(f"datasets.{dataset}.{dataset}_dataset_builder")
  return module.Builder


def build(dataset: str, manual_dir: str, data_dir: str, config: str | None = None, *, overwrite: bool = False,
          stats_split: str = "train") -> tuple[str, dict[str, int]]:
  """Builds `dataset` from `manual_dir` into `data_dir` and writes norm_stats.npz.

  Args:
    dataset: 'vico' or 'react'.
    manual_dir: the raw layout.
    data_dir: TFDS data_dir.
    config: builder config name; None for the builder's default.
    overwrite: regenerate even if the prepared version directory exists.
    stats_split: split summarised into norm_stats.npz.

  Returns:
    (version directory, {split: number of examples}).
  """
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  from listen_jax.data import stats  # pylint: disable=g-import-not-at-top

  if not os.path.isdir(manual_dir):
    raise FileNotFoundError(f"--manual_dir {manual_dir}: not a directory")
  cls = builder_class(dataset)
  builder = cls(data_dir=data_dir, config=config, file_format="array_record")
  modes = tfds.download.GenerateMode
  mode = modes.FORCE_REDOWNLOAD if overwrite else modes.REUSE_DATASET_IF_EXISTS
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=manual_dir, download_mode=mode))
  version_dir = os.fspath(builder.data_dir)
  stats.write_stats(version_dir, split=stats_split)
  counts = {name: int(info.num_examples) for name, info in builder.info.splits.items()}
  return version_dir, counts


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  # TFDS prints progress to stdout: send it to stderr so stdout holds only the result lines.
  with contextlib.redirect_stdout(sys.stderr):
    version_dir, counts = build(_DATASET.value, _MANUAL_DIR.value, _DATA_DIR.value, _CONFIG.value,
                                overwrite=_OVERWRITE.value, stats_split=_STATS_SPLIT.value)
  print(version_dir)
  for split, n in counts.items():
    print(f"{split}: {n}")


if __name__ == "__main__":
  flags.mark_flags_as_required(["dataset", "manual_dir", "data_dir"])
  app.run(main)
