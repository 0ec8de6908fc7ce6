r"""Benchmarks the training input pipeline (windows per second out of `make_train_iterator`).

  python -m launch.bench_input --data_dir=$DATA_DIR --dataset=vico/raw --batch_size=16 --window=90 --steps=200
  python -m launch.bench_input --dataset=react --data_format=reaction --window=64   # in-memory fake REACT

Without --data_dir it builds an in-memory fake split of realistic size (ViCo: clips of 150-600 frames with
audio, audio_mel, speaker and listener; REACT: 751-frame clips with 3DMM, emotion, log-mel and neighbours).
Prints JSON lines {"name": ..., "value": ..., "unit": ...}.
"""
import functools
import time

from absl import app
from absl import flags
import numpy as np

from launch import timing
from listen_jax.data import pipeline

_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data dir (or version dir); none: in-memory fake data.")
_DATASET = flags.DEFINE_string("dataset", "vico/raw", "'vico/raw', 'vico/features' or 'react'.")
_SPLIT = flags.DEFINE_string("split", "train", "Split to read.")
_DATA_FORMAT = flags.DEFINE_string("data_format", None, "'vico' or 'reaction' (default: by dataset).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Global batch size.")
_WINDOW = flags.DEFINE_integer("window", 90, "Window length in frames.")
_STRIDE = flags.DEFINE_integer("stride", 1, "Window stride.")
_STEPS = flags.DEFINE_integer("steps", 200, "Batches to time (after one warm-up batch).")
_WORKERS = flags.DEFINE_integer("worker_count", 0, "grain worker processes.")
_NEIGHBOURS = flags.DEFINE_integer("num_neighbours", 8, "Neighbour slots (REACT reaction format).")
_FAKE_CLIPS = flags.DEFINE_integer("fake_clips", 0, "Clips in the fake split (0: 200 ViCo / 160 REACT).")
_SEED = flags.DEFINE_integer("seed", 0, "Shuffle seed.")


def _unit_stats(groups: dict[str, int]) -> dict[str, np.ndarray]:
  stats = {}
  for group, dim in groups.items():
    stats[f"{group}/mean"] = np.zeros([dim], np.float32)
    stats[f"{group}/std"] = np.ones([dim], np.float32)
  return stats


def fake_source(dataset: str, num_clips: int, seed: int = 0) -> pipeline.ClipSource:
  """An in-memory split shaped like the prepared ViCo ('vico...') or REACT ('react') dataset."""
  rng = np.random.default_rng(seed)
  examples = []
  if dataset.startswith("react"):
    num_clips = num_clips or 160
    for i in range(num_clips):
      t = 751
      examples.append({
          "index": np.int32(i), "speaker_path": f"spk/{i}", "listener_path": f"lst/{i}",
          "speaker_3dmm": rng.standard_normal((t, 58), np.float32),
          "listener_3dmm": rng.standard_normal((t, 58), np.float32),
          "speaker_emotion": rng.random((t, 25), np.float32),
          "listener_emotion": rng.random((t, 25), np.float32),
          "speaker_audio": rng.standard_normal((2 * t, 80), np.float32),
          "neighbours": rng.choice(num_clips, int(rng.integers(1, 20)), replace=False).astype(np.int32),
      })
    stats = _unit_stats({"3dmm": 58, "emotion": 25, "speaker_audio": 80})
  else:
    num_clips = num_clips or 200
    for i in range(num_clips):
      t = int(rng.integers(150, 601))
      examples.append({
          "index": np.int32(i), "uuid": f"clip{i}", "video_id": f"video{i // 4}", "speaker_id": np.int64(i % 7),
          "listener_id": np.int64(i % 5), "attitude": np.int64(i % 3),
          "audio": rng.standard_normal((t, 45), np.float32),
          "audio_mel": rng.standard_normal((2 * t, 80), np.float32),
          "speaker": rng.standard_normal((t, 73), np.float32),
          "listener": rng.standard_normal((t, 73), np.float32),
          "listener_static": rng.standard_normal((187,), np.float32),
          "image_size": np.array([224, 224], np.float32),
      })
    stats = _unit_stats({"audio": 45, "audio_mel": 80, "motion": 73})
  return pipeline.ClipSource(examples, stats, name=f"fake {dataset}")


_emit = functools.partial(timing.emit, digits=3)


def main(argv):
  del argv
  dataset = _DATASET.value
  data_format = _DATA_FORMAT.value or ("reaction" if dataset.startswith("react") else "vico")
  t0 = time.perf_counter()
  if _DATA_DIR.value:
    source = pipeline.open_split(_DATA_DIR.value, dataset, _SPLIT.value)
  else:
    source = fake_source(dataset, _FAKE_CLIPS.value, _SEED.value)
  num_windows = pipeline.count_windows(source, window=_WINDOW.value, stride=_STRIDE.value)  # metadata pass
  _emit("open_and_scan_s", time.perf_counter() - t0, "s")
  _emit("clips", len(source), "clips")
  _emit("windows_per_epoch", num_windows, "windows")
  iterator = pipeline.make_train_iterator(
      source, data_format=data_format, window=_WINDOW.value, stride=_STRIDE.value,
      global_batch_size=_BATCH_SIZE.value, seed=_SEED.value, num_neighbours=_NEIGHBOURS.value,
      worker_count=_WORKERS.value)
  t0 = time.perf_counter()
  next(iterator)
  _emit("first_batch_s", time.perf_counter() - t0, "s")
  t0, cpu0 = time.perf_counter(), time.process_time()
  for _ in range(_STEPS.value):
    batch = next(iterator)
  elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
  rows = _STEPS.value * len(batch["lengths"])
  _emit("windows_per_s", rows / elapsed, "windows/s")
  _emit("batches_per_s", _STEPS.value / elapsed, "batches/s")
  # CPU seconds of this process (all its threads; not grain worker processes): robust on a shared machine.
  _emit("windows_per_cpu_s", rows / max(cpu, 1e-9), "windows/cpu-s")
  _emit("mb_per_s", sum(v.nbytes for v in batch.values()) * _STEPS.value / elapsed / 1e6, "MB/s")


if __name__ == "__main__":
  app.run(main)
