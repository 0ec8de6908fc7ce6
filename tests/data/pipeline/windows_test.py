"""Tests of listen_jax.data.pipeline.windows: training windows, shuffling, epochs, sharding, state."""
import json

import numpy as np
import pytest

from listen_jax.data import pipeline

from pipeline_fakes import _TAGS, vico_source, window_keys, take, assert_batches_equal


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
