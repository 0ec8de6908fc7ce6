"""Tests of listen_jax.data.pipeline.source: clear errors on bad input, decoding."""
import pickle

import numpy as np
import pytest

from listen_jax.data import pipeline

from pipeline_fakes import VICO_STATS, REACT_STATS, vico_examples, react_examples, vico_source


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
