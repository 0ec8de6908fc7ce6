r"""Seed sweep: per data size and seed, make synthetic data, build, train, evaluate; summarise over seeds.

  python -m launch.sweep --config=configs/reactface.py:quick --seeds=0,1,2 --num_clips=40,60 --out=DIR
  python -m launch.sweep --config=configs/reactface.py:quick --seeds=0,1,2 --num_clips=40 --out=DIR --trans_ae
  python -m launch.sweep --config=configs/reactface.py:quick,vico --seeds=0,1,2 --num_clips=60 --out=DIR

The data format follows the config's dataset (`react` -> REACT synthetic data; `vico/...` -> ViCo synthetic data,
evaluated with the REACT metrics on the 3DMM motion and with FD against the ViCo baselines). Each run lives in
DIR/n{clips}/seed{seed}/{raw,data,work}; its evaluation tables are copied to DIR/n{clips}/seed{seed}/result.json,
and a rerun with the same --out reuses every finished run (an interrupted training resumes from its checkpoint).
DIR/summary.json + DIR/summary.md hold, per size, split and method, the mean and std over seeds of FRCorr,
FRDist, FRDiv, FRVar, FRDvs and FRSyn, the per-seed values, and the pass/fail of the baseline-beating target (see
listen_jax.sweep). `--config.<field>=value` overrides apply to every run; the training seed is the data seed.
Runs already in DIR but not asked for (other seeds or sizes) are left out of the summary.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from launch import config_cli, logs

FLAGS = flags.FLAGS
config_cli.define_config_file("config", None, "Model config file[:variant] (reactface, with or without ,vico).",
                              lock_config=True)
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds: each one draws the synthetic data and seeds the training.")
flags.DEFINE_list("num_clips", ["40"], "Synthetic data sizes (make_synthetic --num_clips); one summary per size.")
flags.DEFINE_string("out", None, "Sweep folder (reused: finished runs are skipped).", required=True)
flags.DEFINE_bool("trans_ae", False, "Also train the Trans-AE baseline (--trans_ae_config) per run and evaluate it.")
flags.DEFINE_string("trans_ae_config", "configs/trans_ae.py:quick", "Trans-AE config file[:variant] (',vico' is "
                    "added for ViCo data).")
flags.DEFINE_integer("eval_seed", 0, "Seed of the evaluation samples and baselines.")
flags.DEFINE_float("seconds", None, "Clip duration in seconds (default: the format's, REACT 12 s, ViCo 4-10 s).")


def load_config_file(spec: str):
  """`path.py[:arg]` -> the ConfigDict its `get_config(arg)` returns."""
  path, _, arg = spec.partition(":")
  if not os.path.exists(path):
    raise FileNotFoundError(f"config file {path} not found")
  module_spec = importlib.util.spec_from_file_location(f"_sweep_config_{abs(hash(path))}", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg or None)


def data_format(config) -> str:
  """'react' or 'vico' from `config.dataset`."""
  name = str(config.dataset).split("/")[0]
  if name not in ("react", "vico"):
    raise ValueError(f"config.dataset={config.dataset!r}: the sweep makes synthetic 'react' or 'vico' data")
  return name


def run_one(config, run_dir: str, *, num_clips: int, seed: int, trans_ae_config=None, eval_seed: int = 0,
            synthetic_kwargs: dict | None = None) -> dict:
  """Data, build, training (and Trans-AE), evaluation of one (size, seed); returns and writes result.json.

  `synthetic_kwargs` go to `synthetic.make_react` / `make_vico` (e.g. min_seconds / max_seconds).
  """
  from listen_jax import evaluation, synthetic  # pylint: disable=g-import-not-at-top
  from listen_jax.train import trainer  # pylint: disable=g-import-not-at-top

  result_path = os.path.join(run_dir, "result.json")
  if os.path.exists(result_path):
    with open(result_path, encoding="utf-8") as f:
      return json.load(f)
  fmt = data_format(config)
  raw, data, work = (os.path.join(run_dir, d) for d in ("raw", "data", "work"))
  done = os.path.join(raw, ".complete")
  if not os.path.exists(done):
    (synthetic.make_vico if fmt == "vico" else synthetic.make_react)(raw, num_clips, seed, **dict(synthetic_kwargs or {}))
    open(done, "w", encoding="utf-8").close()
  # launch.build_datasets in its own process (its flags would clash with this command's --config).
  cmd = [sys.executable, "-m", "launch.build_datasets", f"--dataset={fmt}", f"--manual_dir={raw}", f"--data_dir={data}"]
  if fmt == "vico":
    cmd.append("--config=raw")
  proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  if proc.returncode:
    raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.data_dir = data
    config.seed = seed
  trainer.train_and_evaluate(config, work)
  if trans_ae_config is not None:
    ae = trans_ae_config.copy_and_resolve_references()
    with ae.unlocked():
      ae.data_dir = data
      ae.seed = seed
    trainer.train_and_evaluate(ae, os.path.join(work, "baselines", "trans_ae"))
  splits = ("test", "ood") if fmt == "vico" else ("val", "test")
  result = {"num_clips": num_clips, "seed": seed,
            "react": evaluation.evaluate_react(work, splits=splits, seed=eval_seed), "fd": None}
  if fmt == "vico":
    result["fd"] = evaluation.evaluate_react_fd(work, splits=splits, seed=eval_seed)
  with open(result_path, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2)
  return result


def run_sweep(config, out: str, *, seeds, sizes, trans_ae_config=None, eval_seed: int = 0,
              synthetic_kwargs: dict | None = None, info: dict | None = None) -> dict:
  """Every (size, seed) run (reusing finished ones), then DIR/summary.json + summary.md; returns the summary."""
  from listen_jax import sweep  # pylint: disable=g-import-not-at-top

  runs: dict[str, dict[str, dict]] = {}
  for size in sizes:
    for seed in seeds:
      run_dir = os.path.join(out, f"n{int(size)}", f"seed{int(seed)}")
      logging.info("sweep run %s", run_dir)
      runs.setdefault(str(int(size)), {})[str(int(seed))] = run_one(
          config, run_dir, num_clips=int(size), seed=int(seed), trans_ae_config=trans_ae_config,
          eval_seed=eval_seed, synthetic_kwargs=synthetic_kwargs)
      summary = sweep.summarize(runs, info=info)  # after every run, so a partial sweep has a summary too
      sweep.write_summary(out, summary)
  return summary


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  logs.quiet_library_info()
  config = FLAGS.config
  if config is None:
    raise app.UsageError("--config is required, e.g. --config=configs/reactface.py:quick")
  fmt = data_format(config)
  trans_ae = None
  if FLAGS.trans_ae:
    spec = FLAGS.trans_ae_config
    if fmt == "vico" and "vico" not in spec.partition(":")[2].split(","):
      spec = spec + (",vico" if ":" in spec else ":vico")
    trans_ae = load_config_file(spec)
  synthetic_kwargs = {}
  if FLAGS.seconds is not None:
    synthetic_kwargs = {"min_seconds": FLAGS.seconds, "max_seconds": FLAGS.seconds}
  info = {"config": config_flags.get_config_filename(FLAGS["config"]), "format": fmt,
          "overrides": [a for a in sys.argv[1:] if a.startswith("--config.")], "trans_ae": FLAGS.trans_ae}
  summary = run_sweep(config, FLAGS.out, seeds=FLAGS.seeds, sizes=FLAGS.num_clips, trans_ae_config=trans_ae,
                      eval_seed=FLAGS.eval_seed, info=info, synthetic_kwargs=synthetic_kwargs)
  for size, entry in summary["sizes"].items():
    for split, target in entry["target"].items():
      logging.info("%s clips %s: target %s", size, split, "PASS" if target["pass"] else "FAIL")
  print(os.path.join(FLAGS.out, "summary.md"))


if __name__ == "__main__":
  app.run(main, flags_parser=config_cli.parse_flags)
