"""Tests for listen_jax.data.stats and the launch.build_datasets CLI."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from datasets.vico import vico_dataset_builder
from listen_jax.data import raw
from listen_jax.data import stats

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_REACT_DUMMY = os.path.join(_REPO, "datasets", "react", "dummy_data")


def _write_vico_features_layout(root, clips):
  """Minimal vico_challenge_baseline features layout; clips: (uuid, split, audio, speaker, listener)."""
  os.makedirs(root / "features" / "audio_feats")
  os.makedirs(root / "features" / "video_feats")
  by_split = {}
  for uuid, split, audio, speaker, listener in clips:
    np.save(root / "features" / "audio_feats" / f"{uuid}.npy", audio)
    for role, dynamic in (("speaker", speaker), ("listener", listener)):
      static = np.zeros((dynamic.shape[0], 187), np.float32)
      with open(root / "features" / "video_feats" / f"{uuid}.{role}.bin", "wb") as f:
        pickle.dump({"angle.exp.trans": dynamic, "id.gamma.tex": static}, f)  # plain pickle: no torch needed
    by_split.setdefault(split, []).append(f"v_{uuid},{uuid},1,2,neutral")
  for split, lines in by_split.items():
    (root / f"{split}.csv").write_text("video_id,uuid,speaker_id,listener_id,attitude\n" + "\n".join(lines) + "\n")


def _clip(rng, num_frames, offset):
  audio = rng.normal(size=(num_frames, 45)) + offset
  audio[:, 3] = -2.5  # zero variance
  speaker = (rng.normal(size=(num_frames, 73)) * 0.01 + 1e4).astype(np.float32)  # large offset, small spread
  listener = rng.normal(size=(num_frames, 73)).astype(np.float32)
  speaker[:, 10] = listener[:, 10] = 3.0  # zero variance across speaker and listener
  return audio, speaker, listener


@pytest.fixture(scope="module")
def vico_features_build(tmp_path_factory):
  tmp = tmp_path_factory.mktemp("stats_vico")
  rng = np.random.default_rng(0)
  clips = [("a", "train", *_clip(rng, 5, 0.0)), ("b", "train", *_clip(rng, 7, 1.0)),
           ("c", "test", *_clip(rng, 4, 50.0))]
  _write_vico_features_layout(tmp / "raw", clips)
  builder = vico_dataset_builder.Builder(data_dir=str(tmp / "out"), config="features", file_format="array_record")
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(tmp / "raw")))
  return builder, clips


def test_running_moments_match_numpy_with_large_offset():
  rng = np.random.default_rng(1)
  chunks = [rng.normal(size=(n, 3)) * 1e-3 + 1e6 for n in (1, 5, 17, 2)]
  m = stats.RunningMoments(3)
  for c in chunks:
    m.update(c)
  allx = np.concatenate(chunks)
  np.testing.assert_allclose(m.mean, allx.mean(0), rtol=1e-12)
  np.testing.assert_allclose(m.std(), allx.std(0, ddof=1), rtol=1e-6)
  single = stats.RunningMoments(2)
  single.update(np.array([[1.0, 2.0]]))
  np.testing.assert_array_equal(single.std(), [1.0, 1.0])  # undefined with one row: floored


def test_vico_stats_pool_speaker_listener_and_floor_constant_dims(vico_features_build):
  builder, clips = vico_features_build
  train = [c for c in clips if c[1] == "train"]
  audio = np.concatenate([c[2] for c in train]).astype(np.float32).astype(np.float64)
  motion = np.concatenate([c[3] for c in train] + [c[4] for c in train]).astype(np.float64)
  out = stats.compute_stats(builder.data_dir)
  assert set(out) == {"audio/mean", "audio/std", "motion/mean", "motion/std", "motion_delta/mean",
                      "motion_delta/std"}  # features config: no audio_mel
  for key, value in out.items():
    assert value.dtype == np.float32 and np.all(np.isfinite(value)), key
  np.testing.assert_allclose(out["audio/mean"], audio.mean(0), rtol=1e-6)
  expected_audio_std = audio.std(0, ddof=1)
  expected_audio_std[3] = 1.0
  np.testing.assert_allclose(out["audio/std"], expected_audio_std, rtol=1e-5)
  np.testing.assert_allclose(out["motion/mean"], motion.mean(0), rtol=1e-6)
  expected_motion_std = motion.std(0, ddof=1)
  assert expected_motion_std[10] == 0.0
  expected_motion_std[10] = 1.0
  np.testing.assert_allclose(out["motion/std"], expected_motion_std, rtol=1e-5)
  # motion_delta: RMS of x_t - x_0 (t >= 1) over every train clip's speaker and listener, mean 0.
  deltas = np.concatenate([np.asarray(x, np.float64)[1:] - np.asarray(x, np.float64)[:1]
                           for c in train for x in (c[3], c[4])])
  expected_delta = np.sqrt((deltas**2).mean(0))
  expected_delta[expected_delta < stats.STD_FLOOR] = 1.0
  np.testing.assert_allclose(out["motion_delta/std"], expected_delta, rtol=1e-5)
  np.testing.assert_array_equal(out["motion_delta/mean"], 0.0)
  # z-scoring with these statistics is finite everywhere, constant dims included.
  z = (motion - out["motion/mean"]) / out["motion/std"]
  assert np.all(np.isfinite(z)) and np.all(z[:, 10] == 0.0)
  # The test split has different statistics; the builder object works as input too.
  test_stats = stats.compute_stats(builder, split="test")
  np.testing.assert_allclose(test_stats["audio/mean"][0], clips[2][2][:, 0].mean(), rtol=1e-5)
  with pytest.raises(stats.StatsError, match="no split 'ood'"):
    stats.compute_stats(builder.data_dir, split="ood")


def test_write_and_load_stats_round_trip(vico_features_build):
  builder, _ = vico_features_build
  path = stats.write_stats(builder.data_dir)
  assert path == os.path.join(builder.data_dir, "norm_stats.npz")
  loaded = stats.load_stats(builder.data_dir)
  expected = stats.compute_stats(builder.data_dir)
  assert set(loaded) == set(expected)
  for key in expected:
    np.testing.assert_array_equal(loaded[key], expected[key])


def test_load_stats_missing_and_corrupt(tmp_path):
  with pytest.raises(stats.StatsNotFoundError, match=r"norm_stats\.npz: no normalisation statistics.*build_datasets"):
    stats.load_stats(tmp_path)
  assert issubclass(stats.StatsNotFoundError, FileNotFoundError)
  np.savez(tmp_path / "norm_stats.npz", **{"audio/mean": np.zeros(3), "audio/std": np.array([1.0, 0.0, 1.0])})
  with pytest.raises(stats.StatsError, match="non-positive values in audio/std"):
    stats.load_stats(tmp_path)


def test_build_cli_react(tmp_path):
  out = subprocess.run(
      [sys.executable, "-m", "launch.build_datasets", "--dataset=react", f"--manual_dir={_REACT_DUMMY}",
       f"--data_dir={tmp_path}"], cwd=_REPO, capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  version_dir = os.path.join(str(tmp_path), "react", "default", "1.0.0")
  lines = out.stdout.strip().splitlines()
  assert lines == [version_dir, "train: 4", "val: 2", "test: 2"]
  loaded = stats.load_stats(version_dir)
  assert {k: v.shape for k, v in loaded.items()} == {
      "3dmm/mean": (58,), "3dmm/std": (58,), "emotion/mean": (25,), "emotion/std": (25,),
      "speaker_audio/mean": (80,), "speaker_audio/std": (80,)}
  # Pooled over speaker_3dmm and listener_3dmm of the mirrored items: every train person's frames count twice.
  persons = [p for pair in raw.read_react_csv(os.path.join(_REACT_DUMMY, "train.csv")) for p in pair]
  fv = np.concatenate([np.load(os.path.join(_REACT_DUMMY, "train", "3D_FV_files", p + ".npy")) for p in persons])
  fv = np.concatenate([fv, fv])
  np.testing.assert_allclose(loaded["3dmm/mean"], fv.astype(np.float64).mean(0), rtol=1e-5, atol=1e-6)
  expected_std = fv.astype(np.float64).std(0, ddof=1)
  expected_std[expected_std < stats.STD_FLOOR] = 1.0
  np.testing.assert_allclose(loaded["3dmm/std"], expected_std, rtol=1e-5)


def test_build_function_vico_features_without_tensorflow(tmp_path, vico_features_build):
  from launch import build_datasets  # pylint: disable=g-import-not-at-top

  _, clips = vico_features_build
  _write_vico_features_layout(tmp_path / "raw", clips)
  version_dir, counts = build_datasets.build("vico", str(tmp_path / "raw"), str(tmp_path / "out"), "features")
  assert version_dir == os.path.join(str(tmp_path / "out"), "vico", "features", "1.0.0")
  assert counts == {"train": 2, "test": 1}
  assert set(stats.load_stats(version_dir)) == {"audio/mean", "audio/std", "motion/mean", "motion/std",
                                                "motion_delta/mean", "motion_delta/std"}
  assert "tensorflow" not in sys.modules
