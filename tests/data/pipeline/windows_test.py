"""Tests of listen_jax.data.pipeline on tiny in-memory fake splits (and one tiny prepared TFDS directory)."""
import json
import os
import pickle

import numpy as np
import pytest

from listen_jax.data import pipeline

# Fake frames encode where they come from: feature[t, 0] = t (frame number), feature[t, 1] = clip index,
# feature[t, 2] = a per-feature tag; the other columns are random. Rows of audio_mel / speaker_audio encode
# the audio row number r (r // 2 is the video frame).
_TAGS = {"audio": 1, "speaker": 2, "listener": 3, "audio_mel": 4, "speaker_3dmm": 5, "listener_3dmm": 6,
         "speaker_emotion": 7, "listener_emotion": 8, "speaker_audio": 9}


def _track(rng, name, index, rows, dim):
  x = rng.standard_normal((rows, dim)).astype(np.float32)
  x[:, 0] = np.arange(rows)
  x[:, 1] = index
  x[:, 2] = _TAGS[name]
  return x


def _unit_stats(groups):
  stats = {}
  for group, dim in groups.items():
    stats[f"{group}/mean"] = np.zeros([dim], np.float32)
    stats[f"{group}/std"] = np.ones([dim], np.float32)
  return stats


VICO_STATS = _unit_stats({"audio": 45, "audio_mel": 80, "motion": 73})
REACT_STATS = _unit_stats({"3dmm": 58, "emotion": 25, "speaker_audio": 80})


def vico_examples(lengths, *, mel=True, seed=0, reverse=True):
  """Fake ViCo examples with `index` = position in `lengths`, stored in reverse (hash-like) order."""
  rng = np.random.default_rng(seed)
  examples = []
  for i, t in enumerate(lengths):
    ex = {"index": np.int32(i), "uuid": f"clip{i}".encode(), "video_id": b"v", "speaker_id": np.int64(1),
          "listener_id": np.int64(2), "attitude": np.int64(i % 3), "audio": _track(rng, "audio", i, t, 45),
          "speaker": _track(rng, "speaker", i, t, 73), "listener": _track(rng, "listener", i, t, 73),
          "listener_static": np.zeros([187], np.float32), "image_size": np.array([256, 256], np.float32)}
    if mel:
      ex["audio_mel"] = _track(rng, "audio_mel", i, 2 * t, 80)
    examples.append(ex)
  return examples[::-1] if reverse else examples


def react_examples(lengths, neighbours, seed=0):
  rng = np.random.default_rng(seed)
  examples = []
  for i, (t, nb) in enumerate(zip(lengths, neighbours)):
    examples.append({
        "index": np.int32(i), "speaker_path": f"s{i}".encode(), "listener_path": f"l{i}".encode(),
        "speaker_3dmm": _track(rng, "speaker_3dmm", i, t, 58),
        "listener_3dmm": _track(rng, "listener_3dmm", i, t, 58),
        "speaker_emotion": _track(rng, "speaker_emotion", i, t, 25),
        "listener_emotion": _track(rng, "listener_emotion", i, t, 25),
        "speaker_audio": _track(rng, "speaker_audio", i, 2 * t, 80),
        "neighbours": np.asarray(nb, np.int32),
    })
  return examples[::-1]


def vico_source(lengths=(10, 6, 13, 1), **kw):
  return pipeline.ClipSource(vico_examples(lengths, **kw), VICO_STATS)


def window_keys(batch):
  """(clip_index, start) of each row, read back from the encoded frame numbers."""
  return [(int(c), int(s)) for c, s in zip(batch["clip_index"], batch["speaker"][:, 0, 0])]


def take(iterator, n):
  return [next(iterator) for _ in range(n)]


def assert_batches_equal(a, b):
  assert len(a) == len(b)
  for x, y in zip(a, b):
    assert x.keys() == y.keys()
    for k in x:
      np.testing.assert_array_equal(x[k], y[k], err_msg=k)


# --- windows ----------------------------------------------------------------------------------------------


def test_enumerate_windows_matches_hand_computation():
  # N = 10 > W = 6, min_window = 6 // 3 = 2: starts 0..8 (N - min_window + 1 = 9 windows), lengths shrink to 2.
  table = pipeline.enumerate_windows([10, 6, 1], window=6, stride=1)
  expected = [(0, s, min(6, 10 - s)) for s in range(9)] + [(1, 0, 6), (2, 0, 1)]
  assert table.tolist() == [list(r) for r in expected]
  assert [r[2] for r in expected[:9]] == [6, 6, 6, 6, 6, 5, 4, 3, 2]
  # Stride 3 and an explicit min_window: starts 0, 3, 6 (6 <= 10 - 4), lengths 6, 6, 4.
  table = pipeline.enumerate_windows([10], window=6, stride=3, min_window=4)
  assert table.tolist() == [[0, 0, 6], [0, 3, 6], [0, 6, 4]]
  # Reference numbers: W = 90 gives N - 29 windows at stride 1.
  assert len(pipeline.enumerate_windows([500], window=90)) == 500 - 29
  assert pipeline.count_windows(vico_source(), window=6, stride=1) == 9 + 1 + 12 + 1


def test_window_contents_padding_and_lengths():
  source = vico_source((10, 6, 13, 1))
  it = pipeline.make_train_iterator(source, data_format="vico", window=6, stride=1, global_batch_size=23,
                                    seed=0, num_epochs=1)
  batch = next(it)
  assert batch["audio"].shape == (23, 6, 45) and batch["audio"].dtype == np.float32
  assert batch["speaker"].shape == batch["listener"].shape == (23, 6, 73)
  assert batch["audio_mel"].shape == (23, 12, 80)
  for k in ("attitude", "lengths", "clip_index"):
    assert batch[k].shape == (23,) and batch[k].dtype == np.int32
  lengths_by_clip = {0: 10, 1: 6, 2: 13, 3: 1}
  seen = set()
  for row in range(23):
    clip, start = int(batch["clip_index"][row]), int(batch["speaker"][row, 0, 0])
    n, length = lengths_by_clip[clip], int(batch["lengths"][row])
    assert length == (min(6, n - start) if n > 6 else n)
    assert batch["attitude"][row] == clip % 3
    for key, rate in (("audio", 1), ("speaker", 1), ("listener", 1), ("audio_mel", 2)):
      x = batch[key][row]
      np.testing.assert_array_equal(x[:length * rate, 0], np.arange(start * rate, (start + length) * rate))
      np.testing.assert_array_equal(x[:length * rate, 1], clip)
      np.testing.assert_array_equal(x[:length * rate, 2], _TAGS[key])
      assert not np.any(x[length * rate:]), f"padding of {key} is not zero"
    assert batch["listener"][row, 0, 0] == start  # row 0 is the window's first (reference) frame
    seen.add((clip, start))
  assert len(seen) == 23  # one epoch = every window once


def test_zscore_with_zero_variance_dimension():
  mean = np.linspace(-1, 1, 73).astype(np.float32)
  std = np.full([73], 2.0, np.float32)
  std[5] = 0.0  # a constant dimension: only centred, never divided by zero
  stats = dict(VICO_STATS, **{"motion/mean": mean, "motion/std": std})
  source = pipeline.ClipSource(vico_examples([4], reverse=False), stats)
  batch = next(pipeline.make_train_iterator(source, data_format="vico", window=4, stride=1, global_batch_size=1,
                                            seed=0))
  raw = source[0]["speaker"]
  expected = (raw - mean) / np.where(std == 0, 1, std)
  np.testing.assert_allclose(batch["speaker"][0], expected, rtol=1e-6)
  assert np.all(np.isfinite(batch["speaker"]))
  np.testing.assert_allclose(pipeline.denormalize(pipeline.normalize(raw, stats, "motion"), stats, "motion"), raw,
                             rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match="no group 'emotion'"):
    pipeline.normalize(raw, stats, "emotion")
  with pytest.raises(ValueError, match="dimension 73"):
    pipeline.normalize(raw[:, :10], stats, "motion")


# --- shuffling, epochs, sharding, state ----------------------------------------------------------------------


def _stream(source, seed, n, **kw):
  kw = {"data_format": "vico", "window": 6, "stride": 1, "global_batch_size": 1, **kw}
  it = pipeline.make_train_iterator(source, seed=seed, **kw)
  return [k for b in take(it, n) for k in window_keys(b)]


def test_shuffle_deterministic_per_seed_and_epochs_cover_all():
  source = vico_source()
  n = pipeline.count_windows(source, window=6, stride=1)
  a, b, c = (_stream(source, seed, 3 * n) for seed in (0, 0, 1))
  assert a == b
  assert a != c
  all_windows = {(clip, int(s)) for clip, s in zip(*np.array(_stream(source, 0, n, num_epochs=1)).T)}
  assert len(all_windows) == n
  for epoch in range(3):  # each epoch visits every window exactly once, in a fresh order
    chunk = a[epoch * n:(epoch + 1) * n]
    assert sorted(chunk) == sorted(all_windows)
  assert a[:n] != a[n:2 * n]
  with pytest.raises(StopIteration):
    take(pipeline.make_train_iterator(source, data_format="vico", window=6, stride=1, global_batch_size=1,
                                      seed=0, num_epochs=1), n + 1)


def test_two_processes_get_disjoint_halves_of_the_global_batch():
  source = vico_source((10, 6, 13, 3))  # 9 + 1 + 12 + 1 = 23 windows: the stream runs across epochs
  kw = dict(data_format="vico", window=6, stride=1, global_batch_size=4, seed=3, num_epochs=2)
  single = list(pipeline.make_train_iterator(source, **kw))
  halves = [list(pipeline.make_train_iterator(source, process_index=p, process_count=2, **kw)) for p in (0, 1)]
  assert len(single) == len(halves[0]) == len(halves[1]) == 46 // 4
  for step, batch in enumerate(single):
    keys0, keys1 = window_keys(halves[0][step]), window_keys(halves[1][step])
    assert len(keys0) == len(keys1) == 2
    assert sorted(keys0 + keys1) == sorted(window_keys(batch))
  epoch = [k for step in range(5) for h in halves for k in window_keys(h[step])][:20]
  assert len(set(epoch)) == 20  # disjoint within an epoch
  first_epoch = [k for b in single for k in window_keys(b)][:23]
  assert len(set(first_epoch)) == 23
  with pytest.raises(ValueError, match="multiple of process_count"):
    pipeline.make_train_iterator(source, process_index=0, process_count=3, **kw)


def test_get_state_set_state_resumes_exactly():
  source = vico_source()
  kw = dict(data_format="vico", window=6, stride=2, global_batch_size=3, seed=7)
  it = pipeline.make_train_iterator(source, **kw)
  take(it, 5)
  state = it.get_state()
  expected = take(it, 6)  # crosses an epoch boundary (13 windows per epoch at stride 2)
  restored = pipeline.make_train_iterator(source, **kw)
  restored.set_state(json.loads(json.dumps(state)))  # the state is plain JSON-able data
  assert_batches_equal(take(restored, 6), expected)


def test_worker_processes_give_the_same_batches():
  source = vico_source()
  kw = dict(data_format="vico", window=6, stride=1, global_batch_size=2, seed=1)
  expected = take(pipeline.make_train_iterator(source, **kw), 4)
  assert_batches_equal(take(pipeline.make_train_iterator(source, worker_count=1, **kw), 4), expected)


# --- reaction format -------------------------------------------------------------------------------------


def test_reaction_format_on_react_neighbours():
  # Clip 0: neighbours 1, 2, 3 (> K = 2: a seeded subset); clip 1: none; clip 2: neighbour 4, shorter than
  # most of clip 2's windows (masked out there); clip 3: neighbour 0; clip 4: neighbours 0, 3.
  lengths = [8, 8, 8, 8, 5]
  neighbours = [[1, 2, 3], [], [4], [0], [0, 3]]
  stats = dict(REACT_STATS, **{"emotion/mean": np.full([25], 5, np.float32)})  # emotion must stay raw
  source = pipeline.ClipSource(react_examples(lengths, neighbours), stats)
  kw = dict(data_format="reaction", window=4, stride=1, global_batch_size=1, seed=0, num_neighbours=2)
  n = pipeline.count_windows(source, window=4, stride=1)
  batches = take(pipeline.make_train_iterator(source, **kw), 3 * n)
  assert_batches_equal(batches, take(pipeline.make_train_iterator(source, **kw), 3 * n))
  b0 = batches[0]
  assert b0["speaker_audio"].shape == (1, 8, 80)
  assert b0["speaker_3dmm"].shape == b0["listener_3dmm"].shape == (1, 4, 58)
  assert b0["speaker_emotion"].shape == b0["listener_emotion"].shape == (1, 4, 25)
  assert b0["neighbour_3dmm"].shape == (1, 2, 4, 58) and b0["neighbour_emotion"].shape == (1, 2, 4, 25)
  assert b0["neighbour_mask"].shape == (1, 2)
  subsets = set()
  for b in batches:
    clip, start, length = int(b["clip_index"][0]), int(b["speaker_3dmm"][0, 0, 0]), int(b["lengths"][0])
    np.testing.assert_array_equal(b["speaker_audio"][0, :2 * length, 0], np.arange(2 * start, 2 * (start + length)))
    np.testing.assert_array_equal(b["listener_emotion"][0, :length, 2], _TAGS["listener_emotion"])  # raw
    mask = b["neighbour_mask"][0]
    used = []
    for slot in range(2):
      nb = b["neighbour_3dmm"][0, slot]
      if mask[slot] == 0:
        assert not np.any(nb) and not np.any(b["neighbour_emotion"][0, slot])
        continue
      q = int(nb[0, 1])
      used.append(q)
      np.testing.assert_array_equal(nb[:length, 0], np.arange(start, start + length))
      np.testing.assert_array_equal(nb[:length, 2], _TAGS["listener_3dmm"])  # the neighbour's LISTENER track
      assert not np.any(nb[length:])
      np.testing.assert_array_equal(b["neighbour_emotion"][0, slot, :length, 1], q)
    assert set(used) <= set(neighbours[clip])
    if clip == 0:
      assert mask.tolist() == [1, 1]
      subsets.add(tuple(used))
    elif clip == 1:
      assert mask.tolist() == [0, 0]
    elif clip == 2:
      assert mask.tolist() == ([1, 0] if start + length <= 5 else [0, 0])
    elif clip == 3:
      assert mask.tolist() == [1, 0] and used == [0]
  assert len(subsets) > 1  # the subset is redrawn (deterministically) across windows and epochs


def test_reaction_format_on_vico_uses_listener_as_only_neighbour():
  source = vico_source()
  batch = next(pipeline.make_train_iterator(source, data_format="reaction", window=6, stride=1,
                                            global_batch_size=4, seed=0, num_neighbours=8))
  assert set(batch) == {"speaker_audio", "speaker_3dmm", "listener_3dmm", "neighbour_3dmm", "neighbour_mask",
                        "lengths", "clip_index"}
  assert batch["speaker_audio"].shape == (4, 12, 80)
  assert batch["neighbour_3dmm"].shape == (4, 1, 6, 73)
  np.testing.assert_array_equal(batch["neighbour_mask"], np.ones([4, 1]))
  np.testing.assert_array_equal(batch["neighbour_3dmm"][:, 0], batch["listener_3dmm"])
  np.testing.assert_array_equal(batch["speaker_audio"][:, :, 2][batch["speaker_audio"][:, :, 2] != 0],
                                _TAGS["audio_mel"])
  no_mel = vico_source(mel=False)
  with pytest.raises(ValueError, match="audio_mel"):
    pipeline.make_train_iterator(no_mel, data_format="reaction", window=6, stride=1, global_batch_size=1, seed=0)


# --- whole clips -----------------------------------------------------------------------------------------


def test_iterate_clips_in_index_order_with_lengths():
  source = vico_source((10, 6, 13, 1, 4))
  assert source.order.tolist() == [4, 3, 2, 1, 0]  # stored reversed; order sorts by `index`
  out = list(pipeline.iterate_clips(source, data_format="vico", batch_size=2, pad_multiple=4))
  assert [b["clip_index"].tolist() for b, _ in out] == [[0, 1], [2, 3], [4]]
  assert [p.tolist() for _, p in out] == [[4, 3], [2, 1], [0]]
  assert [b["lengths"].tolist() for b, _ in out] == [[10, 6], [13, 1], [4]]
  assert [b["audio"].shape[1] for b, _ in out] == [12, 16, 4]  # longest clip, rounded up to a multiple of 4
  first = out[0][0]
  np.testing.assert_array_equal(first["listener"][1, :6, 0], np.arange(6))
  assert not np.any(first["listener"][1, 6:]) and first["audio_mel"].shape == (2, 24, 80)
  padded = list(pipeline.iterate_clips(source, data_format="vico", batch_size=2, pad_to=13, pad_batch=True))
  last, positions = padded[-1]
  assert last["audio"].shape == (2, 13, 45) and positions.tolist() == [0]
  assert last["clip_index"].tolist() == [4, -1] and last["lengths"].tolist() == [4, 0]
  with pytest.raises(ValueError, match="clip index 2 has 13 frames > pad_to=12"):
    list(pipeline.iterate_clips(source, data_format="vico", batch_size=2, pad_to=12))
  react = pipeline.ClipSource(react_examples([5, 7], [[1], [0]]), REACT_STATS)
  (batch, _), = pipeline.iterate_clips(react, data_format="reaction", batch_size=2, num_neighbours=3)
  assert batch["neighbour_mask"].tolist() == [[1, 0, 0], [0, 0, 0]]  # clip 0 (7 frames) is too short for clip 1
  np.testing.assert_array_equal(batch["neighbour_3dmm"][0, 0, :5, 1], 1)


# --- errors and sources ----------------------------------------------------------------------------------


def test_bad_input_raises_clear_errors():
  source = vico_source()
  kw = dict(data_format="vico", window=6, stride=1, global_batch_size=2, seed=0)
  with pytest.raises(ValueError, match="unknown data_format 'lstm'"):
    pipeline.make_train_iterator(source, **{**kw, "data_format": "lstm"})
  with pytest.raises(ValueError, match="window must be an integer >= 2"):
    pipeline.make_train_iterator(source, **{**kw, "window": 1})
  with pytest.raises(ValueError, match="min_window"):
    pipeline.make_train_iterator(source, **{**kw, "min_window": 7})
  with pytest.raises(ValueError, match="global_batch_size=3 must be a positive multiple of process_count=2"):
    pipeline.make_train_iterator(source, **{**kw, "global_batch_size": 3, "process_count": 2})
  no_motion_stats = {k: v for k, v in VICO_STATS.items() if not k.startswith("motion")}
  with pytest.raises(ValueError, match="no group 'motion'"):
    pipeline.make_train_iterator(pipeline.ClipSource(vico_examples([5]), no_motion_stats), **kw)
  react = pipeline.ClipSource(react_examples([5], [[]]), REACT_STATS)
  with pytest.raises(ValueError, match="needs a ViCo dataset"):
    pipeline.make_train_iterator(react, **kw)
  bad = vico_examples([5, 6])
  bad[0]["listener"] = bad[0]["listener"][:-1]
  with pytest.raises(ValueError, match=r"index 1\).*time lengths disagree"):
    pipeline.count_windows(pipeline.ClipSource(bad, VICO_STATS), window=4)
  missing = pipeline.ClipSource(react_examples([5, 5], [[1], [9]]), REACT_STATS)
  with pytest.raises(ValueError, match=r"clip index 1 lists neighbours \[9\]"):
    missing.order  # pylint: disable=pointless-statement
  with pytest.raises(ValueError, match="neither a ViCo"):
    pipeline.ClipSource([{"index": 0, "x": np.zeros(3)}], {})


def test_source_decodes_text_and_pickles():
  source = vico_source()
  example = source[source.order[0]]
  assert example["uuid"] == "clip0" and isinstance(example["uuid"], str)
  assert source.position_of(2) == 1 and source.features[0] == "attitude"
  clone = pickle.loads(pickle.dumps(source))
  assert clone.lengths.tolist() == source.lengths.tolist() and clone.kind == "vico"


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
