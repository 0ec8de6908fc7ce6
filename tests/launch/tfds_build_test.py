"""launch.tfds_build: the TFDS CLI's build command without TensorFlow, plus norm_stats.npz."""
import os

import tensorflow_datasets as tfds

from launch import tfds_build
from listen_jax.data import stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_builds_react_dummy_data_as_array_record_with_stats(tmp_path, capsys):
  data_dir = tmp_path / "data"
  tfds_build.main([os.path.join(ROOT, "datasets", "react"), "--config=default",
                   f"--manual_dir={os.path.join(ROOT, 'datasets', 'react', 'dummy_data')}", f"--data_dir={data_dir}"])
  version_dir = data_dir / "react" / "default" / "1.0.0"
  assert str(version_dir) in capsys.readouterr().out.splitlines()
  builder = tfds.builder_from_directory(str(version_dir))
  assert {k: v.num_examples for k, v in builder.info.splits.items()} == {"train": 4, "val": 2, "test": 2}
  assert builder.info.file_format.value == "array_record"
  assert set(stats.load_stats(str(version_dir))) >= {"3dmm/mean", "3dmm/std", "emotion/mean"}
  assert tfds_build._stale_version_dirs(str(data_dir)) == []  # pylint: disable=protected-access
