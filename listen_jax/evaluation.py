"""Evaluation drivers: ViCo FD tables (`W/eval/fd.json`, `fd.md`, pose-curve plot).

Evaluation is a pure function of (checkpoint, config, seed): predictions are deterministic and the baselines
draw from `np.random.default_rng(seed)` streams keyed by split and method, so reruns are bit-identical.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from listen_jax import layouts
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


def load_run(workdir: str, step: int | None = None, *, eval_config: ml_collections.ConfigDict | None = None):
  """`(config, task, params, step)` of a training workdir (latest checkpoint by default).

  `eval_config` replaces the workdir's `config.eval` (evaluation settings: re-scoring a finished training under
  other settings, e.g. `launch.sweep --reevaluate`); the model and data fields always come from the workdir.
  """
  config = load_config(workdir)
  if eval_config is not None:
    with config.unlocked():
      config.eval = ml_collections.ConfigDict(eval_config.to_dict() if hasattr(eval_config, "to_dict")
                                              else dict(eval_config))
  task = tasks.get_task(config)
  params, meta, step = checkpointing.restore_params(workdir, step)
  if meta.get("model_name") not in (None, config.model_name):
    raise checkpointing.CheckpointMismatchError(
        f"{workdir}: checkpoint holds {meta.get('model_name')!r}, config says {config.model_name!r}")
  params = jax.tree.map(jnp.asarray, params)
  return config, task, params, step


def _write_eval(workdir: str, name: str, results: dict[str, Any], markdown: str) -> str:
  """Writes `W/eval/{name}.json` (the results, indented) and `W/eval/{name}.md`; returns `W/eval`."""
  eval_dir = os.path.join(workdir, "eval")
  os.makedirs(eval_dir, exist_ok=True)
  with open(os.path.join(eval_dir, f"{name}.json"), "w", encoding="utf-8") as f:
    json.dump(results, f, indent=2)
  with open(os.path.join(eval_dir, f"{name}.md"), "w", encoding="utf-8") as f:
    f.write(markdown)
  return eval_dir


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


VICO_BASELINES = ("random", "simulation", "simulation_attitude", "mirroring")


def _vico_fd(source, train_motion: list[np.ndarray], train_att: list[int], sigma: np.ndarray, *, seed: int,
             split_idx: int, methods: Iterable[str],
             predictions: Callable[[int, np.ndarray], Iterable[tuple[str, np.ndarray]]]) -> dict[str, Any]:
  """FD on one split of the ViCo baselines and of `methods`: `{method: FDAccumulator.result()}`, baselines first.

  Random / Simulation / Simulation* draw from `np.random.default_rng([seed, split_idx, i])` streams (i: their
  position in `VICO_BASELINES`), so every evaluation draws the same baselines. `predictions(pos, true)` yields
  `(method, prediction)` pairs of clip `pos` (true listener `true`, raw units); a method may yield several.
  """
  rngs = {m: np.random.default_rng([seed, split_idx, i]) for i, m in enumerate(VICO_BASELINES[:3])}
  acc = {m: fd_lib.FDAccumulator() for m in (*VICO_BASELINES, *methods)}
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
    for name, pred in predictions(pos, true):
      acc[name].add(pred, true, att)
  return {m: a.result() for m, a in acc.items()}


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
  results: dict[str, Any] = {}
  curves = None
  for split_idx, split in enumerate(splits):
    source = pipeline.open_split(config.data_dir, config.dataset, split)
    preds = {"model": predict_vico(task, params, source, batch_size=batch_size, rng_seed=seed),
             "wrong_audio": predict_vico(task, params, source, batch_size=batch_size, wrong_audio=True,
                                         rng_seed=seed)}
    for name, (abl_task, abl_params) in ablation_runs.items():
      preds[name] = predict_vico(abl_task, abl_params, source, batch_size=batch_size, rng_seed=seed)
    results[split] = _vico_fd(source, train_motion, train_att, sigma, seed=seed, split_idx=split_idx,
                              methods=preds,
                              predictions=lambda pos, true: ((name, p[pos]) for name, p in preds.items()))
    if curves is None:
      curves = [(source[pos], preds["model"][pos]) for pos in source.order[:plot_clips]]
  order = [*VICO_BASELINES, *ABLATIONS, "wrong_audio", "model"]
  results = {s: {m: results[s][m] for m in order if m in results[s]} for s in results}
  eval_dir = _write_eval(
      workdir, "fd", results,
      f"# Feature distance (x100), checkpoint step {step}\n\n"
      "Mean L1 of de-normalised angle / exp / trans coefficients over predicted frames (frame 0, the given "
      "reference, excluded); `average` pools all clips. Lower is better.\n\n" + fd_lib.markdown_table(results))
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


# --- REACT-style evaluation of sampling models (ReactFace). ---

REACT_METHODS = ("model", "gt", "random", "mime", "meanseq", "meanfr", "trans_ae")


def sample_reactions(task: tasks.Task, params, source, *, num_samples: int, seed: int, batch_size: int = 8,
                     num_neighbours: int = 8) -> dict[str, Any]:
  """S samples per item in `index` order.

  Returns `{'motion': [N, S, T, D] raw units, 'emotion': [N, S, T, E] (when the data has emotion),
  'positions': [N], 'lengths': [N]}`; clips are padded to the longest clip (the caller crops to a common T).
  On ViCo the model generates motion relative to the listener's reference frame (`pipeline.track_reference`),
  which is added back, so every sample starts from the reference like the ViCo baselines.
  Sample s of every item uses the key `fold_in(key(seed), s)`, so results are reproducible per seed.
  """
  predict = jax.jit(task.predict)
  base = jax.random.key(seed)
  group = pipeline.track_group(source, "reaction", "listener_3dmm")  # REACT '3dmm', ViCo 'motion_delta'
  reference = pipeline.track_reference(source, "reaction", "listener_3dmm")  # ViCo: 'listener' (relative track)
  motion, emotion, positions, lengths = [], [], [], []
  max_len = max(source.lengths)
  for batch, pos in pipeline.iterate_clips(source, data_format="reaction", batch_size=batch_size,
                                           pad_to=max_len, num_neighbours=num_neighbours, pad_batch=True):
    n = len(pos)
    samples = [predict(params, batch, jax.random.fold_in(base, s)) for s in range(num_samples)]
    m = np.stack([np.asarray(x["motion"]) for x in samples], axis=1)[:n]
    m = pipeline.denormalize(m, source.stats, group)
    if reference is not None:  # relative to the clip's first frame: start from the listener's reference frame
      m = m + np.stack([np.asarray(source[int(p)][reference][0], np.float32) for p in pos])[:, None, None]
    motion.append(m)
    if "emotion" in samples[0]:
      emotion.append(np.stack([np.asarray(x["emotion"]) for x in samples], axis=1)[:n])
    positions.extend(int(p) for p in pos)
    lengths.extend(int(l) for l in batch["lengths"][:n])
  out = {"motion": np.concatenate(motion), "positions": np.asarray(positions), "lengths": np.asarray(lengths)}
  if emotion:
    out["emotion"] = np.concatenate(emotion)
  return out


AU_CALIBRATIONS = ("none", "train_rate")


AU_CALIBRATION_SPLITS = ("train", "val")


def calibrate_au_thresholds(task: tasks.Task, params, train_source, *, probe_source=None, num_samples: int = 2,
                            seed: int = 0, batch_size: int = 8, num_neighbours: int = 8,
                            rate_scale: float = 1.0) -> dict[str, Any]:
  """Per-AU 'binary' thresholds under which each AU occurs on generated faces as often as on training listeners.

  The emotion head's AU probabilities are fitted per frame, so where the model is unsure when an AU fires they
  stay under 0.5 and a fixed threshold emits almost none (an AU rate of 2-5% against the listeners' 11-12%
  measured on synthetic REACT data: a still face). The threshold of AU k is the (1 - r_k) quantile of the
  generated probabilities over the valid frames of `probe_source` (default: the training split), r_k the training
  listeners' occurrence rate. Only the training split's labels are read; a held-out probe split contributes the
  model's outputs on its speakers, never its listeners.

  Returns:
    {'thresholds': [15] floats, 'listener_rate': [15], 'rate_at_0.5': [15] (generated occurrences at 0.5)}.
  """
  au, va = layouts.REACT_EMOTION.slices["au"], layouts.REACT_EMOTION.slices["va"]
  probe_source = train_source if probe_source is None else probe_source
  samples = sample_reactions(task, params, probe_source, num_samples=num_samples, seed=seed, batch_size=batch_size,
                             num_neighbours=num_neighbours)
  if "emotion" not in samples or samples["emotion"].shape[-1] != layouts.REACT_EMOTION.dim:
    raise ValueError("calibrate_au_thresholds needs a model emitting the 25-d REACT emotion")
  # Valid frames only: [frames * samples, 25] generated on the probe split, [frames, 25] training listeners.
  generated = np.concatenate([samples["emotion"][i, :, :n].reshape(-1, layouts.REACT_EMOTION.dim)
                              for i, n in enumerate(samples["lengths"])])
  listener = np.concatenate([np.asarray(train_source[p]["listener_emotion"], np.float32) for p in train_source.order])
  probs, labels = generated[:, au], listener[:, au]
  if probs.size == 0 or labels.size == 0:
    raise ValueError("calibrate_au_thresholds: the training or probe split has no frames")
  if np.min(probs) < 0 or np.max(probs) > 1:
    raise ValueError("calibrate_au_thresholds: the model's AUs are not probabilities (set au_output='probability')")
  if not 0.0 <= rate_scale <= 1.0:
    raise ValueError(f"calibrate_au_thresholds: rate_scale={rate_scale!r}: expected a fraction in [0, 1]")
  rate = (labels > 0.5).mean(axis=0)
  thresholds = [float(np.quantile(probs[:, k], 1.0 - rate_scale * rate[k])) for k in range(probs.shape[1])]
  generated_va, listener_va = generated[:, va].mean(axis=0), listener[:, va].mean(axis=0)
  return {"thresholds": thresholds, "listener_rate": rate.tolist(), "rate_at_0.5": (probs > 0.5).mean(0).tolist(),
          "rate_scale": float(rate_scale),
          "va_offset": (listener_va - generated_va).astype(float).tolist(), "listener_va": listener_va.tolist(),
          "generated_va": generated_va.tolist()}


def calibrated_task(workdir: str, config: ml_collections.ConfigDict, task: tasks.Task, params, step: int, *,
                    batch_size: int = 8) -> tasks.Task:
  """The task to sample with: with `config.eval.au_calibration = 'train_rate'` (ReactFace, 'binary' AUs) its model
  uses per-AU thresholds from `calibrate_au_thresholds`: the training listeners' AU rates, matched on the model's
  outputs for the speakers of `config.eval.au_calibration_split` ('train' when unset; the REACT configs use
  'val', where the model meets unseen people as it does at test time), scaled by `config.eval.au_rate_scale`
  (default 1). Sampled with seed 0, so evaluation and
  generation at any seed share them; cached in `W/eval/au_thresholds.json` keyed by checkpoint step and split.
  With `config.eval.va_calibration` the model's valence/arousal also get the fitted `va_offset` (the training
  listeners' mean level minus the level generated on that split). With `config.eval.va_shrink` > 0 the running
  level of each generated clip is also pooled that fraction of the way to the training listeners' mean
  (`ReactFace.va_shrink`). Otherwise `task` unchanged."""
  eval_cfg = config.get("eval", {})
  mode = eval_cfg.get("au_calibration", "none")
  if mode not in AU_CALIBRATIONS:
    raise ValueError(f"{workdir}: eval.au_calibration={mode!r}: expected one of {AU_CALIBRATIONS}")
  split = eval_cfg.get("au_calibration_split", "train")
  if split not in AU_CALIBRATION_SPLITS:
    raise ValueError(f"{workdir}: eval.au_calibration_split={split!r}: expected one of {AU_CALIBRATION_SPLITS}")
  thresholds = mode != "none" and config.model.get("au_output") == "binary"
  rate_scale = float(eval_cfg.get("au_rate_scale", 1.0))
  if not 0.0 <= rate_scale <= 1.0:
    raise ValueError(f"{workdir}: eval.au_rate_scale={rate_scale!r}: expected a fraction in [0, 1]")
  va_level = bool(eval_cfg.get("va_calibration", False))
  va_shrink = float(eval_cfg.get("va_shrink", 0.0))
  if not 0.0 <= va_shrink <= 1.0:
    raise ValueError(f"{workdir}: eval.va_shrink={va_shrink!r}: expected a fraction in [0, 1]")
  if config.model_name != "reactface" or not (thresholds or va_level or va_shrink):
    return task
  path = os.path.join(workdir, "eval", "au_thresholds.json")
  fit = None
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      cached = json.load(f)
    if (cached.get("step") == int(step) and cached.get("split", "train") == split and "va_offset" in cached
        and cached.get("rate_scale", 1.0) == rate_scale):
      fit = cached
  if fit is None:
    train = pipeline.open_split(config.data_dir, config.dataset, "train")
    if "listener_emotion" not in train.features:
      return task  # no AU labels to calibrate against (ViCo data)
    probe_split = train if split == "train" else pipeline.open_split(config.data_dir, config.dataset, split)
    probe = config.copy_and_resolve_references()
    with probe.unlocked():
      probe.model.au_output = "probability"
      probe.model.va_offset = None
      probe.model.va_shrink = 0.0
    fit = calibrate_au_thresholds(tasks.get_task(probe), params, train, probe_source=probe_split,
                                  batch_size=batch_size, num_neighbours=config.get("num_neighbours", 8),
                                  rate_scale=rate_scale)
    fit["step"], fit["split"] = int(step), split
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
      json.dump(fit, f, indent=2)
  calibrated = config.copy_and_resolve_references()
  with calibrated.unlocked():
    if thresholds:
      calibrated.model.au_threshold = list(fit["thresholds"])
    if va_level:
      calibrated.model.va_offset = list(fit["va_offset"])
    if va_shrink:
      calibrated.model.va_shrink = va_shrink
      calibrated.model.va_population = list(fit["listener_va"])
  return tasks.get_task(calibrated)


def _neighbour_matrix(source) -> np.ndarray:
  """[N, N] 0/1 in `index` order from each item's `neighbours` feature (the listener itself on ViCo)."""
  order = list(source.order)
  row_of = {int(source[p]["index"]): r for r, p in enumerate(order)}
  a = np.zeros((len(order), len(order)), np.float64)
  for r, p in enumerate(order):
    ex = source[p]
    for j in np.asarray(ex.get("neighbours", [ex["index"]])).reshape(-1):
      if int(j) in row_of:
        a[r, row_of[int(j)]] = 1.0
  return a


def _react_arrays(source, key_listener: str, key_speaker: str, length: int) -> tuple[np.ndarray, np.ndarray]:
  lis = np.stack([np.asarray(source[p][key_listener], np.float32)[:length] for p in source.order])
  spk = np.stack([np.asarray(source[p][key_speaker], np.float32)[:length] for p in source.order])
  return lis, spk


def evaluate_react(workdir: str, *, splits: Iterable[str] | None = None, seed: int = 0,
                   batch_size: int = 8, eval_config: ml_collections.ConfigDict | None = None) -> dict[str, Any]:
  """REACT metrics of the model's samples and the naive baselines: writes `W/eval/react.json` and `react.md`.

  Metrics are computed on the 25-d emotion vector when the dataset has one (REACT), otherwise on the 3DMM
  motion (ViCo data, with FRDist over a single group). All clips are cropped to the shortest clip's length.
  `eval_config` (optional) replaces the training config's `eval` block (see `load_run`).
  """
  from listen_jax.baselines import react as react_baselines  # pylint: disable=g-import-not-at-top
  from listen_jax.metrics import react as react_metrics  # pylint: disable=g-import-not-at-top

  config, task, params, step = load_run(workdir, eval_config=eval_config)
  task = calibrated_task(workdir, config, task, params, step, batch_size=batch_size)
  eval_cfg = config.get("eval", ml_collections.ConfigDict())
  num_samples = int(eval_cfg.get("num_samples", 10))
  convention = eval_cfg.get("convention", "react2023")
  splits = list(splits or ["test"])
  train = pipeline.open_split(config.data_dir, config.dataset, "train")
  has_emotion = "listener_emotion" in train.features
  lis_key, spk_key = ("listener_emotion", "speaker_emotion") if has_emotion else ("listener", "speaker")
  if not has_emotion and "listener_3dmm" in train.features:
    lis_key, spk_key = "listener_3dmm", "speaker_3dmm"
  train_seqs = [np.asarray(train[p][k], np.float32) for p in train.order for k in (spk_key, lis_key)]
  results: dict[str, Any] = {}
  for split_idx, split in enumerate(splits):
    source = pipeline.open_split(config.data_dir, config.dataset, split)
    samples = sample_reactions(task, params, source, num_samples=num_samples, seed=seed, batch_size=batch_size,
                               num_neighbours=config.get("num_neighbours", 8))
    length = int(min(samples["lengths"]))
    pred = samples["emotion" if has_emotion else "motion"][:, :, :length]
    listener, speaker = _react_arrays(source, lis_key, spk_key, length)
    n, s = len(listener), num_samples
    rng = np.random.default_rng([seed, split_idx])
    methods = {
        "model": pred,
        "gt": react_baselines.gt(listener, s),
        "random": react_baselines.random((n, s, length, listener.shape[-1]), rng),
        "mime": react_baselines.mime(speaker, s),
        "meanseq": react_baselines.meanseq(train_seqs, n, s, T=length),
        "meanfr": react_baselines.meanfr(train_seqs, n, length, s),
    }
    trans_ae = os.path.join(workdir, "baselines", "trans_ae")
    if os.path.exists(os.path.join(trans_ae, "checkpoints")):
      _, ae_task, ae_params, _ = load_run(trans_ae)
      ae = sample_reactions(ae_task, ae_params, source, num_samples=num_samples, seed=seed, batch_size=batch_size)
      methods["trans_ae"] = ae["emotion" if has_emotion else "motion"][:, :, :length]
    neighbours = _neighbour_matrix(source)
    results[split] = {name: react_metrics.compute_all(p, listener, speaker, neighbours, convention=convention)
                      for name, p in methods.items()}
  md = [f"# REACT metrics ({convention} convention), checkpoint step {step}, {num_samples} samples\n\n",
        f"Computed on `{lis_key}`. Higher is better for FRCorr, FRDiv, FRVar, FRDvs; lower for FRDist, FRSyn.\n\n"]
  metric_names = ("fr_corr", "fr_dist", "fr_div", "fr_var", "fr_dvs", "fr_syn")
  for split, rows in results.items():
    md.append(f"## {split}\n\n| method | " + " | ".join(metric_names) + " |\n|---|" + "---|" * 6 + "\n")
    for name, vals in rows.items():
      md.append(f"| {name} | " + " | ".join(f"{vals[k]:.4f}" for k in metric_names) + " |\n")
    md.append("\n")
  _write_eval(workdir, "react", results, "".join(md))
  return results


ANCHORS = ("reference", "none")


def evaluate_react_fd(workdir: str, *, splits: Iterable[str] = ("test", "ood"), seed: int = 0,
                      random_sigma: float = 0.1, batch_size: int = 8, anchor: str = "reference",
                      eval_config: ml_collections.ConfigDict | None = None) -> dict[str, Any]:
  """ViCo FD of a sampling model (ReactFace `:vico`) against the ViCo baselines: writes `W/eval/fd.json` + `fd.md`.

  Every one of the `eval.num_samples` samples per clip is scored as a prediction of the clip (FD pools them, so
  the model's row is the mean FD over samples). The ViCo task hands every method the listener's reference frame,
  and every baseline starts from it; a speaker-conditioned sampler does not see it, so with
  `anchor='reference'` each sample is shifted by (reference - its frame 0): its motion is kept and its level is
  the listener's own. `anchor='none'` scores the samples as generated (frame 0, which FD skips, still replaced).
  The Random / Simulation / Simulation* / Mirroring rows are drawn exactly as in `evaluate_vico`.
  `eval_config` (optional) replaces the training config's `eval` block (see `load_run`).
  """
  if anchor not in ANCHORS:
    raise ValueError(f"evaluate_react_fd: anchor={anchor!r}, expected one of {ANCHORS}")
  config, task, params, step = load_run(workdir, eval_config=eval_config)
  num_samples = int(config.get("eval", ml_collections.ConfigDict()).get("num_samples", 10))
  train = pipeline.open_split(config.data_dir, config.dataset, "train")
  if "attitude" not in train.features:
    raise ValueError(f"{workdir}: FD evaluation needs ViCo data (an `attitude` feature), {config.dataset!r} has none")
  train_motion, train_att = _train_listeners(train)
  sigma = random_sigma * np.asarray(train.stats["motion/std"], np.float64)
  results: dict[str, Any] = {}
  for split_idx, split in enumerate(splits):
    source = pipeline.open_split(config.data_dir, config.dataset, split)
    samples = sample_reactions(task, params, source, num_samples=num_samples, seed=seed, batch_size=batch_size,
                               num_neighbours=config.get("num_neighbours", 1))
    row_of = {int(p): r for r, p in enumerate(samples["positions"])}

    def sampled(pos, true, samples=samples, row_of=row_of):
      for s in range(num_samples):
        pred = np.array(samples["motion"][row_of[int(pos)], s, :len(true)], np.float64)
        if anchor == "reference":
          pred += true[0] - pred[0]
        pred[0] = true[0]
        yield "model", pred

    results[split] = _vico_fd(source, train_motion, train_att, sigma, seed=seed, split_idx=split_idx,
                              methods=("model",), predictions=sampled)
  _write_eval(workdir, "fd", results,
              f"# Feature distance (x100), checkpoint step {step}, model row pooled over {num_samples} samples"
              f" (anchor: {anchor})\n\n"
              + fd_lib.markdown_table(results))
  return results


def generate_reactions(workdir: str, split: str, out: str, *, num_samples: int = 10, seed: int = 0,
                       batch_size: int = 8) -> None:
  """Writes `out/motion.npy` [N, S, T, D] (raw units), `out/emotion.npy` [N, S, T, 25] and `out/items.json`."""
  config, task, params, step = load_run(workdir)
  task = calibrated_task(workdir, config, task, params, step, batch_size=batch_size)
  source = pipeline.open_split(config.data_dir, config.dataset, split)
  samples = sample_reactions(task, params, source, num_samples=num_samples, seed=seed, batch_size=batch_size,
                             num_neighbours=config.get("num_neighbours", 8))
  os.makedirs(out, exist_ok=True)
  np.save(os.path.join(out, "motion.npy"), samples["motion"].astype(np.float32))
  if "emotion" in samples:
    np.save(os.path.join(out, "emotion.npy"), samples["emotion"].astype(np.float32))
  items = []
  for pos, length in zip(samples["positions"], samples["lengths"]):
    ex = source[int(pos)]
    item = {"index": int(ex["index"]), "frames": int(length)}
    for key in ("speaker_path", "listener_path", "uuid"):
      if key in ex:
        v = ex[key]
        item[key] = v.decode() if isinstance(v, bytes) else str(v)
    items.append(item)
  with open(os.path.join(out, "items.json"), "w", encoding="utf-8") as f:
    json.dump({"split": split, "num_samples": num_samples, "items": items}, f, indent=2)
