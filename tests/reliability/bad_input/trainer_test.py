"""Non-finite numbers reaching the trainer (the data builders reject NaN files, so inject one into a batch)."""
from __future__ import annotations

import json
import logging
import os
import re

import jax
import numpy as np
import pytest

from configs import vico_lstm
from listen_jax.train import checkpointing, sharding, trainer


def _poison_step(monkeypatch, step: int) -> list:
  """Makes the batch of training step `step` (1-based) hold a NaN; returns a list receiving its clip ids."""
  seen = []
  calls = {"n": 0}
  original = sharding.global_batch

  def poisoned(local, mesh):
    calls["n"] += 1
    if calls["n"] == step:
      local = dict(local, audio=local["audio"].copy())
      local["audio"][0, 0, 0] = np.nan
      seen.append(local["clip_index"].tolist())
    return original(local, mesh)

  monkeypatch.setattr(trainer.sharding, "global_batch", poisoned)
  return seen


def _nan_config(data_dir, skip):
  c = vico_lstm.get_config("smoke")
  c.data_dir = data_dir
  c.num_train_steps, c.log_every, c.checkpoint_every = 8, 4, 8
  c.skip_nonfinite = skip
  return c


def test_nan_batch_stops_naming_step_and_clip_ids(vico_data_dir, tmp_path, monkeypatch):
  seen = _poison_step(monkeypatch, 3)
  with pytest.raises(trainer.NonFiniteError) as info:
    trainer.train_and_evaluate(_nan_config(vico_data_dir, skip=False), str(tmp_path / "w"))
  assert re.search(r"non-finite loss or gradient at step 3: loss=\S+, grad_norm=nan", str(info.value))
  assert f"batch clip ids {seen[0]}" in str(info.value)
  assert "skip_nonfinite" in str(info.value)


def test_nan_batch_skipped_and_counted_when_skip_nonfinite(vico_data_dir, tmp_path, monkeypatch, caplog):
  seen = _poison_step(monkeypatch, 3)
  w = str(tmp_path / "w")
  with caplog.at_level(logging.WARNING):
    last = trainer.train_and_evaluate(_nan_config(vico_data_dir, skip=True), w)
  assert any("skipped step" in r.getMessage() and "at step 3" in r.getMessage() and str(seen[0]) in r.getMessage()
             for r in caplog.records)
  with open(os.path.join(w, "metrics.jsonl"), encoding="utf-8") as f:
    records = {r["step"]: r for r in map(json.loads, f)}
  assert sorted(records) == [4, 8]
  assert records[4]["skipped"] == 1.0 and records[8]["skipped"] == 0.0
  assert all(np.isfinite(r["loss"]) for r in records.values()) and last["skipped"] == 0.0
  params, _, step = checkpointing.restore_params(w)
  assert step == 8
  assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(params))
