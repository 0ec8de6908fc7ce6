"""Tests of listen_jax.data.pipeline.clips: whole clips in index order."""
import numpy as np
import pytest

from listen_jax.data import pipeline

from pipeline_fakes import REACT_STATS, react_examples, vico_source


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
