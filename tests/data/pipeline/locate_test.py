"""Tests of listen_jax.data.pipeline.locate: prepared dataset directories."""
import os
import pickle

import numpy as np
import pytest

from listen_jax.data import pipeline

from pipeline_fakes import VICO_STATS, vico_examples


def _write_version(path, *, info=True):
  os.makedirs(path, exist_ok=True)
  if info:
    with open(os.path.join(path, "dataset_info.json"), "w") as f:
      f.write("{}")


def test_resolve_version_dir(tmp_path):
  root = str(tmp_path)
  for v in ("1.9.0", "1.10.0"):
    _write_version(os.path.join(root, "vico", "raw", v))
  _write_version(os.path.join(root, "vico", "raw", "2.0.0"), info=False)  # incomplete: ignored
  _write_version(os.path.join(root, "vico", "features", "1.0.0"))
  _write_version(os.path.join(root, "react", "default", "1.0.0"))
  latest = os.path.join(root, "vico", "raw", "1.10.0")
  assert pipeline.resolve_version_dir(root, "vico/raw") == latest
  assert pipeline.resolve_version_dir(root, "vico") == latest  # default config
  assert pipeline.resolve_version_dir(root, "vico/features:1.0.0").endswith(os.path.join("features", "1.0.0"))
  assert pipeline.resolve_version_dir(root, "react") == os.path.join(root, "react", "default", "1.0.0")
  assert pipeline.resolve_version_dir(latest, "anything") == latest
  with pytest.raises(FileNotFoundError, match=r"no .*/vico/ood/<version>/dataset_info.json"):
    pipeline.resolve_version_dir(root, "vico/ood")
  with pytest.raises(FileNotFoundError, match="no prepared dataset 'other'"):
    pipeline.resolve_version_dir(root, "other")


def test_open_split_from_prepared_directory(tmp_path):
  tfds = pytest.importorskip("tensorflow_datasets")
  examples = vico_examples([7, 5, 9])

  class Toyvico(tfds.core.GeneratorBasedBuilder):
    """A two-clip-feature ViCo-shaped builder (features config subset)."""
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
      f = tfds.features
      return tfds.core.DatasetInfo(builder=self, features=f.FeaturesDict({
          "index": np.int32, "uuid": f.Text(),
          "attitude": f.ClassLabel(names=["positive", "neutral", "negative"]),
          "audio": f.Tensor(shape=(None, 45), dtype=np.float32),
          "speaker": f.Tensor(shape=(None, 73), dtype=np.float32),
          "listener": f.Tensor(shape=(None, 73), dtype=np.float32)}))

    def _split_generators(self, dl_manager):
      return {"train": self._generate_examples()}

    def _generate_examples(self):
      for ex in examples:
        yield int(ex["index"]), {k: ex[k] for k in ("index", "uuid", "attitude", "audio", "speaker", "listener")}

  builder = Toyvico(data_dir=str(tmp_path), file_format="array_record")
  builder.download_and_prepare()
  version_dir = os.path.join(str(tmp_path), "toyvico", "1.0.0")
  np.savez(os.path.join(version_dir, "norm_stats.npz"), **{k: v for k, v in VICO_STATS.items()
                                                            if not k.startswith("audio_mel")})
  source = pipeline.open_split(str(tmp_path), "toyvico", "train")
  assert len(source) == 3 and source.kind == "vico"
  assert sorted(source.lengths.tolist()) == [5, 7, 9]
  assert [source[p]["uuid"] for p in source.order] == ["clip0", "clip1", "clip2"]
  np.testing.assert_array_equal(source[source.position_of(1)]["speaker"], examples[1]["speaker"])
  clone = pickle.loads(pickle.dumps(source))
  batch = next(pipeline.make_train_iterator(clone, data_format="vico", window=4, stride=1, global_batch_size=2,
                                            seed=0))
  assert batch["speaker"].shape == (2, 4, 73) and "audio_mel" not in batch
  with pytest.raises(ValueError, match="no split 'ood'"):
    pipeline.open_split(version_dir, "toyvico", "ood")
  os.remove(os.path.join(version_dir, "norm_stats.npz"))
  with pytest.raises(FileNotFoundError, match="norm_stats.npz"):
    pipeline.open_split(version_dir, "toyvico", "train")
