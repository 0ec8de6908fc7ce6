"""Tasks: what the shared trainer needs to know about a model, chosen by `config.model_name`.

A task bundles a flax module with pure functions the trainer jits:
  * `init(rng, batch) -> variables` (`{'params': ...}`),
  * `loss(params, batch, rng, train) -> (loss scalar, {name: scalar})`,
  * `predict(params, batch, rng) -> {name: array}` (deterministic unless the model samples),
and `batch_format`, the pipeline format the task consumes (`'vico'` or `'reaction'`).
"""
from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable

import flax.linen as nn


@dataclasses.dataclass(frozen=True)
class Task:
  name: str
  model: nn.Module
  init: Callable[..., Any]
  loss: Callable[..., Any]
  predict: Callable[..., Any]
  batch_format: str


def as_dict(section: Any) -> dict[str, Any]:
  """A config section (ConfigDict, dict or None) as a plain dict."""
  if section is None:
    return {}
  if hasattr(section, "to_dict"):
    return section.to_dict()
  return dict(section)


def loss_settings(config, defaults: dict[str, Any]) -> dict[str, Any]:
  """`defaults` overridden by `config.loss`; fields the task does not know raise."""
  given = as_dict(config.get("loss", None) if hasattr(config, "get") else None)
  unknown = sorted(set(given) - set(defaults))
  if unknown:
    raise ValueError(f"config.loss has unknown fields {unknown}; known: {sorted(defaults)}")
  return {**defaults, **given}


_TASKS = {
    "vico_lstm": "listen_jax.tasks.vico_lstm",
    "reactface": "listen_jax.tasks.reactface",
    "trans_ae": "listen_jax.tasks.trans_ae",
}


def get_task(config) -> Task:
  """Builds the task named by `config.model_name` (each module exposes `make_task(config) -> Task`)."""
  name = config.model_name
  if name not in _TASKS:
    raise ValueError(f"config.model_name={name!r} is not a known model; choose one of {sorted(_TASKS)}")
  return importlib.import_module(_TASKS[name]).make_task(config)
