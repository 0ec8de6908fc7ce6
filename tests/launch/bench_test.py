"""launch.bench end to end on a tiny model: every figure, the torch twin side by side, the streaming child."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMES = {"train_frames_per_s", "infer_frames_per_s", "stream_step_us", "streams_step_ms", "streams_realtime"}
TORCH_NAMES = {"torch_train_frames_per_s", "torch_infer_frames_per_s", "train_speedup_vs_torch",
               "infer_speedup_vs_torch"}


def _bench(*extra):
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  args = [sys.executable, "-m", "launch.bench", "--config=configs/vico_lstm.py:reference,smoke", "--steps=2",
          "--repeats=1", "--pair_repeats=2", "--clip_frames=24", "--num_streams=3", "--stream_frames=8", *extra]
  out = subprocess.run(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=600, check=False)
  assert out.returncode == 0, out.stderr[-3000:]
  rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
  names = [r["name"] for r in rows]
  assert len(names) == len(set(names)), names  # every figure once (the streaming child adds its own)
  return {r["name"]: r["value"] for r in rows}


def test_against_torch_prints_every_figure_and_paired_ratios():
  pytest.importorskip("torch")
  figures = _bench("--against=torch")
  assert set(figures) == NAMES | TORCH_NAMES
  assert all(v > 0 for v in figures.values()), figures
  # The ratio is a median of per-pair ratios, so it lies near the ratio of the median throughputs.
  ratio = figures["train_frames_per_s"] / figures["torch_train_frames_per_s"]
  assert 0.2 * ratio < figures["train_speedup_vs_torch"] < 5 * ratio


def test_in_process_streaming_without_sync_dispatch():
  figures = _bench("--nosync_dispatch")
  assert set(figures) == NAMES and all(v > 0 for v in figures.values())
