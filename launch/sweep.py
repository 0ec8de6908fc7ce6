r"""Seed sweep: per data size and seed, make synthetic data, build, train, evaluate; summarise over seeds.

  python -m launch.sweep --config=configs/reactface.py:quick --seeds=0,1,2 --num_clips=40,60 --out=DIR
  python -m launch.sweep --config=configs/reactface.py:quick --seeds=0,1,2 --num_clips=40 --out=DIR --trans_ae
  python -m launch.sweep --config=configs/reactface.py:quick,vico --seeds=0,1,2 --num_clips=60 --out=DIR

The data format follows the config's dataset (`react` -> REACT synthetic data; `vico/...` -> ViCo synthetic data,
evaluated with the REACT metrics on the 3DMM motion and with FD against the ViCo baselines). Each run lives in
DIR/n{clips}/seed{seed}/{raw,data,work}; its evaluation tables are copied to DIR/n{clips}/seed{seed}/result.json,
and a rerun with the same --out reuses every finished run (an interrupted training resumes from its checkpoint);
with --reevaluate the finished runs are evaluated again under this command's `eval` settings (no retraining):

  python -m launch.sweep --config=configs/reactface.py:quick --seeds=0,1,2 --num_clips=40 --out=DIR \
      --reevaluate --config.eval.au_rate_scale=0.8

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
flags.DEFINE_bool("reevaluate", False, "Evaluate finished runs again from their checkpoints under this command's "
                  "config.eval (e.g. --config.eval.au_rate_scale=0.8), rewriting their result.json; no retraining.")
flags.DEFINE_float("seconds", None, "Clip duration in seconds (default: the format's, REACT 12 s, ViCo 4-10 s).")


from launch.sweep_runs import data_format, load_config_file, run_one, run_sweep  # noqa: E402,F401


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
                      eval_seed=FLAGS.eval_seed, info=info, synthetic_kwargs=synthetic_kwargs,
                      reevaluate=FLAGS.reevaluate)
  for size, entry in summary["sizes"].items():
    for split, target in entry["target"].items():
      logging.info("%s clips %s: target %s", size, split, "PASS" if target["pass"] else "FAIL")
  print(os.path.join(FLAGS.out, "summary.md"))


if __name__ == "__main__":
  app.run(main, flags_parser=config_cli.parse_flags)
