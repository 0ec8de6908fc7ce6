r"""The TFDS CLI's `build` command without TensorFlow, then norm_stats.npz for what it built.

  python -m launch.tfds_build datasets/react --manual_dir=RAW --data_dir=DATA [--config=default] \
      [any other `tfds build` flag]

`tfds build` itself does not start without TensorFlow (tensorflow-datasets 4.9.10): its entry point imports the
`convert_format` command, which evaluates `tf.train.Example` at import time (`ModuleNotFoundError: No module
named 'tensorflow'`). Its `build` command needs no TensorFlow; this runs it with the same arguments
(`--file_format` defaults to array_record, the format `listen_jax.data.pipeline` reads) and then writes
`norm_stats.npz` (train split, `listen_jax.data.stats`) into every version directory under DATA that lacks
one or is older than its data. Without `--config` every builder config is built. Prints each version
directory whose statistics it wrote.
"""
from __future__ import annotations

import glob
import os
import sys


def _stale_version_dirs(data_dir: str) -> list[str]:
  """Version dirs `data_dir/{vico,react}/{config}/{version}` with no norm_stats.npz or an older one."""
  from listen_jax.data import stats  # pylint: disable=g-import-not-at-top

  out = []
  for info in sorted(glob.glob(os.path.join(data_dir, "*", "*", "*", "dataset_info.json"))):
    version_dir = os.path.dirname(info)
    if os.path.basename(os.path.dirname(os.path.dirname(version_dir))) not in ("vico", "react"):
      continue
    npz = os.path.join(version_dir, stats.STATS_FILENAME)
    if not os.path.exists(npz) or os.path.getmtime(npz) < os.path.getmtime(info):
      out.append(version_dir)
  return out


def main(argv: list[str]) -> None:
  import simple_parsing  # pylint: disable=g-import-not-at-top
  from tensorflow_datasets.scripts.cli import build  # pylint: disable=g-import-not-at-top

  from listen_jax.data import stats  # pylint: disable=g-import-not-at-top

  if not any(a == "--file_format" or a.startswith("--file_format=") for a in argv):
    argv = [*argv, "--file_format=array_record"]
  args = simple_parsing.parse(build.Args, args=argv)
  args.execute()
  data_dir = os.path.expanduser(os.fspath(args.paths.data_dir or "~/tensorflow_datasets"))
  for version_dir in _stale_version_dirs(data_dir):
    stats.write_stats(version_dir)
    print(version_dir)


if __name__ == "__main__":
  main(sys.argv[1:])
