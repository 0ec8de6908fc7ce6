"""Task `vico_lstm`: the ViCo listener LSTM for the shared trainer (batch format 'vico').

Config fields read (all under the trainer config):
  * `config.model`: `ListenerLSTM` keyword arguments (audio_dim, motion_dim, fusion_dim, hidden, num_layers,
    dropout, use_attitude, num_attitudes, dtype ('float32' | 'bfloat16' or a dtype), scan_unroll, residual,
    relative_speaker, infer_unroll), plus
    `config.model.ablation` in {None, '', 'audio_only', 'visual_only'}: 'audio_only' zeroes the speaker-motion
    stream and 'visual_only' the audio stream (zero = the train mean in z-space; paper Table 5).
  * `config.loss.name`: 'reference' (reference-code loss, default) or 'paper' (paper Eq. 4-6).
  * 'reference' weights: `config.loss.weights`, a dict overriding `losses.vico.REFERENCE_WEIGHTS` (keys
    angle, exp, trans, crop, angle_velocity, exp_velocity, trans_velocity, crop_velocity).
  * 'paper' weights: `config.loss.w1` (expression velocity, 0.1), `config.loss.w2` (pose velocity, 1e-4),
    `config.loss.include_crop` (True).
  * Both: `config.loss.eps` (reference 1e-6, paper 0).
  * `config.identity_augment` (0 = off): training only. Std (z-space units) of a random constant offset added to
    the whole listener window (reference frame and targets alike), one draw per window and dimension. The
    listener's displacement from its reference frame is unchanged, but the absolute reference frame no longer
    identifies the person: the network cannot memorise per-identity behaviour from it, which does not transfer
    to unseen listeners (the ood split). In z-space a person's constant offsets are of the order of 1, so 1.0
    simulates a new identity per window. Needs `config.model.residual` (without it the offset changes the
    targets the network must produce).
Missing fields take the defaults above.

Batch keys used: audio [B,T,45], speaker [B,T,73], listener [B,T,73] (row 0 = init frame), lengths [B],
attitude [B] (only when use_attitude). All z-scored.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

import jax
import jax.numpy as jnp

from listen_jax.losses import vico as vico_losses
from listen_jax.models.lstm_listener import ListenerLSTM
from listen_jax.tasks import Task, as_dict

ABLATIONS = ("", "audio_only", "visual_only")
_MODEL_FIELDS = ("audio_dim", "motion_dim", "fusion_dim", "hidden", "num_layers", "dropout", "use_attitude",
                 "num_attitudes", "dtype", "scan_unroll", "residual",
                 "relative_speaker", "infer_unroll")


def build_model(model_config: Mapping[str, Any] | None) -> tuple[ListenerLSTM, str]:
  """`config.model` -> (ListenerLSTM, ablation name ('' for none))."""
  kwargs = as_dict(model_config)
  ablation = kwargs.pop("ablation", None) or ""
  if ablation not in ABLATIONS:
    raise ValueError(f"config.model.ablation={ablation!r}; expected one of None, 'audio_only', 'visual_only'")
  unknown = sorted(set(kwargs) - set(_MODEL_FIELDS))
  if unknown:
    raise ValueError(f"config.model has unknown ListenerLSTM fields {unknown}; known: {list(_MODEL_FIELDS)}")
  if isinstance(kwargs.get("dtype"), str):
    kwargs["dtype"] = jnp.dtype(kwargs["dtype"])
  return ListenerLSTM(**kwargs), ablation


def build_loss(loss_config: Mapping[str, Any] | None):
  """`config.loss` -> loss_fn(pred, listener, lengths) -> (loss, metrics)."""
  cfg = as_dict(loss_config)
  name = cfg.get("name", "reference") or "reference"
  known = {"reference": {"name", "weights", "eps"}, "paper": {"name", "w1", "w2", "include_crop", "eps"}}
  unknown = sorted(set(cfg) - known.get(name, set(cfg)))
  if unknown:
    raise ValueError(f"config.loss has fields {unknown} that the {name!r} loss does not read; "
                     f"known: {sorted(known[name])}")
  if name == "reference":
    return functools.partial(vico_losses.reference_loss, weights=cfg.get("weights") or None,
                             eps=float(cfg.get("eps", 1e-6)))
  if name == "paper":
    return functools.partial(vico_losses.paper_loss, w1=float(cfg.get("w1", 0.1)), w2=float(cfg.get("w2", 1e-4)),
                             include_crop=bool(cfg.get("include_crop", True)), eps=float(cfg.get("eps", 0.0)))
  raise ValueError(f"config.loss.name={name!r}; expected 'reference' or 'paper'")


def _get(batch: Mapping[str, Any], key: str):
  if key not in batch:
    raise KeyError(f"vico_lstm: batch has no {key!r} (keys: {sorted(batch)}); expected the 'vico' batch format")
  return jnp.asarray(batch[key])


def make_task(config) -> Task:
  """Builds the `vico_lstm` task from `config.model` and `config.loss` (see the module docstring)."""
  model, ablation = build_model(getattr(config, "model", None))
  loss_fn = build_loss(getattr(config, "loss", None))
  identity_augment = float(getattr(config, "identity_augment", 0.0) or 0.0)
  if identity_augment < 0:
    raise ValueError(f"config.identity_augment={identity_augment}; expected >= 0 (0 = off)")
  if identity_augment and not model.residual:
    raise ValueError("config.identity_augment needs config.model.residual=True: without the residual the "
                     "offset would change the absolute frames the network must predict")

  def inputs(batch):
    audio, speaker, listener = _get(batch, "audio"), _get(batch, "speaker"), _get(batch, "listener")
    if ablation == "audio_only":
      speaker = jnp.zeros_like(speaker)
    elif ablation == "visual_only":
      audio = jnp.zeros_like(audio)
    attitude = _get(batch, "attitude") if model.use_attitude else None
    return audio, speaker, listener, _get(batch, "lengths"), attitude

  def init(rng: jax.Array, batch: Mapping[str, Any]):
    audio, speaker, listener, lengths, attitude = inputs(batch)
    return model.init({"params": rng}, audio, speaker, listener[:, 0], lengths, attitude)

  def forward(params, batch, rng, train: bool):
    audio, speaker, listener, lengths, attitude = inputs(batch)
    rngs = {}
    if train:
      if identity_augment:
        rng, offset_rng = jax.random.split(rng)
        # One constant offset per window: a new "identity" for the reference frame and the targets alike.
        offset = identity_augment * jax.random.normal(offset_rng, (listener.shape[0], 1, listener.shape[-1]))
        listener = listener + offset.astype(listener.dtype)
      rngs = {"dropout": rng}
    pred = model.apply({"params": params}, audio, speaker, listener[:, 0], lengths, attitude,
                       deterministic=not train, rngs=rngs)
    return pred, listener, lengths

  def loss(params, batch, rng, train: bool = True):
    """(loss, metrics) on one batch; `train` (a Python bool) enables dropout with `rng`."""
    pred, listener, lengths = forward(params, batch, rng, train)
    value, terms = loss_fn(pred, listener, lengths)
    return value, {"loss": value, **terms}

  def predict(params, batch, rng=None):
    """{'listener': [B,T,73] z-space prediction of frames 1..T (row t = frame t + 1; zeros beyond lengths)}."""
    pred, _, _ = forward(params, batch, rng, False)
    return {"listener": pred}

  return Task(name="vico_lstm", model=model, init=init, loss=loss, predict=predict, batch_format="vico")
