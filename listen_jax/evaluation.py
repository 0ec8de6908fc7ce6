"""Evaluation drivers: ViCo FD tables (`W/eval/fd.json`, `fd.md`, pose-curve plot).

Evaluation is a pure function of (checkpoint, config, seed): predictions are deterministic and the baselines
draw from `np.random.default_rng(seed)` streams keyed by split and method, so reruns are bit-identical.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Iterable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from listen_jax import tasks
from listen_jax.baselines import vico as vico_baselines
from listen_jax.data import pipeline
from listen_jax.metrics import fd as fd_lib
from listen_jax.train import checkpointing

ABLATIONS = ("audio_only", "visual_only")


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    raise FileNotFoundError(f"{path} not found: is {workdir} a training workdir?")
  with open(path, encoding="utf-8") as f:
    return ml_collections.ConfigDict(json.load(f))


def load_run(workdir: str, step: int | None = None):
  """`(config, task, params, step)` of a training workdir (latest checkpoint by default)."""
  config = load_config(workdir)
  task = tasks.get_task(config)
  params, meta, step = checkpointing.restore_params(workdir, step)
  if meta.get("model_name") not in (None, config.model_name):
    raise checkpointing.CheckpointMismatchError(
        f"{workdir}: checkpoint holds {meta.get('model_name')!r}, config says {config.model_name!r}")
  params = jax.tree.map(jnp.asarray, params)
  return config, task, params, step


def _round_up(n: int, m: int) -> int:
  return -(-n // m) * m


def predict_vico(task: tasks.Task, params, source, *, batch_size: int = 16, wrong_audio: bool = False,
                 rng_seed: int = 0) -> dict[int, np.ndarray]:
  """Whole-clip listener predictions in raw units: `{position: [T, 73]}` (frame 0 = the given reference frame)."""
  stats = source.stats
  predict = jax.jit(task.predict)
  out = {}
  for batch, positions in pipeline.iterate_clips(source, data_format="vico", batch_size=batch_size,
                                                 pad_multiple=32):
    if wrong_audio:  # Audio of another clip of the split (the next one in the batch, zero-padded/cropped).
      batch = dict(batch)
      batch["audio"] = np.roll(batch["audio"], 1, axis=0)
    res = predict(params, batch, jax.random.key(rng_seed))
    pred = np.asarray(res["listener"], np.float64)
    pred = pipeline.denormalize(pred, stats, "motion")
    for row, pos in enumerate(positions):
      length = int(batch["lengths"][row])
      clip = source[pos]
      full = np.empty((length, pred.shape[-1]))
      full[0] = clip["listener"][0]
      full[1:] = pred[row, :length - 1]
      out[pos] = full
  return out


def _train_listeners(source) -> tuple[list[np.ndarray], list[int]]:
  motions, attitudes = [], []
  for pos in source.order:
    ex = source[pos]
    motions.append(np.asarray(ex["listener"], np.float64))
    attitudes.append(int(ex["attitude"]))
  return motions, attitudes


def evaluate_vico(workdir: str, *, splits: Iterable[str] = ("test", "ood"), seed: int = 0,
                  ablation_workdirs: dict[str, str] | None = None, random_sigma: float = 0.1,
                  batch_size: int = 16, plot_clips: int = 4) -> dict[str, Any]:
  """Writes `W/eval/fd.json`, `W/eval/fd.md` and `W/eval/pose_curves.png`; returns the FD dict."""
  config, task, params, step = load_run(workdir)
  if task.batch_format != "vico":
    raise ValueError(f"FD evaluation needs a ViCo model, {workdir} trained {config.model_name!r}")
  ablation_workdirs = dict(ablation_workdirs or {})
  for name in ABLATIONS:  # Auto-discover W/ablations/<name>.
    cand = os.path.join(workdir, "ablations", name)
    if name not in ablation_workdirs and os.path.exists(os.path.join(cand, "checkpoints")):
      ablation_workdirs[name] = cand
  ablation_runs = {name: load_run(path)[1:3] for name, path in ablation_workdirs.items()}
  train = pipeline.open_split(config.data_dir, config.dataset, "train")
  train_motion, train_att = _train_listeners(train)
  sigma = random_sigma * np.asarray(train.stats["motion/std"], np.float64)
  eval_dir = os.path.join(workdir, "eval")
  os.makedirs(eval_dir, exist_ok=True)
  results: dict[str, Any] = {}
  curves = None
  for split_idx, split in enumerate(splits):
    source = pipeline.open_split(config.data_dir, config.dataset, split)
    preds = {"model": predict_vico(task, params, source, batch_size=batch_size, rng_seed=seed),
             "wrong_audio": predict_vico(task, params, source, batch_size=batch_size, wrong_audio=True,
                                         rng_seed=seed)}
    for name, (abl_task, abl_params) in ablation_runs.items():
      preds[name] = predict_vico(abl_task, abl_params, source, batch_size=batch_size, rng_seed=seed)
    rngs = {m: np.random.default_rng([seed, split_idx, i]) for i, m in
            enumerate(("random", "simulation", "simulation_attitude"))}
    acc = {m: fd_lib.FDAccumulator() for m in ("random", "simulation", "simulation_attitude", "mirroring",
                                                *preds)}
    for pos in source.order:
      ex = source[pos]
      true = np.asarray(ex["listener"], np.float64)
      att = int(ex["attitude"])
      ref, length = true[0], len(true)
      acc["random"].add(vico_baselines.random_baseline(ref, length, sigma, rngs["random"]), true, att)
      acc["simulation"].add(vico_baselines.simulation_baseline(ref, length, train_motion, rngs["simulation"]),
                            true, att)
      same = [m for m, a in zip(train_motion, train_att) if a == att] or train_motion
      acc["simulation_attitude"].add(
          vico_baselines.simulation_baseline(ref, length, same, rngs["simulation_attitude"]), true, att)
      acc["mirroring"].add(vico_baselines.mirroring_baseline(ref, np.asarray(ex["speaker"], np.float64)), true, att)
      for name, p in preds.items():
        acc[name].add(p[pos], true, att)
    results[split] = {m: a.result() for m, a in acc.items()}
    if curves is None:
      curves = [(source[pos], preds["model"][pos]) for pos in source.order[:plot_clips]]
  order = ["random", "simulation", "simulation_attitude", "mirroring", *ABLATIONS, "wrong_audio", "model"]
  results = {s: {m: results[s][m] for m in order if m in results[s]} for s in results}
  with open(os.path.join(eval_dir, "fd.json"), "w", encoding="utf-8") as f:
    json.dump(results, f, indent=2, sort_keys=False)
  with open(os.path.join(eval_dir, "fd.md"), "w", encoding="utf-8") as f:
    f.write(f"# Feature distance (x100), checkpoint step {step}\n\n")
    f.write("Mean L1 of de-normalised angle / exp / trans coefficients over predicted frames (frame 0, the "
            "given reference, excluded); `average` pools all clips. Lower is better.\n\n")
    f.write(fd_lib.markdown_table(results))
  if curves:
    plot_pose_curves(curves, os.path.join(eval_dir, "pose_curves.png"))
  logging.info("wrote %s", os.path.join(eval_dir, "fd.json"))
  return results


def plot_pose_curves(curves, out_png: str) -> None:
  """Predicted vs true listener head pose (pitch, yaw, roll) for a few clips."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  fig, axes = plt.subplots(len(curves), 3, figsize=(12, 2.2 * len(curves)), squeeze=False)
  for r, (ex, pred) in enumerate(curves):
    true = np.asarray(ex["listener"])
    uuid = ex.get("uuid", "")
    uuid = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
    for c, name in enumerate(("pitch", "yaw", "roll")):
      ax = axes[r, c]
      ax.plot(true[:, c], label="true", color="k", lw=1)
      ax.plot(pred[:, c], label="model", color="tab:red", lw=1)
      ax.set_title(f"{uuid} {name}", fontsize=8)
      ax.tick_params(labelsize=7)
  axes[0, 0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(out_png, dpi=90)
  plt.close(fig)
