"""launch.sweep on a tiny config: two seeds, a few steps, short clips; the summary is well formed and resumable."""
import json
import math
import os

import pytest

from launch import sweep_runs as sweep_cli
from listen_jax import sweep


def test_mean_std_and_target_check():
  assert sweep.mean_std([1.0, 3.0]) == {"mean": 2.0, "std": math.sqrt(2.0), "values": [1.0, 3.0]}
  assert sweep.mean_std([5.0])["std"] == 0.0
  row = lambda corr, dist, div=0.1, var=0.1: {"fr_corr": corr, "fr_dist": dist, "fr_div": div, "fr_var": var,  # noqa: E731
                                               "fr_dvs": 0.0, "fr_syn": 0.0}
  seed_a = {"test": {"model": row(1.0, 10.0), "gt": row(8.0, 0.0, 0.0, 0.1), "meanseq": row(0.5, 11.0),
                     "meanfr": row(0.0, 12.0), "random": row(0.1, 20.0), "mime": row(1.2, 9.0)}}
  seed_b = json.loads(json.dumps(seed_a))
  seed_b["test"]["model"]["fr_dist"] = 11.5  # loses FRDist to MeanSeq on this seed only
  summary = sweep.summarize({40: {0: {"react": seed_a}, 1: {"react": seed_b}}})
  target = summary["sizes"]["40"]["target"]["test"]
  assert not target["pass"]
  failed = [c["name"] for c in target["checks"] if not c["pass"]]
  assert failed == ["fr_dist vs meanseq"]
  assert summary["sizes"]["40"]["react"]["test"]["model"]["fr_dist"]["values"] == [10.0, 11.5]
  seed_b["test"]["model"]["fr_dist"] = 10.5
  assert sweep.summarize({40: {0: {"react": seed_a}, 1: {"react": seed_b}}})["sizes"]["40"]["target"]["test"]["pass"]


def test_sweep_writes_a_consistent_summary_and_reuses_finished_runs(tmp_path):
  # One real run (data, build, a 2-step training, evaluation) on a tiny config; the second seed's result.json is
  # seed 0's with shifted values, so the summary over two seeds is checked without a second training.
  config = sweep_cli.load_config_file("configs/reactface.py:smoke")
  with config.unlocked():
    config.num_train_steps = 2
    config.checkpoint_every = 2
    config.eval.num_samples = 2
  out = os.fspath(tmp_path / "sweep")
  kwargs = {"synthetic_kwargs": {"min_seconds": 1.0, "max_seconds": 1.0}, "info": {"config": "smoke"}}
  sweep_cli.run_sweep(config, out, seeds=["0"], sizes=["6"], **kwargs)
  seed0_path = os.path.join(out, "n6", "seed0", "result.json")
  with open(seed0_path, encoding="utf-8") as f:
    seed0 = json.load(f)
  assert seed0["num_clips"] == 6 and seed0["seed"] == 0 and seed0["fd"] is None
  seed1 = json.loads(json.dumps(seed0))
  seed1["seed"] = 1
  for methods in seed1["react"].values():
    for row in methods.values():
      for metric in row:
        row[metric] += 1.0
  os.makedirs(os.path.join(out, "n6", "seed1"))
  with open(os.path.join(out, "n6", "seed1", "result.json"), "w", encoding="utf-8") as f:
    json.dump(seed1, f)
  mtime = os.path.getmtime(seed0_path)
  # Resume: finished runs are read back, not retrained (their workdirs may even be gone).
  summary = sweep_cli.run_sweep(config, out, seeds=["0", "1"], sizes=["6"], **kwargs)
  assert os.path.getmtime(seed0_path) == mtime
  with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
    on_disk = json.load(f)
  assert on_disk == json.loads(json.dumps(summary))
  assert on_disk["config"] == "smoke" and on_disk["metrics"] == list(sweep.METRICS)
  entry = on_disk["sizes"]["6"]
  assert entry["seeds"] == [0, 1]
  assert set(entry["react"]) == {"val", "test"}
  for split, methods in entry["react"].items():
    assert {"model", "gt", "random", "mime", "meanseq", "meanfr"} <= set(methods)
    for method, stats in methods.items():
      assert set(stats) == set(sweep.METRICS)
      for metric, stat in stats.items():
        first = seed0["react"][split][method][metric]
        assert math.isfinite(first) or metric == "fr_dvs"
        if not math.isfinite(first):
          continue
        assert stat["values"] == pytest.approx([first, first + 1.0])
        assert stat["mean"] == pytest.approx(first + 0.5)
        assert stat["std"] == pytest.approx(math.sqrt(0.5))
    target = entry["target"][split]
    assert isinstance(target["pass"], bool)
    assert {c["name"] for c in target["checks"]} >= {"fr_corr vs meanseq", "fr_dist vs meanseq", "fr_div > 0",
                                                      "fr_var >= 0.5 gt"}
  md = open(os.path.join(out, "summary.md"), encoding="utf-8").read()
  assert "## 6 clips, test" in md and "## 6 clips, val" in md and "| meanseq |" in md
  # --reevaluate: a finished run is scored again from its checkpoint under the command's eval settings (here
  # other AU rates and sample count), without retraining; a run whose checkpoints are gone says so.
  ckpt_dir = os.path.join(out, "n6", "seed0", "work", "checkpoints")
  ckpt_listing = sorted(os.listdir(ckpt_dir))
  with config.unlocked():
    config.eval.au_rate_scale = 0.5
    config.eval.num_samples = 3
  again = sweep_cli.run_sweep(config, out, seeds=["0"], sizes=["6"], reevaluate=True, **kwargs)
  with open(seed0_path, encoding="utf-8") as f:
    rescored = json.load(f)
  assert rescored["eval"]["au_rate_scale"] == 0.5 and rescored["eval"]["num_samples"] == 3
  assert sorted(os.listdir(ckpt_dir)) == ckpt_listing
  fit = json.load(open(os.path.join(out, "n6", "seed0", "work", "eval", "au_thresholds.json"), encoding="utf-8"))
  assert fit["rate_scale"] == 0.5
  assert "3 samples" in open(os.path.join(out, "n6", "seed0", "work", "eval", "react.md"), encoding="utf-8").read()
  assert again["sizes"]["6"]["react"]["test"]["model"]["fr_corr"]["values"] == [
      rescored["react"]["test"]["model"]["fr_corr"]]
  with pytest.raises(FileNotFoundError, match="seed1.*checkpoints"):
    sweep_cli.run_sweep(config, out, seeds=["1"], sizes=["6"], reevaluate=True, **kwargs)
