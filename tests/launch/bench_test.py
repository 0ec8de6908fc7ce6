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
ROOFLINE_NAMES = {"train_gflop_per_frame", "gemm_peak_gflops", "train_gemm_fraction", "torch_train_gemm_fraction",
                  "train_roofline_speedup_vs_torch"}


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
  assert set(figures) == NAMES | TORCH_NAMES | ROOFLINE_NAMES
  assert all(v > 0 for v in figures.values()), figures
  # The ratio is a median of per-pair ratios, so it lies near the ratio of the median throughputs.
  ratio = figures["train_frames_per_s"] / figures["torch_train_frames_per_s"]
  assert 0.2 * ratio < figures["train_speedup_vs_torch"] < 5 * ratio
  # The smoke model (fusion 32, hidden 16, window 30): 2 * (forward + backward multiply-adds) per frame.
  lstm = 32 * 64 + 3 * 16 * 64  # layer 0 input + recurrent, layer 1 input + recurrent (4 gates of 16)
  mac = 118 * 32 + lstm + 16 * 73 + (73 * 73 + 73 * 64) / 30
  grad = 118 * 32 + 2 * (lstm + 16 * 73) + (73 * 73 + 2 * 73 * 64) / 30
  assert figures["train_gflop_per_frame"] == pytest.approx(2 * (mac + grad) / 1e9)
  # Nothing runs its matmuls faster than the measured GEMM peak; the roofline is the torch fraction's inverse.
  assert 0 < figures["train_gemm_fraction"] < 1 and 0 < figures["torch_train_gemm_fraction"] < 1
  assert figures["train_roofline_speedup_vs_torch"] == pytest.approx(1 / figures["torch_train_gemm_fraction"])
  assert figures["train_gemm_fraction"] == pytest.approx(
      figures["train_frames_per_s"] * figures["train_gflop_per_frame"] / figures["gemm_peak_gflops"])


def test_in_process_streaming_without_sync_dispatch():
  figures = _bench("--nosync_dispatch")
  assert set(figures) == NAMES and all(v > 0 for v in figures.values())
