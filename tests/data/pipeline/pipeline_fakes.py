"""Tiny in-memory fake splits shared by the pipeline tests (imported by them; not a test module)."""
import numpy as np

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


VICO_STATS = _unit_stats({"audio": 45, "audio_mel": 80, "motion": 73, "motion_delta": 73})
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
