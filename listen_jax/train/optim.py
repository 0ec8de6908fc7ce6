"""Optimisers and learning-rate schedules built from `config.optimizer`."""
from __future__ import annotations

import jax.numpy as jnp
import optax


def learning_rate_schedule(opt_cfg, *, global_batch_size: int, steps_per_epoch: int,
                           total_steps: int = 0) -> optax.Schedule:
  """Schedule from the config.

  Fields of `opt_cfg`: `learning_rate` (at `base_batch_size`), `base_batch_size` (0 disables linear scaling:
  lr = learning_rate * global_batch_size / base_batch_size), `schedule` ('constant' | 'step' | 'cosine'),
  `warmup_steps`, `decay_every_epochs` and `decay_rate` (step schedule; the reference steps its decay at the
  start of each epoch, so lr(epoch e) = lr0 * rate ** floor((e + 1) / every)), `total_steps` (cosine length;
  0 or absent: the `total_steps` argument, i.e. the run length the trainer passes).
  """
  lr = float(opt_cfg.learning_rate)
  base = int(opt_cfg.get("base_batch_size", 0) or 0)
  if base:
    lr *= global_batch_size / base
  kind = opt_cfg.get("schedule", "constant")
  if kind == "constant":
    sched = optax.constant_schedule(lr)
  elif kind == "step":
    every = int(opt_cfg.decay_every_epochs) * max(1, steps_per_epoch)
    rate = float(opt_cfg.decay_rate)
    offset = max(1, steps_per_epoch)

    def sched(step):
      return lr * rate ** jnp.floor((step + offset) / every)
  elif kind == "cosine":
    length = int(opt_cfg.get("total_steps", 0) or 0) or int(total_steps)
    if length < 1:
      raise ValueError("cosine schedule: set config.optimizer.total_steps or pass the run length (total_steps)")
    sched = optax.cosine_decay_schedule(lr, length)
  else:
    raise ValueError(f"config.optimizer.schedule={kind!r}: expected 'constant', 'step' or 'cosine'")
  warmup = int(opt_cfg.get("warmup_steps", 0) or 0)
  if warmup:
    sched = optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), sched], [warmup])
  return sched


def make_optimizer(opt_cfg, *, global_batch_size: int, steps_per_epoch: int, total_steps: int = 0):
  """`(optax transformation, schedule)` for `config.optimizer` (AdamW, optional global-norm clipping).

  `total_steps`: the run length, the cosine length when `config.optimizer.total_steps` is 0.
  """
  sched = learning_rate_schedule(opt_cfg, global_batch_size=global_batch_size, steps_per_epoch=steps_per_epoch,
                                 total_steps=total_steps)
  name = opt_cfg.get("name", "adamw")
  if name == "adamw":
    opt = optax.adamw(sched, b1=opt_cfg.get("b1", 0.9), b2=opt_cfg.get("b2", 0.999), eps=opt_cfg.get("eps", 1e-8),
                      weight_decay=opt_cfg.get("weight_decay", 0.0))
  elif name == "adam":
    opt = optax.adam(sched, b1=opt_cfg.get("b1", 0.9), b2=opt_cfg.get("b2", 0.999), eps=opt_cfg.get("eps", 1e-8))
  else:
    raise ValueError(f"config.optimizer.name={name!r}: expected 'adamw' or 'adam'")
  clip = float(opt_cfg.get("grad_clip", 0.0) or 0.0)
  tx = optax.chain(optax.clip_by_global_norm(clip), opt) if clip > 0 else opt
  return tx, sched
