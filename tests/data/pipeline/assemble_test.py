"""Tests of listen_jax.data.pipeline.assemble: the reaction batch format."""
import numpy as np
import pytest

from listen_jax.data import pipeline

from pipeline_fakes import _TAGS, REACT_STATS, react_examples, vico_source, take, assert_batches_equal


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
                        "lengths", "clip_index", "attitude", "window_start", "speaker_summary_sum",
                        "speaker_summary_last"}
  assert batch["attitude"].shape == (4,) and batch["attitude"].dtype == np.int32
  assert batch["speaker_audio"].shape == (4, 12, 80)
  assert batch["neighbour_3dmm"].shape == (4, 1, 6, 73)
  np.testing.assert_array_equal(batch["neighbour_mask"], np.ones([4, 1]))
  np.testing.assert_array_equal(batch["neighbour_3dmm"][:, 0], batch["listener_3dmm"])
  # The listener is relative to the window's first frame (column 0 holds the frame number: 0, 1, ..., length - 1).
  for row, n in enumerate(batch["lengths"]):
    np.testing.assert_array_equal(batch["listener_3dmm"][row, :n, 0], np.arange(n))
    np.testing.assert_array_equal(batch["listener_3dmm"][row, :, 1:3], 0.0)  # clip index and tag cancel
    np.testing.assert_array_equal(batch["listener_3dmm"][row, n:], 0.0)
  assert np.abs(batch["speaker_3dmm"][:, :, 2]).max() == _TAGS["speaker"]  # the speaker stays absolute
  np.testing.assert_array_equal(batch["speaker_audio"][:, :, 2][batch["speaker_audio"][:, :, 2] != 0],
                                _TAGS["audio_mel"])
  no_mel = vico_source(mel=False)
  with pytest.raises(ValueError, match="audio_mel"):
    pipeline.make_train_iterator(no_mel, data_format="reaction", window=6, stride=1, global_batch_size=1, seed=0)


def test_track_group_names_each_formats_normalisation_group():
  vico = vico_source()
  react = pipeline.ClipSource(react_examples([8, 8], [[1], [0]]), REACT_STATS)
  assert pipeline.track_group(react, "reaction", "listener_3dmm") == "3dmm"
  assert pipeline.track_group(vico, "reaction", "listener_3dmm") == "motion_delta"
  assert pipeline.track_group(vico, "reaction", "speaker_3dmm") == "motion"
  assert pipeline.track_reference(vico, "reaction", "listener_3dmm") == "listener"
  assert pipeline.track_reference(vico, "reaction", "speaker_3dmm") is None
  assert pipeline.track_reference(react, "reaction", "listener_3dmm") is None
  assert pipeline.track_group(vico, "vico", "audio") == "audio"
  assert pipeline.track_group(react, "reaction", "listener_emotion") is None  # emotion stays raw
  with pytest.raises(ValueError, match="no track 'listener'"):
    pipeline.track_group(react, "reaction", "listener")


def test_reaction_windows_carry_the_speaker_summary_of_their_earlier_frames():
  """Each reaction window holds what the streaming speaker summary has after the frames before it: the model's
  `running_sums` over frames [0, start) and the last of them (the numpy twin equals the model's functions)."""
  from listen_jax.models.reactface import speaker  # pylint: disable=g-import-not-at-top
  lengths, neighbours = [9, 7], [[1], [0]]
  source = pipeline.ClipSource(react_examples(lengths, neighbours), REACT_STATS)
  clips = {int(ex["index"]): ex for ex in react_examples(lengths, neighbours)}
  batches = take(pipeline.make_train_iterator(source, data_format="reaction", window=4, stride=1,
                                              global_batch_size=1, seed=0, num_neighbours=1), 12)
  starts = set()
  for b in batches:
    ex, start = clips[int(b["clip_index"][0])], int(b["window_start"][0])
    assert start == int(b["speaker_3dmm"][0, 0, 0])  # frame number encoded in column 0
    inputs = speaker.frame_inputs(ex["speaker_audio"][None], ex["speaker_3dmm"][None], ex["speaker_emotion"][None])
    sums = speaker.running_sums(inputs, inputs[:, :1], np.zeros((1, 3 * inputs.shape[-1]), np.float32))
    expected_sum = np.zeros(3 * inputs.shape[-1]) if start == 0 else np.asarray(sums[0, start - 1])
    np.testing.assert_allclose(b["speaker_summary_sum"][0], expected_sum, rtol=1e-5, atol=1e-4)
    expected_last = np.zeros(inputs.shape[-1]) if start == 0 else np.asarray(inputs[0, start - 1])
    np.testing.assert_allclose(b["speaker_summary_last"][0], expected_last, rtol=1e-6, atol=1e-6)
    starts.add(start)
  assert 0 in starts and max(starts) >= 3
  # Whole clips (evaluation, streaming) start at frame 0 with an empty summary.
  batch, _ = next(pipeline.iterate_clips(source, data_format="reaction", batch_size=2, num_neighbours=1))
  assert batch["window_start"].tolist() == [0, 0] and not batch["speaker_summary_sum"].any()
