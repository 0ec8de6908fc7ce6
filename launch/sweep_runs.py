"""Library side of launch.sweep (no absl flags, so tests and other entry points can import it)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

from absl import logging

from launch import logs


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
            synthetic_kwargs: dict | None = None, reevaluate: bool = False) -> dict:
  """Data, build, training (and Trans-AE), evaluation of one (size, seed); returns and writes result.json.

  `synthetic_kwargs` go to `synthetic.make_react` / `make_vico` (e.g. min_seconds / max_seconds). Evaluation
  always uses `config.eval`. A finished run (result.json present) is read back, or with `reevaluate` evaluated
  again from its checkpoint under `config.eval` (no retraining) and its result.json rewritten.
  """
  from listen_jax import synthetic  # pylint: disable=g-import-not-at-top
  from listen_jax.train import trainer  # pylint: disable=g-import-not-at-top

  result_path = os.path.join(run_dir, "result.json")
  fmt = data_format(config)
  raw, data, work = (os.path.join(run_dir, d) for d in ("raw", "data", "work"))
  if os.path.exists(result_path):
    if not reevaluate:
      with open(result_path, encoding="utf-8") as f:
        return json.load(f)
    if not os.path.isdir(os.path.join(work, "checkpoints")):
      raise FileNotFoundError(f"{run_dir}: --reevaluate needs the run's checkpoints in {work}/checkpoints; "
                              "they are gone (delete result.json to train again)")
    return _evaluate(config, work, result_path, fmt=fmt, num_clips=num_clips, seed=seed, eval_seed=eval_seed)
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
  return _evaluate(config, work, result_path, fmt=fmt, num_clips=num_clips, seed=seed, eval_seed=eval_seed)


def _evaluate(config, work: str, result_path: str, *, fmt: str, num_clips: int, seed: int, eval_seed: int) -> dict:
  """REACT metrics (and FD on ViCo data) of the run in `work` under `config.eval`; writes result.json."""
  from listen_jax import evaluation  # pylint: disable=g-import-not-at-top

  splits = ("test", "ood") if fmt == "vico" else ("val", "test")
  eval_config = config.get("eval")
  result = {"num_clips": num_clips, "seed": seed, "eval": eval_config.to_dict() if eval_config else {},
            "react": evaluation.evaluate_react(work, splits=splits, seed=eval_seed, eval_config=eval_config),
            "fd": None}
  if fmt == "vico":
    result["fd"] = evaluation.evaluate_react_fd(work, splits=splits, seed=eval_seed, eval_config=eval_config)
  with open(result_path, "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2)
  return result


def run_sweep(config, out: str, *, seeds, sizes, trans_ae_config=None, eval_seed: int = 0,
              synthetic_kwargs: dict | None = None, info: dict | None = None, reevaluate: bool = False) -> dict:
  """Every (size, seed) run (reusing finished ones; with `reevaluate` evaluating them again under `config.eval`),
  then DIR/summary.json + summary.md; returns the summary."""
  from listen_jax import sweep  # pylint: disable=g-import-not-at-top

  runs: dict[str, dict[str, dict]] = {}
  for size in sizes:
    for seed in seeds:
      run_dir = os.path.join(out, f"n{int(size)}", f"seed{int(seed)}")
      logging.info("sweep run %s", run_dir)
      runs.setdefault(str(int(size)), {})[str(int(seed))] = run_one(
          config, run_dir, num_clips=int(size), seed=int(seed), trans_ae_config=trans_ae_config,
          eval_seed=eval_seed, synthetic_kwargs=synthetic_kwargs, reevaluate=reevaluate)
      summary = sweep.summarize(runs, info=info)  # after every run, so a partial sweep has a summary too
      sweep.write_summary(out, summary)
  return summary


