"""Masked losses of the ViCo listener model (z-space 73-d motion, layout `layouts.VICO_DYNAMIC`).

Conventions shared by both losses:
  * `pred` [batch, time, 73]: row t predicts listener frame t + 1 (the model output).
  * `target` [batch, time, 73]: the listener window itself; row 0 is the init frame, so pred row t is compared
    with target row t + 1.
  * Exact masking: a prediction row t counts iff t < lengths - 1 (the last valid row would predict a frame that
    does not exist). Means divide by the number of valid rows, never by the padded size, so padding does not
    dilute the loss. Velocity terms use only pairs (t, t + 1) of valid rows, so the last valid row is never
    compared with padding. Values beyond `lengths` (garbage, inf, NaN) change neither the loss nor its gradient.

`reference_loss` reproduces the reference code's loss (its intended value, without the padding artefacts):
for each group g of (angle 3, exp 64, trans 3, crop 3),
  D_g = mean over valid rows of ||pred_g - tgt_g + eps||_2,
  V_g = mean over valid pairs of ||(pred_g[t+1] - pred_g[t]) - (tgt_g[t+1] - tgt_g[t]) + eps||_2,
  loss = sum_g w_g D_g + v_g V_g, with every weight 1 except exp-velocity 0.001. `eps` = 1e-6 mirrors
  `torch.nn.functional.pairwise_distance`.

`paper_loss` is ViCo paper Eq. 4-6 as we read it:
  L_gen = sum_t ||beta_t - beta^_t||_2 + ||p_t - p^_t||_2                      (Eq. 4)
  L_mot = sum_t w1 ||mu(beta_t) - mu(beta^_t)||_2 + w2 ||mu(p_t) - mu(p^_t)||_2  (Eq. 5), mu(x_t) = x_t - x_{t-1}
  L_total = L_gen + L_mot                                                        (Eq. 6), w1 = 0.1, w2 = 1e-4.
  Our reading: beta is the 64-d expression; p the head pose "rotation and translation" = angle (3) + trans (3),
  plus by default the crop (s, tx, ty), which is the image-plane part of the head translation in ViCo's 73-d
  vector and must be supervised for the renderer (`include_crop=False` gives the strict 70-d reading, leaving
  crop unsupervised). Each norm is one Euclidean norm over the whole group per frame (not per dimension). The
  sum over t becomes a mean over valid frames (and over the batch) so the scale does not depend on the window
  length. mu at the first predicted frame would need the unpredicted frame 1, so velocity pairs are between
  consecutive predicted rows only (as in the reference code). w1 weighs the expression velocity and w2 the pose
  velocity, as written in Eq. 5.
"""
from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp

from listen_jax import layouts

_GROUPS = tuple(name for name, _ in layouts.VICO_DYNAMIC.groups)  # angle, exp, trans, crop

REFERENCE_WEIGHTS = {
    "angle": 1.0, "exp": 1.0, "trans": 1.0, "crop": 1.0,
    "angle_velocity": 1.0, "exp_velocity": 0.001, "trans_velocity": 1.0, "crop_velocity": 1.0,
}


def _check(pred: jax.Array, target: jax.Array, lengths: jax.Array) -> None:
  if pred.ndim != 3 or pred.shape[-1] != layouts.VICO_DYNAMIC.dim:
    raise ValueError(f"vico loss: pred must be [batch, time, 73], got {pred.shape}")
  if target.shape != pred.shape:
    raise ValueError(f"vico loss: target {target.shape} does not match pred {pred.shape}")
  if lengths.shape != pred.shape[:1]:
    raise ValueError(f"vico loss: lengths must be [batch]={pred.shape[:1]}, got {lengths.shape}")


def _residuals(pred, target, lengths):
  """Masked per-frame and per-pair residuals.

  Returns:
    diff [B, T-1, 73] (pred row t - target row t+1, zeroed where invalid), row mask [B, T-1] float32,
    velocity diff [B, T-2, 73] (zeroed where invalid), pair mask [B, T-2] float32.
  """
  time = pred.shape[1]
  rows = jnp.arange(time - 1)[None, :] < (jnp.asarray(lengths)[:, None] - 1)  # [B, T-1]
  # `where` (not a product) so garbage/NaN in padding cannot leak into values or gradients.
  diff = jnp.where(rows[..., None], pred[:, :-1].astype(jnp.float32) - target[:, 1:].astype(jnp.float32), 0.0)
  pairs = rows[:, 1:] & rows[:, :-1]
  vel = jnp.where(pairs[..., None], diff[:, 1:] - diff[:, :-1], 0.0)
  return diff, rows.astype(jnp.float32), vel, pairs.astype(jnp.float32)


def _norm(x: jax.Array, eps: float) -> jax.Array:
  """Euclidean norm over the last axis of (x + eps), with a finite gradient at 0."""
  sq = jnp.sum(jnp.square(x + eps), axis=-1)
  positive = sq > 0
  return jnp.where(positive, jnp.sqrt(jnp.where(positive, sq, 1.0)), 0.0)


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
  return jnp.sum(values * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def _split(x: jax.Array) -> dict[str, jax.Array]:
  return {name: x[..., s] for name, s in layouts.VICO_DYNAMIC.slices.items()}


def reference_loss(pred: jax.Array, target: jax.Array, lengths: jax.Array,
                   weights: Mapping[str, float] | None = None, eps: float = 1e-6
                   ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Reference-code loss: per-group mean per-frame Euclidean norm + the same on first differences.

  Args:
    pred: [batch, time, 73] predictions (row t predicts frame t + 1), z-space.
    target: [batch, time, 73] listener window (row 0 = init frame), z-space.
    lengths: [batch] int valid frames of each window.
    weights: overrides of `REFERENCE_WEIGHTS` (keys `angle|exp|trans|crop` and `<group>_velocity`).
    eps: added to each difference before the norm (torch `pairwise_distance`).

  Returns:
    (loss scalar, {group: D_g, group_velocity: V_g} unweighted float32 scalars).
  """
  _check(pred, target, lengths)
  w = dict(REFERENCE_WEIGHTS)
  for key, value in (weights or {}).items():
    if key not in w:
      raise ValueError(f"reference_loss: unknown weight {key!r}; known: {sorted(w)}")
    w[key] = float(value)
  diff, rows, vel, pairs = _residuals(pred, target, lengths)
  diff_g, vel_g = _split(diff), _split(vel)
  terms = {}
  for g in _GROUPS:
    terms[g] = _masked_mean(_norm(diff_g[g], eps), rows)
    terms[f"{g}_velocity"] = _masked_mean(_norm(vel_g[g], eps), pairs)
  loss = sum(w[k] * v for k, v in terms.items())
  return loss, terms


def paper_loss(pred: jax.Array, target: jax.Array, lengths: jax.Array, w1: float = 0.1, w2: float = 1e-4,
               include_crop: bool = True, eps: float = 0.0) -> tuple[jax.Array, dict[str, jax.Array]]:
  """ViCo paper Eq. 4-6 (our reading is in the module docstring).

  Args:
    pred: [batch, time, 73] predictions (row t predicts frame t + 1), z-space.
    target: [batch, time, 73] listener window (row 0 = init frame), z-space.
    lengths: [batch] int valid frames of each window.
    w1: weight of the expression velocity term.
    w2: weight of the pose velocity term.
    include_crop: count crop (s, tx, ty) as part of the pose p.
    eps: optional offset added to each difference before the norm (0 = the plain L2 norm).

  Returns:
    (loss scalar, {gen, mot, gen_exp, gen_pose, mot_exp, mot_pose} float32 scalars; mot_* unweighted).
  """
  _check(pred, target, lengths)
  diff, rows, vel, pairs = _residuals(pred, target, lengths)
  pose = ("angle", "trans", "crop") if include_crop else ("angle", "trans")

  def exp_and_pose(x):
    parts = _split(x)
    return parts["exp"], jnp.concatenate([parts[k] for k in pose], axis=-1)

  d_exp, d_pose = exp_and_pose(diff)
  v_exp, v_pose = exp_and_pose(vel)
  terms = {
      "gen_exp": _masked_mean(_norm(d_exp, eps), rows),
      "gen_pose": _masked_mean(_norm(d_pose, eps), rows),
      "mot_exp": _masked_mean(_norm(v_exp, eps), pairs),
      "mot_pose": _masked_mean(_norm(v_pose, eps), pairs),
  }
  terms["gen"] = terms["gen_exp"] + terms["gen_pose"]
  terms["mot"] = w1 * terms["mot_exp"] + w2 * terms["mot_pose"]
  return terms["gen"] + terms["mot"], terms
