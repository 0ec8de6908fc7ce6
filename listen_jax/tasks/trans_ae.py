"""Trans-AE task (REACT Trans-VAE baseline, deterministic) for the shared trainer (batch format 'reaction').

Config fields read (all optional except `model_name = 'trans_ae'`):

  config.model (dict / ConfigDict): `TransAE` keyword arguments (feature_dim, num_heads, ffn_dim, encoder_layers,
    decoder_layers, dropout, period, bias, positions, audio_pool, motion_dim, emotion_dim, audio_dim).
    motion_dim / emotion_dim / audio_dim may be left unset: they are read from the batch shapes (`speaker_3dmm`
    [B, W, D], `speaker_emotion` [B, W, E] (absent -> 0), `speaker_audio` [B, 2W, F]); when set they must match.
  config.loss:
    error ('smooth_l1'): per-element error, 'smooth_l1' (beta 1, as ReactFace) or 'mse' (the reference
      Trans-VAE's MSE).
    pose (10.0): pose weight (reference: MSE(exp) + 10 MSE(pose) + MSE(emotion)).
    emotion (1.0): emotion weight (REACT only).

Loss: against the REAL listener (`listener_3dmm`, `listener_emotion`), per item
  masked-mean err(expression dims) + pose * masked-mean err(pose dims) [+ emotion * masked-mean err(emotion)],
averaged over items with at least one valid frame. Frames at or beyond `lengths` never count. Expression and pose
dims come from `losses.reactface.expression_pose_indices` (FaceVerse 58 / ViCo 73).
"""
from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp

from listen_jax import tasks
from listen_jax.losses import reactface as rf_losses
from listen_jax.models.trans_ae import TransAE
from listen_jax.tasks.reactface import model_for_batch

LOSS_DEFAULTS = {"error": "smooth_l1", "pose": 10.0, "emotion": 1.0}
ERRORS = {"smooth_l1": rf_losses.smooth_l1, "mse": lambda x, y: jnp.square(x - y)}


def loss_settings(config) -> dict[str, Any]:
  """`LOSS_DEFAULTS` overridden by `config.loss` (unknown keys or error kinds raise)."""
  out = tasks.loss_settings(config, LOSS_DEFAULTS)
  if out["error"] not in ERRORS:
    raise ValueError(f"config.loss.error={out['error']!r}: expected one of {sorted(ERRORS)}")
  return out


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
  """values [B, T, C], mask [B, T] -> [B]: mean over valid frames and all C (0 for an empty item)."""
  total = jnp.sum(values * mask[..., None], axis=(1, 2))
  return total / jnp.maximum(jnp.sum(mask, axis=1) * values.shape[-1], 1.0)


def reconstruction(pred: Mapping[str, jax.Array], batch: Mapping[str, jax.Array], *, error: str = "smooth_l1",
                   pose_weight: float = 10.0, emotion_weight: float = 1.0
                   ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Masked reconstruction of the real listener.

  Args:
    pred: dict(motion [B, T, D], emotion [B, T, E] optional).
    batch: reaction batch with `listener_3dmm` [B, T, D], `lengths` [B] and (when pred has emotion)
      `listener_emotion` [B, T, E].
    error: 'smooth_l1' or 'mse'.
    pose_weight, emotion_weight: term weights.

  Returns:
    (loss scalar, dict of the unweighted parts 'expression', 'pose'[, 'emotion'] averaged over items).
  """
  err_fn = ERRORS[error]
  motion = pred["motion"]
  mask = rf_losses.frame_mask(batch["lengths"], motion.shape[1])
  exp_idx, pose_idx = rf_losses.expression_pose_indices(motion.shape[-1])
  err = err_fn(motion, batch["listener_3dmm"].astype(motion.dtype))
  parts = {"expression": _masked_mean(err[..., exp_idx], mask), "pose": _masked_mean(err[..., pose_idx], mask)}
  cost = parts["expression"] + pose_weight * parts["pose"]
  if "emotion" in pred:
    emo = pred["emotion"]
    parts["emotion"] = _masked_mean(err_fn(emo, batch["listener_emotion"].astype(emo.dtype)), mask)
    cost = cost + emotion_weight * parts["emotion"]
  weight = (batch["lengths"] > 0).astype(cost.dtype)
  denom = jnp.maximum(jnp.sum(weight), 1.0)
  item_mean = lambda v: jnp.sum(v * weight) / denom  # noqa: E731
  return item_mean(cost), {k: item_mean(v) for k, v in parts.items()}


def _inputs(batch):
  return batch["speaker_audio"], batch["speaker_3dmm"], batch.get("speaker_emotion")


def make_task(config) -> tasks.Task:
  """Trans-AE `Task` (see the module docstring for the config fields)."""
  model = TransAE(**tasks.as_dict(config.get("model", None)))
  settings = loss_settings(config)

  def init(rng, batch):
    return model_for_batch(model, batch).init({"params": rng}, *_inputs(batch), deterministic=True)

  def loss(params, batch, rng, train):
    m = model_for_batch(model, batch)
    out = m.apply({"params": params}, *_inputs(batch), deterministic=not train, rngs={"dropout": rng})
    total, parts = reconstruction(out, batch, error=settings["error"], pose_weight=settings["pose"],
                                  emotion_weight=settings["emotion"])
    return total, {"rec": total, **parts}

  def predict(params, batch, rng):
    """{'motion': [B, T, D] (z-space), 'emotion': [B, T, E] when the data has emotion}; `rng` is unused."""
    del rng  # Deterministic: every "sample" is the same reaction (REACT FRDiv = 0).
    m = model_for_batch(model, batch)
    return m.apply({"params": params}, *_inputs(batch), deterministic=True)

  return tasks.Task(name="trans_ae", model=model, init=init, loss=loss, predict=predict, batch_format="reaction")
