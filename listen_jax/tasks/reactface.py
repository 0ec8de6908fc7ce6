"""ReactFace task for the shared trainer (batch format 'reaction').

Config fields read (all optional except `model_name = 'reactface'`):

  config.model (dict / ConfigDict): `ReactFace` keyword arguments (feature_dim, num_heads, ffn_dim, period, window,
    momentum, latent_dim, slopes, dropout, max_len, speaker_layers, speaker_context, speaker_summary,
    summary_from_clip_start (the batch's `window_start` / `speaker_summary_*` are passed when set), audio_context,
    vae_layers, vae_num_heads, vae_ffn_dim, decoder_latent_layers, include_current_frame, emotion_from,
    readout_context, au_output, au_threshold, va_offset, va_shrink, va_population, num_attitudes (the batch's
    `attitude` is passed when > 0), motion_dim, emotion_dim, audio_dim). `predict` and the eval loss run the
    model at inference, so they see the AUs as `au_output` emits them.
    motion_dim / emotion_dim / audio_dim may be left unset (None): they are read from the batch shapes
    (`speaker_3dmm` [B, W, D], `speaker_emotion` [B, W, E] (absent -> 0), `speaker_audio` [B, 2W, F]); when set
    they must match the data.
  config.loss:
    stage (2): 1 = reconstruction against the real listener + KL + smoothness + speaker auxiliary (paper stage 1);
      2 = appropriate reconstruction (min over valid neighbours) + KL + smoothness + diversity + speaker auxiliary.
    kl (1e-4): KL weight (reference README 1e-5, script default 2e-4).
    div (100.0): diversity weight (reference 100), used in stage 2 with num_samples >= 2.
    div_scale (100.0): RBF kernel scale sigma_d (reference 100; the batch is z-scored, so one unit is one std).
    smooth (10.0): second-order smoothness weight (reference 10).
    smooth_expression (0.1): expression share inside the smoothness term (reference 0.1).
    speaker (1.0): speaker-3DMM reconstruction weight (reference 1).
    pose (10.0): pose weight inside the reconstruction cost (reference 10).
    emotion (1.0): emotion weight inside the reconstruction cost (REACT only).
    readout (10.0): weight of fitting the emotion readout head on the real listener's (3DMM, emotion) pairs
      (masked SmoothL1; REACT only; 0 disables).
    energy (0.0): weight of `motion_energy`: the per-dim temporal std of every sample (3DMM, and emotion when
      present) should match the real listener's within the crop (counters the flat conditional-mean reactions).
    level_pool (0.0): stage 2: how far each neighbour's level (3DMM and emotion mean over the crop) is moved
      toward the level shared by the item's neighbours before the min (`rf_losses.pool_levels`; 1 = fully), so the
      model learns the appropriate reactions' common level instead of memorising each training listener's own.
    level_target ('neighbours'): the level pooled toward: 'neighbours' (the item's neighbours' mean) |
      'population' (the mean over every neighbour in the batch, the training listeners' level).
    num_samples (2): samples per step in stage 2 (the speaker is encoded once; every sample gets the reconstruction,
      KL and smoothness terms, and all pairs get the diversity term). Stage 1 uses one sample.

Every term is masked by `lengths` (and `neighbour_mask`); see `listen_jax.losses.reactface`.
"""
from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp

from listen_jax import tasks
from listen_jax.losses import reactface as rf_losses
from listen_jax.models.reactface import EmotionReadout, ReactFace

LOSS_DEFAULTS = {"stage": 2, "kl": 1e-4, "div": 100.0, "div_scale": 100.0, "smooth": 10.0,
                 "smooth_expression": 0.1, "speaker": 1.0, "pose": 10.0, "emotion": 1.0, "num_samples": 2,
                 "readout": 10.0, "energy": 0.0, "level_pool": 0.0,
                 "level_target": "neighbours"}


def loss_settings(config) -> dict[str, Any]:
  """`LOSS_DEFAULTS` overridden by `config.loss` (unknown keys raise)."""
  out = tasks.loss_settings(config, LOSS_DEFAULTS)
  if out["stage"] not in (1, 2):
    raise ValueError(f"config.loss.stage={out['stage']!r}: expected 1 or 2")
  if out["level_target"] not in rf_losses.LEVEL_TARGETS:
    raise ValueError(f"config.loss.level_target={out['level_target']!r}: expected one of {rf_losses.LEVEL_TARGETS}")
  if not 0.0 <= float(out["level_pool"]) <= 1.0:
    raise ValueError(f"config.loss.level_pool={out['level_pool']!r}: expected a fraction in [0, 1]")
  return out


def model_for_batch(model: ReactFace, batch: Mapping[str, Any]) -> ReactFace:
  """Fills motion_dim / emotion_dim / audio_dim from the batch shapes (checks them when already set)."""
  dims = {"motion_dim": batch["speaker_3dmm"].shape[-1],
          "emotion_dim": batch["speaker_emotion"].shape[-1] if "speaker_emotion" in batch else 0,
          "audio_dim": batch["speaker_audio"].shape[-1]}
  for name, value in dims.items():
    configured = getattr(model, name)
    if configured is not None and configured != value:
      raise ValueError(f"config.model.{name}={configured} but the batch has {value}")
  return model.clone(**dims)


def _inputs(batch):
  return batch["speaker_audio"], batch["speaker_3dmm"], batch.get("speaker_emotion")


def _summary_prefix(m: ReactFace, batch) -> dict[str, Any]:
  """{'summary_prefix': ...} when the model has the speaker summary and the batch says where its windows start
  (the 'reaction' pipeline does): a training window then sees the summary streaming sees at its frames."""
  if not (m.speaker_summary and m.summary_from_clip_start) or "window_start" not in batch:
    return {}
  return {"summary_prefix": {"sum": batch["speaker_summary_sum"], "last": batch["speaker_summary_last"],
                             "count": batch["window_start"]}}


def _extras(m: ReactFace, batch) -> dict[str, Any]:
  """The model's keyword inputs besides the speaker tracks: attitude and summary prefix, where they apply."""
  return {**_attitude(m, batch), **_summary_prefix(m, batch)}


def _attitude(m: ReactFace, batch) -> dict[str, Any]:
  """{'attitude': batch['attitude']} when the model reads the listener's attitude (num_attitudes > 0)."""
  if not m.num_attitudes:
    return {}
  if "attitude" not in batch:
    raise ValueError(f"config.model.num_attitudes={m.num_attitudes} but the batch has no 'attitude' (ViCo data only)")
  return {"attitude": batch["attitude"]}


def make_task(config) -> tasks.Task:
  """ReactFace `Task` (see the module docstring for the config fields)."""
  model_kwargs = tasks.as_dict(config.get("model", None))
  if isinstance(model_kwargs.get("au_threshold"), (list, tuple)):  # per-AU thresholds (JSON lists): hashable
    model_kwargs["au_threshold"] = tuple(float(v) for v in model_kwargs["au_threshold"])
  for key in ("va_offset", "va_population"):  # JSON lists: hashable module fields
    if model_kwargs.get(key) is not None:
      model_kwargs[key] = tuple(float(v) for v in model_kwargs[key])
  model = ReactFace(**model_kwargs)
  settings = loss_settings(config)

  def init(rng, batch):
    m = model_for_batch(model, batch)
    params_rng, sample_rng = jax.random.split(rng)
    return m.init({"params": params_rng, "sample": sample_rng}, *_inputs(batch), **_extras(m, batch),
                  deterministic=True)

  def loss(params, batch, rng, train):
    m = model_for_batch(model, batch)
    lengths = batch["lengths"]
    stage = settings["stage"]
    num_samples = max(1, int(settings["num_samples"])) if stage == 2 else 1
    dropout_rng, sample_rng = jax.random.split(rng)
    out = m.apply({"params": params}, *_inputs(batch), **_extras(m, batch), num_samples=num_samples,
                  deterministic=not train,
                  rngs={"sample": sample_rng, "dropout": dropout_rng})
    motion, emotion = out["motion"], out.get("emotion")  # [S, B, T, ...]
    has_emotion = emotion is not None
    if stage == 1:
      def rec_fn(pred, pred_emo):
        return rf_losses.listener_reconstruction(
            pred, batch["listener_3dmm"], lengths, pred_emotion=pred_emo,
            target_emotion=batch.get("listener_emotion") if has_emotion else None, pose_weight=settings["pose"],
            emotion_weight=settings["emotion"])
    else:
      def rec_fn(pred, pred_emo):
        value, parts = rf_losses.appropriate_reconstruction(
            pred, batch["neighbour_3dmm"], batch["neighbour_mask"], lengths, pred_emotion=pred_emo,
            neighbour_emotion=batch.get("neighbour_emotion") if has_emotion else None,
            pose_weight=settings["pose"], emotion_weight=settings["emotion"], level_pool=settings["level_pool"],
            level_target=settings["level_target"])
        parts.pop("best")
        return value, parts
    rec, parts = jax.vmap(rec_fn)(motion, emotion if has_emotion else None)
    kl = jax.vmap(lambda mu, lv: rf_losses.kl_divergence(mu, lv, lengths, m.window))(out["mu"], out["logvar"])
    smooth = jax.vmap(lambda x: rf_losses.smoothness(x, lengths, expression_weight=settings["smooth_expression"])
                      )(motion)
    speaker = rf_losses.speaker_reconstruction(out["speaker_recon"], batch["speaker_3dmm"], lengths)
    metrics = {"rec": jnp.mean(rec), "kl": jnp.mean(kl), "smooth": jnp.mean(smooth), "speaker": speaker,
               **{k: jnp.mean(v) for k, v in parts.items()}}
    total = (metrics["rec"] + settings["kl"] * metrics["kl"] + settings["smooth"] * metrics["smooth"]
             + settings["speaker"] * speaker)
    if has_emotion and settings["readout"] and m.emotion_from == "motion":
      readout = EmotionReadout(m.feature_dim, m.emotion_dim, m.readout_context).apply(
          {"params": params["cell"]["emotion_readout"]}, batch["listener_3dmm"])
      mask = rf_losses.frame_mask(lengths, readout.shape[1])[..., None]
      err = rf_losses.smooth_l1(readout, batch["listener_emotion"]) * mask
      metrics["readout"] = jnp.sum(err) / jnp.maximum(jnp.sum(mask) * readout.shape[-1], 1.0)
      total = total + settings["readout"] * metrics["readout"]
    if settings["energy"]:
      # Each sample should move as much as the real listener does (3DMM and emotion), see `motion_energy`.
      def energy_fn(pred, pred_emo):
        value = rf_losses.motion_energy(pred, batch["listener_3dmm"], lengths)
        if has_emotion:
          value = value + rf_losses.motion_energy(pred_emo, batch["listener_emotion"], lengths)
        return value
      metrics["energy"] = jnp.mean(jax.vmap(energy_fn)(motion, emotion if has_emotion else None))
      total = total + settings["energy"] * metrics["energy"]
    if num_samples >= 2:
      metrics["div"] = rf_losses.diversity(motion, lengths, scale=settings["div_scale"])
      total = total + settings["div"] * metrics["div"]
    return total, metrics

  def predict(params, batch, rng):
    """One sample: {'motion': [B, T, D] (z-space), 'emotion': [B, T, E] when the data has emotion}."""
    m = model_for_batch(model, batch)
    out = m.apply({"params": params}, *_inputs(batch), **_extras(m, batch), deterministic=True,
                  rngs={"sample": rng})
    return {k: out[k] for k in ("motion", "emotion") if k in out}

  return tasks.Task(name="reactface", model=model, init=init, loss=loss, predict=predict,
                    batch_format="reaction")
