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
  config = sweep_cli.load_config_file("configs/reactface.py:smoke")
  with config.unlocked():
    config.num_train_steps = 4
    config.checkpoint_every = 4
    config.eval.num_samples = 2
  out = os.fspath(tmp_path / "sweep")
  summary = sweep_cli.run_sweep(config, out, seeds=["0", "1"], sizes=["6"],
                                synthetic_kwargs={"min_seconds": 1.5, "max_seconds": 1.5}, info={"config": "smoke"})
  with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
    on_disk = json.load(f)
  assert on_disk == json.loads(json.dumps(summary))
  entry = on_disk["sizes"]["6"]
  assert entry["seeds"] == [0, 1]
  assert set(entry["react"]) == {"val", "test"}
  for split, methods in entry["react"].items():
    assert {"model", "gt", "random", "mime", "meanseq", "meanfr"} <= set(methods)
    with open(os.path.join(out, "n6", "seed1", "result.json"), encoding="utf-8") as f:
      seed1 = json.load(f)["react"][split]
    for method, stats in methods.items():
      assert set(stats) == set(sweep.METRICS)
      for metric, stat in stats.items():
        vals = stat["values"]
        assert len(vals) == 2 and vals[1] == pytest.approx(seed1[method][metric])
        assert stat["mean"] == pytest.approx(sum(vals) / 2)
        assert stat["std"] == pytest.approx(abs(vals[0] - vals[1]) / math.sqrt(2))
    assert isinstance(entry["target"][split]["pass"], bool)
  md = open(os.path.join(out, "summary.md"), encoding="utf-8").read()
  assert "## 6 clips, test" in md and "| meanseq |" in md
  # Resume: finished runs are read back, not retrained (their workdirs may even be gone).
  mtime = os.path.getmtime(os.path.join(out, "n6", "seed0", "result.json"))
  again = sweep_cli.run_sweep(config, out, seeds=["0", "1"], sizes=["6"],
                              synthetic_kwargs={"min_seconds": 1.5, "max_seconds": 1.5}, info={"config": "smoke"})
  assert json.loads(json.dumps(again)) == on_disk
  assert os.path.getmtime(os.path.join(out, "n6", "seed0", "result.json")) == mtime
