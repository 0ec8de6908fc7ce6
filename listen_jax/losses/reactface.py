"""ReactFace losses, masked by clip lengths and neighbour masks (padding is never a sentinel value).

All SmoothL1 terms use beta = 1. Motion dims are split into expression and pose by the 3DMM layout
(`listen_jax.layouts`): FaceVerse 58 = exp 0:52, pose = rot + trans 52:58; ViCo 73 = exp 3:67, pose = angle 0:3 +
trans 67:70 + crop 70:73.

Terms:
  * `reconstruction_cost`: per (item, target) cost = masked-mean SL1(expression) + pose_weight * masked-mean
    SL1(pose) [+ emotion_weight * masked-mean SL1(emotion)].
  * `appropriate_reconstruction`: min over an item's valid neighbours of that JOINT cost (one neighbour is chosen
    per item for all terms, unlike the reference code whose expression and pose minima may pick different
    neighbours), averaged over items with at least one valid neighbour and one valid frame. With `level_pool` > 0
    every neighbour's level (its mean over the crop) is first moved toward a shared level (`pool_levels`): the
    item's neighbours' mean, or the batch's mean over all neighbours (the training population's level), so the min
    picks a movement and the level is not memorised per training listener.
  * `kl_divergence`: KL(N(mu, sigma) || N(0, I)) per latent dim, mean over dims, averaged over the windows that
    start inside the clip, then over items.
  * `diversity`: RBF energy mean_b exp(-||Y_a - Y_b||^2 / scale) over all pairs a < b of S >= 2 samples, with the
    squared norm over valid frames and dims.
  * `smoothness`: SL1 of second differences (x_{t+1} - x_t) - (x_t - x_{t-1}) against 0 over valid triples:
    pose term + expression_weight (0.1) * expression term.
  * `speaker_reconstruction`: masked-mean SL1 of the auxiliary speaker-3DMM head.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from listen_jax import layouts


def smooth_l1(x: jax.Array, y: jax.Array, beta: float = 1.0) -> jax.Array:
  """Elementwise SmoothL1 (Huber / beta): 0.5 d^2 / beta for |d| < beta, else |d| - 0.5 beta."""
  d = jnp.abs(x - y)
  return jnp.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)


@functools.lru_cache(maxsize=None)
def expression_pose_indices(motion_dim: int) -> tuple[np.ndarray, np.ndarray]:
  """(expression dims, pose dims) index arrays of a 3DMM layout chosen by its width (58 FaceVerse, 73 ViCo)."""
  if motion_dim == layouts.FACEVERSE.dim:
    sl = layouts.FACEVERSE.slices
    exp, pose = [sl["exp"]], [sl["rot"], sl["trans"]]
  elif motion_dim == layouts.VICO_DYNAMIC.dim:
    sl = layouts.VICO_DYNAMIC.slices
    exp, pose = [sl["exp"]], [sl["angle"], sl["trans"], sl["crop"]]
  else:
    raise ValueError(f"motion_dim={motion_dim}: no known 3DMM layout (58 FaceVerse, 73 ViCo) to split expression "
                     "and pose dims")
  cat = lambda slices: np.concatenate([np.arange(s.start, s.stop) for s in slices])  # noqa: E731
  return cat(exp), cat(pose)


def frame_mask(lengths: jax.Array, num_frames: int) -> jax.Array:
  """[B] valid-frame counts -> [B, T] float32 mask."""
  return (jnp.arange(num_frames)[None, :] < lengths[:, None]).astype(jnp.float32)


def _masked_mean(values: jax.Array, mask: jax.Array) -> jax.Array:
  """values [..., T, C], mask broadcastable to [..., T] -> [...] mean over valid frames and all C."""
  total = jnp.sum(values * mask[..., None], axis=(-2, -1))
  count = jnp.sum(jnp.broadcast_to(mask, values.shape[:-1]), axis=-1) * values.shape[-1]
  return total / jnp.maximum(count, 1.0)


def reconstruction_cost(pred: jax.Array, target: jax.Array, mask: jax.Array, *, pred_emotion: jax.Array | None = None,
                        target_emotion: jax.Array | None = None, pose_weight: float = 10.0,
                        emotion_weight: float = 1.0) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Expression + pose_weight * pose (+ emotion_weight * emotion) SmoothL1 cost, masked means.

  Args:
    pred: [..., T, D] predicted 3DMM; target: [..., T, D] (broadcasts against pred, e.g. [B, K, T, D] vs
      [B, 1, T, D]).
    mask: [..., T] float valid-frame mask (broadcastable).
    pred_emotion, target_emotion: [..., T, E] or None (the term is skipped when either is None).
    pose_weight, emotion_weight: term weights.

  Returns:
    (cost [...], dict of the unweighted parts 'expression', 'pose', and 'emotion' when present).
  """
  exp_idx, pose_idx = expression_pose_indices(pred.shape[-1])
  err = smooth_l1(pred, target)
  parts = {"expression": _masked_mean(err[..., exp_idx], mask), "pose": _masked_mean(err[..., pose_idx], mask)}
  cost = parts["expression"] + pose_weight * parts["pose"]
  if pred_emotion is not None and target_emotion is not None:
    parts["emotion"] = _masked_mean(smooth_l1(pred_emotion, target_emotion), mask)
    cost = cost + emotion_weight * parts["emotion"]
  return cost, parts


def _item_mean(values: jax.Array, weights: jax.Array) -> jax.Array:
  return jnp.sum(values * weights) / jnp.maximum(jnp.sum(weights), 1.0)


def listener_reconstruction(pred: jax.Array, target: jax.Array, lengths: jax.Array, *,
                            pred_emotion: jax.Array | None = None, target_emotion: jax.Array | None = None,
                            pose_weight: float = 10.0, emotion_weight: float = 1.0
                            ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Reconstruction against the real listener (stage 1): `reconstruction_cost` averaged over items.

  Args:
    pred, target: [B, T, D]; lengths: [B]; pred_emotion, target_emotion: [B, T, E] or None.

  Returns:
    (loss scalar, dict of the unweighted parts averaged over items).
  """
  cost, parts = reconstruction_cost(pred, target, frame_mask(lengths, pred.shape[1]), pred_emotion=pred_emotion,
                                    target_emotion=target_emotion, pose_weight=pose_weight,
                                    emotion_weight=emotion_weight)
  weight = (lengths > 0).astype(cost.dtype)
  return _item_mean(cost, weight), {k: _item_mean(v, weight) for k, v in parts.items()}


LEVEL_TARGETS = ("neighbours", "population")


def pool_levels(targets: jax.Array, neighbour_mask: jax.Array, lengths: jax.Array, amount: float = 1.0,
                toward: str = "neighbours") -> jax.Array:
  """Moves each neighbour's level (per-channel mean over the valid frames) toward a shared level.

  The level of a real reaction is partly the listener's own (identity, resting face), which a generator that only
  sees the speaker cannot know: fitted to the closest neighbour, it memorises the training listeners' levels and
  guesses a wrong one on unseen people. Pooling keeps each neighbour's movement and replaces its level by
  (1 - amount) * own + amount * shared, where shared is

  * 'neighbours': the mean level of the item's valid neighbours (the appropriate reactions' common level);
  * 'population': the mean level of every valid neighbour of every item in the batch, an unbiased estimate of the
    training listeners' mean level (what MeanFr predicts). The generator then learns movements around the
    population level and no level it would have to guess from the training dyads.

  Args:
    targets: [B, K, T, C]; neighbour_mask: [B, K] bool/0-1; lengths: [B] valid frames.
    amount: 0 (no change) .. 1 (every neighbour gets the shared level).
    toward: 'neighbours' | 'population' (`LEVEL_TARGETS`).

  Returns:
    [B, K, T, C] targets with pooled levels (padding frames are shifted too; they stay masked).
  """
  if toward not in LEVEL_TARGETS:
    raise ValueError(f"pool_levels toward={toward!r}: expected one of {LEVEL_TARGETS}")
  if not amount:
    return targets
  mask = frame_mask(lengths, targets.shape[2])[:, None, :, None]
  level = jnp.sum(targets * mask, axis=2) / jnp.maximum(jnp.sum(mask, axis=2), 1.0)  # [B, K, C]
  valid = (neighbour_mask.astype(bool) & (lengths > 0)[:, None]).astype(targets.dtype)[..., None]  # [B, K, 1]
  axes = (1,) if toward == "neighbours" else (0, 1)
  shared = jnp.sum(level * valid, axis=axes, keepdims=True) / jnp.maximum(
      jnp.sum(valid, axis=axes, keepdims=True), 1.0)
  return targets + (amount * (shared - level))[:, :, None]


def appropriate_reconstruction(pred: jax.Array, neighbours: jax.Array, neighbour_mask: jax.Array,
                               lengths: jax.Array, *, pred_emotion: jax.Array | None = None,
                               neighbour_emotion: jax.Array | None = None, pose_weight: float = 10.0,
                               emotion_weight: float = 1.0, level_pool: float = 0.0,
                               level_target: str = "neighbours") -> tuple[jax.Array, dict[str, jax.Array]]:
  """Min over valid neighbours of the joint reconstruction cost (Eq. 5), averaged over items.

  Args:
    pred: [B, T, D]; neighbours: [B, K, T, D]; neighbour_mask: [B, K] bool/0-1; lengths: [B] valid frames.
    pred_emotion: [B, T, E] or None; neighbour_emotion: [B, K, T, E] or None.
    pose_weight, emotion_weight: term weights.
    level_pool: `pool_levels` amount applied to the neighbours' 3DMM and emotion before the min (0: off).
    level_target: the shared level pooled toward, 'neighbours' | 'population' (see `pool_levels`).

  Returns:
    (loss scalar, dict(expression, pose[, emotion] of the chosen neighbours, averaged; 'best' [B] int32 index)).
    Items with no valid neighbour or no valid frame get weight 0.
  """
  mask = frame_mask(lengths, neighbours.shape[2])
  neighbours = pool_levels(neighbours, neighbour_mask, lengths, level_pool, level_target)
  if neighbour_emotion is not None:
    neighbour_emotion = pool_levels(neighbour_emotion, neighbour_mask, lengths, level_pool, level_target)
  cost, parts = reconstruction_cost(
      pred[:, None], neighbours, mask[:, None], pred_emotion=None if pred_emotion is None else pred_emotion[:, None],
      target_emotion=neighbour_emotion, pose_weight=pose_weight, emotion_weight=emotion_weight)
  valid = neighbour_mask.astype(bool)
  best = jnp.argmin(jnp.where(valid, cost, jnp.inf), axis=1)
  pick = lambda x: jnp.take_along_axis(x, best[:, None], axis=1)[:, 0]  # noqa: E731
  item_weight = (jnp.any(valid, axis=1) & (lengths > 0)).astype(jnp.float32)
  loss = _item_mean(pick(cost), item_weight)
  metrics = {name: _item_mean(pick(v), item_weight) for name, v in parts.items()}
  metrics["best"] = best.astype(jnp.int32)
  return loss, metrics


def kl_divergence(mu: jax.Array, logvar: jax.Array, lengths: jax.Array, window: int) -> jax.Array:
  """KL(N(mu, exp(logvar)) || N(0, I)): mean over latent dims, over valid windows, then over items.

  Args:
    mu, logvar: [B, nW, L]. lengths: [B] valid frames; window: frames per latent (window i is valid when
      i * window < length).
  """
  kl = 0.5 * (jnp.exp(logvar) + jnp.square(mu) - 1.0 - logvar)
  per_window = jnp.mean(kl, axis=-1)
  valid = (jnp.arange(mu.shape[1])[None, :] * window < lengths[:, None]).astype(per_window.dtype)
  per_item = jnp.sum(per_window * valid, axis=1) / jnp.maximum(jnp.sum(valid, axis=1), 1.0)
  return _item_mean(per_item, (lengths > 0).astype(per_item.dtype))


def diversity(samples: jax.Array, lengths: jax.Array, scale: float = 100.0) -> jax.Array:
  """RBF diversity energy (Eq. 6): mean over pairs a < b and items of exp(-||Y_a - Y_b||^2 / scale).

  Args:
    samples: [S, B, T, C] with S >= 2 (C = 3DMM dims, or 3DMM + emotion concatenated).
    lengths: [B] valid frames; the squared norm runs over valid frames and all C.
    scale: sigma_d of the kernel (100 in the reference code).
  """
  s, _, t = samples.shape[:3]
  if s < 2:
    raise ValueError(f"diversity needs at least 2 samples, got {s}")
  mask = frame_mask(lengths, t)[..., None]
  a, b = np.triu_indices(s, k=1)
  d2 = jnp.sum(jnp.square(samples[a] - samples[b]) * mask, axis=(-2, -1))  # [pairs, B]
  weight = (lengths > 0).astype(d2.dtype)
  return _item_mean(jnp.mean(jnp.exp(-d2 / scale), axis=0), weight)


def smoothness(pred: jax.Array, lengths: jax.Array, *, expression_weight: float = 0.1) -> jax.Array:
  """Second-order smoothness: SL1 of (x_{t+1} - x_t) - (x_t - x_{t-1}), pose + expression_weight * expression.

  Args:
    pred: [B, T, D]; lengths: [B]. Only triples (t-1, t, t+1) inside the clip count.
  """
  exp_idx, pose_idx = expression_pose_indices(pred.shape[-1])
  t = pred.shape[1]
  if t < 3:
    return jnp.zeros((), pred.dtype)
  accel = pred[:, 2:] - 2.0 * pred[:, 1:-1] + pred[:, :-2]
  mask = frame_mask(lengths, t)[:, 2:]
  err = smooth_l1(accel, 0.0)
  weight = (lengths > 2).astype(pred.dtype)
  return (_item_mean(_masked_mean(err[..., pose_idx], mask), weight)
          + expression_weight * _item_mean(_masked_mean(err[..., exp_idx], mask), weight))


def temporal_std(x: jax.Array, lengths: jax.Array, eps: float = 1e-6) -> jax.Array:
  """Per-dim standard deviation over the valid frames: x [B, T, C], lengths [B] -> [B, C]."""
  mask = frame_mask(lengths, x.shape[1])[..., None]
  count = jnp.maximum(jnp.sum(mask, axis=1), 1.0)
  mean = jnp.sum(x * mask, axis=1) / count
  var = jnp.sum(jnp.square(x - mean[:, None]) * mask, axis=1) / count
  return jnp.sqrt(var + eps)


def motion_energy(pred: jax.Array, target: jax.Array, lengths: jax.Array) -> jax.Array:
  """L1 distance between the per-dim temporal std of the prediction and of the target, mean over dims and items.

  Regression losses alone pull a generator towards the conditional mean, whose movements are much smaller than
  real ones (and a flat reaction scores poorly on CCC-based FRCorr and on FRVar); this term asks each generated
  reaction to move as much as the real one does within the crop, without saying when. Items with fewer than two
  valid frames are ignored.

  Args:
    pred, target: [B, T, C]; lengths: [B].
  """
  gap = jnp.mean(jnp.abs(temporal_std(pred, lengths) - temporal_std(target, lengths)), axis=-1)  # [B]
  return _item_mean(gap, (lengths > 1).astype(gap.dtype))


def speaker_reconstruction(pred: jax.Array, target: jax.Array, lengths: jax.Array) -> jax.Array:
  """Masked-mean SmoothL1 of the auxiliary speaker-3DMM head ([B, T, D] each)."""
  per_item = _masked_mean(smooth_l1(pred, target), frame_mask(lengths, pred.shape[1]))
  return _item_mean(per_item, (lengths > 0).astype(per_item.dtype))


__all__ = ["LEVEL_TARGETS", "appropriate_reconstruction", "diversity", "expression_pose_indices", "frame_mask",
           "kl_divergence", "listener_reconstruction", "motion_energy", "pool_levels", "reconstruction_cost",
           "smooth_l1", "smoothness", "speaker_reconstruction", "temporal_std"]
