"""Bad-input sweep, end to end: one table of broken inputs fed to the builders, the pipeline and the CLIs.

Every row starts from a tiny synthetic raw layout (`listen_jax.synthetic`, what `launch.make_synthetic` writes:
4 ViCo clips of 1.5 s, or 4 REACT rows), corrupts it in tmp_path, and asserts either a clear error (exception
type + a message naming the clip / file / field) or the documented handling with a correct result. Reader-level
checks live in tests/data/raw_test.py; here the input goes through `launch.build_datasets.build`,
`listen_jax.data.pipeline`, `listen_jax.train.trainer` or a `python -m launch.*` subprocess.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from typing import Any, Callable

import jax
import numpy as np
import pytest
import scipy.io
import soundfile

from configs import vico_lstm
from datasets.vico import vico_dataset_builder
from launch import build_datasets
from listen_jax import audio, synthetic, tasks
from listen_jax.data import pipeline, raw, stats
from listen_jax.train import checkpointing, sharding, trainer

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_FPS, _SR, _FRAMES = 30.0, 16000, 45


@pytest.fixture(scope="module")
def vico_raw(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("vico_raw"))
  synthetic.make_vico(root, num_clips=4, seed=0, min_seconds=1.5, max_seconds=1.5, short_fraction=0.0)
  return root


@pytest.fixture(scope="module")
def react_raw(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("react_raw"))
  synthetic.make_react(root, num_clips=4, seed=0, min_seconds=1.5, max_seconds=1.5)
  return root


# ---------------------------------------------------------------------------------------------------------------
# Corruption helpers. Each returns facts for the expected message ({uuid}, {file}, ...).


def _first_train_uuid(root: str) -> str:
  with open(os.path.join(root, "train.csv"), newline="", encoding="utf-8") as f:
    return next(csv.DictReader(f))["uuid"]


def _wav(root: str, uuid: str) -> str:
  return os.path.join(root, "audios", f"{uuid}.wav")


def _mat(root: str, uuid: str, role: str) -> str:
  return os.path.join(root, "recons", f"{uuid}.{role}.mat")


def _edit_mat(path: str, edit: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> None:
  m = scipy.io.loadmat(path)
  coeff, tp = edit(m["coeff"].astype(np.float32), m["transform_params"].astype(np.float32))
  scipy.io.savemat(path, {"coeff": coeff, "transform_params": tp})


def _edit_csv(path: str, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
  with open(path, newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    fields, rows = reader.fieldnames, list(reader)
  rows = edit(rows)
  with open(path, "w", newline="", encoding="utf-8") as f:
    writer = csv.DictWriter(f, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)


def truncate_wav(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  with open(path, "rb") as f:
    data = f.read()
  with open(path, "wb") as f:
    f.write(data[:len(data) // 2])  # header still declares the full data chunk
  return {"uuid": uuid, "file": path}


def resample_wav_to_8k(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  samples, sr = soundfile.read(path, dtype="float32")
  soundfile.write(path, samples[::2], sr // 2, subtype="PCM_16")  # same duration, half the rate
  return {"uuid": uuid, "file": path}


def make_stereo(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  samples, sr = soundfile.read(path, dtype="float32")
  soundfile.write(path, np.stack([samples, 0.25 * samples], axis=1), sr, subtype="PCM_16")
  return {"uuid": uuid, "file": path}


def silence_every_wav(root):
  for name in os.listdir(os.path.join(root, "audios")):
    path = os.path.join(root, "audios", name)
    samples, sr = soundfile.read(path, dtype="float32")
    soundfile.write(path, np.zeros_like(samples), sr, subtype="PCM_16")
  return {}


def nan_coefficient(root):
  uuid = _first_train_uuid(root)
  path = _mat(root, uuid, "speaker")

  def edit(coeff, tp):
    coeff[3, 10] = np.nan
    return coeff, tp

  _edit_mat(path, edit)
  return {"uuid": uuid, "file": path}


def listener_five_frames_short(root):
  uuid = _first_train_uuid(root)
  _edit_mat(_mat(root, uuid, "listener"), lambda coeff, tp: (coeff[:-5], tp[:-5]))
  return {"uuid": uuid}


def halve_wav(root):
  uuid = _first_train_uuid(root)
  path = _wav(root, uuid)
  samples, sr = soundfile.read(path, dtype="float32")
  soundfile.write(path, samples[:len(samples) // 2], sr, subtype="PCM_16")
  return {"uuid": uuid, "file": path}


def empty_clip(root):
  uuid = _first_train_uuid(root)
  for role in ("speaker", "listener"):
    _edit_mat(_mat(root, uuid, role), lambda coeff, tp: (coeff[:0], tp[:0]))
  return {"uuid": uuid, "file": _mat(root, uuid, "speaker")}


_SHORT = 5  # frames: below min_window (10) of the smoke window (30)


def shorten_clip(root):
  uuid = _first_train_uuid(root)
  for role in ("speaker", "listener"):
    _edit_mat(_mat(root, uuid, role), lambda coeff, tp: (coeff[:_SHORT], tp[:_SHORT]))
  samples, sr = soundfile.read(_wav(root, uuid), dtype="float32")
  soundfile.write(_wav(root, uuid), samples[:int(round(_SHORT / _FPS * sr))], sr, subtype="PCM_16")
  return {"uuid": uuid}


def duplicate_uuid(root):
  uuid = _first_train_uuid(root)
  with open(os.path.join(root, "train.csv"), newline="", encoding="utf-8") as f:
    first = next(csv.DictReader(f))
  _edit_csv(os.path.join(root, "test.csv"), lambda rows: rows + [{**first, "split": "test", "video_id": "again"}])
  return {"uuid": uuid}


def unknown_attitude(root):
  uuid = _first_train_uuid(root)
  _edit_csv(os.path.join(root, "train.csv"),
            lambda rows: [{**r, "attitude": "sarcastic"} if r["uuid"] == uuid else r for r in rows])
  return {"uuid": uuid}


def react_item_without_neighbours(root):
  path = os.path.join(root, "neighbour_emotion_train.npy")
  matrix = np.load(path)
  matrix[0] = 0
  np.save(path, matrix)
  return {"file": path, "matrix": matrix}


def nothing(root):
  del root
  return {}


# ---------------------------------------------------------------------------------------------------------------
# Actions (what consumes the broken input) and checks of the documented handling.


def build_vico(root, out, facts, config=None):
  del facts
  return build_datasets.build("vico", root, out, config)


def build_vico_expecting_16k(root, out, facts):
  cfg = vico_dataset_builder.VicoConfig(name="raw16k", source="raw", expected_sr=16000)
  return build_vico(root, out, facts, cfg)


def build_react(root, out, facts):
  del facts
  return build_datasets.build("react", root, out)


def _open(out, dataset="vico/raw", split="train"):
  return pipeline.open_split(out, dataset, split)


def _clip(source, uuid):
  positions = [p for p in range(len(source)) if source[p]["uuid"] == uuid]
  assert len(positions) == 1
  return source[positions[0]]


def check_features_at_file_rate(out, facts):
  ex = _clip(_open(out), facts["uuid"])
  samples, sr = soundfile.read(facts["file"], dtype="float32")
  assert sr == 8000
  np.testing.assert_allclose(ex["audio"], audio.vico_features(samples, sr, _FPS, _FRAMES), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(ex["audio_mel"], audio.log_mel(samples, sr, _FPS, _FRAMES), rtol=1e-5, atol=1e-5)


def check_stereo_averaged(root, out, facts, logs):
  ex = _clip(_open(out), facts["uuid"])
  samples, sr = soundfile.read(facts["file"], dtype="float32", always_2d=True)
  assert samples.shape[1] == 2
  expected = audio.vico_features(samples.mean(axis=1), sr, _FPS, _FRAMES)
  first_channel = audio.vico_features(samples[:, 0], sr, _FPS, _FRAMES)
  np.testing.assert_allclose(ex["audio"], expected, rtol=1e-5, atol=1e-5)
  assert not np.allclose(ex["audio"], first_channel, atol=1e-3)
  assert any("averaging 2 channels to mono" in m and facts["uuid"] in m for m in logs)


def check_silence_finite(root, out, facts, logs):
  source = _open(out)
  for p in range(len(source)):
    assert np.all(np.isfinite(source[p]["audio"])) and np.all(np.isfinite(source[p]["audio_mel"]))
  floored = stats.load_stats(source.name.split("[")[0])["audio/std"]
  assert np.any(floored == 1.0)  # constant dimensions: std floored to 1, so z-scoring is a plain centring
  batch = next(pipeline.make_train_iterator(source, data_format="vico", window=30, stride=5, global_batch_size=4,
                                            seed=0))
  for key, value in batch.items():
    assert np.all(np.isfinite(value)), key


def check_short_clip_single_padded_window(root, out, facts, logs):
  source = _open(out)
  position = [p for p in range(len(source)) if source[p]["uuid"] == facts["uuid"]][0]
  index = int(source.indices[position])
  assert int(source.lengths[position]) == _SHORT
  num_windows = pipeline.count_windows(source, window=30, stride=5, min_window=10)
  batch = next(pipeline.make_train_iterator(source, data_format="vico", window=30, stride=5,
                                            global_batch_size=num_windows, seed=0, min_window=10))
  rows = np.flatnonzero(batch["clip_index"] == index)
  assert len(rows) == 1  # one window per epoch for a clip shorter than min_window
  row = rows[0]
  assert batch["lengths"][row] == _SHORT
  clip = source[position]
  np.testing.assert_allclose(batch["speaker"][row, :_SHORT], pipeline.normalize(clip["speaker"], source.stats,
                                                                                 "motion"), rtol=1e-6)
  for key in ("audio", "speaker", "listener", "audio_mel"):
    valid = _SHORT * (2 if key == "audio_mel" else 1)
    assert not np.any(batch[key][row, valid:]), f"{key} is not zero-padded"


def check_neighbour_fallback_to_self(root, out, facts, logs):
  source = _open(out, "react")
  matrix = facts["matrix"]
  for index in range(matrix.shape[0]):
    neighbours = source[source.position_of(index)]["neighbours"].tolist()
    expected = [index] if index == 0 else np.flatnonzero(matrix[index] == 1).tolist()
    assert neighbours == expected, index
  assert any("no appropriate neighbour" in m and facts["file"] in m for m in logs)


def remove_stats(root, out, facts):
  version_dir, _ = build_datasets.build("vico", root, out)
  facts["file"] = os.path.join(version_dir, "norm_stats.npz")
  os.remove(facts["file"])
  return _open(out)


def nan_stats(root, out, facts):
  version_dir, _ = build_datasets.build("vico", root, out)
  facts["file"] = os.path.join(version_dir, "norm_stats.npz")
  with np.load(facts["file"]) as f:
    values = dict(f)
  values["motion/std"][3] = np.nan
  np.savez(facts["file"], **values)
  return _open(out)


def open_unbuilt(root, out, facts):
  del root, facts
  return _open(out)


def _train_cli(*overrides, config_file="configs/vico_lstm.py:smoke"):
  def action(root, out, facts):
    del root, facts
    cmd = [sys.executable, "-m", "launch.train", f"--workdir={out}/w", f"--config.data_dir={out}", *overrides]
    if config_file:  # without --config the default config file is read (and overridden) when the flag is defined
      cmd.insert(3, f"--config={config_file}")
    proc = subprocess.run(cmd, cwd=_REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": _REPO, "JAX_PLATFORMS": "cpu"})
    return proc
  return action


def check_cli_flag_error(pattern):
  def check(root, out, facts, proc):
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert re.search(pattern, proc.stderr), proc.stderr[-2000:]
  return check


def _train_config(**overrides):
  def action(root, out, facts):
    del facts
    build_datasets.build("vico", root, out)
    c = vico_lstm.get_config("smoke")
    c.data_dir = out
    c.update_from_flattened_dict(overrides)
    return trainer.train_and_evaluate(c, os.path.join(out, "w"))
  return action


def _task_from_config_file(**overrides):
  """Builds the task of a smoke config edited as a config file would be (fields the CLI cannot add)."""
  def action(root, out, facts):
    del root, out, facts
    c = vico_lstm.get_config("smoke")
    for key, value in overrides.items():
      section, field = key.split(".")
      c[section][field] = value
    return tasks.get_task(c)
  return action


# ---------------------------------------------------------------------------------------------------------------
# The table.


@dataclasses.dataclass(frozen=True)
class Case:
  """One broken input: how to break the raw layout, what consumes it, and the expected outcome."""

  name: str
  dataset: str  # 'vico' | 'react': which raw layout to start from
  corrupt: Callable[[str], dict[str, Any]]
  action: Callable[[str, str, dict[str, Any]], Any]
  error: type[BaseException] | None = None  # expected exception type, or None for documented handling
  message: str = ""  # regex (formatted with the corruption facts, escaped) the error message must match
  check: Callable[..., None] | None = None  # check(root, out, facts, result_or_logs) for handled inputs


_CASES = [
    Case("truncated_wav", "vico", truncate_wav, build_vico, raw.DataError,
         r"clip {uuid}: {file}: unreadable wav: .*truncated wav: the header declares \d+ data bytes"),
    Case("wrong_sample_rate", "vico", resample_wav_to_8k, build_vico_expecting_16k, raw.DataError,
         r"clip {uuid}: {file}: .*sample rate 8000 Hz, expected 16000 Hz"),
    Case("other_sample_rate_without_expected_sr", "vico", resample_wav_to_8k, build_vico,
         check=lambda root, out, facts, logs: check_features_at_file_rate(out, facts)),
    Case("stereo_is_averaged", "vico", make_stereo, build_vico, check=check_stereo_averaged),
    Case("silence_gives_finite_features", "vico", silence_every_wav, build_vico, check=check_silence_finite),
    Case("nan_coefficients", "vico", nan_coefficient, build_vico, raw.DataError,
         r"clip {uuid}: {file}: coeff has 1 NaN/inf values \(first at frame 3, dim 10\)"),
    Case("speaker_listener_frame_mismatch", "vico", listener_five_frames_short, build_vico, raw.DataError,
         r"clip {uuid}: frame counts disagree: speaker has 45 frames .*listener has 40 frames"),
    Case("audio_frame_mismatch", "vico", halve_wav, build_vico, raw.DataError,
         r"clip {uuid}: {file}: wav lasts 0.750 s = 22.50 frames .* but the clip has 45 frames"),
    Case("empty_clip", "vico", empty_clip, build_vico, raw.DataError, r"clip {uuid}: {file}: coeff is empty"),
    Case("clip_shorter_than_one_window", "vico", shorten_clip, build_vico,
         check=check_short_clip_single_padded_window),
    Case("duplicate_uuid", "vico", duplicate_uuid, build_vico, raw.DataError,
         r"duplicate uuid {uuid}: .*train.csv \(train\) and .*test.csv \(test\)"),
    Case("unknown_attitude_label", "vico", unknown_attitude, build_vico, raw.DataError,
         r"train.csv: line 2: clip {uuid}: unknown attitude label 'sarcastic'"),
    Case("react_item_without_neighbours", "react", react_item_without_neighbours, build_react,
         check=check_neighbour_fallback_to_self),
    Case("missing_norm_stats", "vico", nothing, remove_stats, stats.StatsNotFoundError, r"{file}"),
    Case("nan_norm_stats", "vico", nothing, nan_stats, stats.StatsError, r"{file}: non-finite values in motion/std"),
    Case("dataset_not_built", "vico", nothing, open_unbuilt, FileNotFoundError,
         r"no prepared dataset 'vico/raw'.*python -m launch.build_datasets"),
    Case("cli_unknown_config_field", "vico", nothing, _train_cli("--config.nonexistent=1"),
         check=check_cli_flag_error(r"FATAL Flags parsing error: --config.nonexistent=1: the config has no field "
                                    r"'nonexistent'")),
    Case("cli_unknown_config_field_default_config_file", "vico", nothing,
         _train_cli("--config.nonexistent=1", config_file=None),
         check=check_cli_flag_error(r"FATAL Flags parsing error: --config.nonexistent=1: the config has no field "
                                    r"'nonexistent'")),
    Case("cli_misspelt_loss_field", "vico", nothing, _train_cli("--config.loss.nmae=paper"),
         check=check_cli_flag_error(r"--config.loss.nmae=paper: the config has no field 'nmae'.*Did you mean "
                                    r"\"name\"")),
    Case("unknown_model_name", "vico", nothing, _train_config(model_name="transformer_xl"), ValueError,
         r"config.model_name='transformer_xl' is not a known model; choose one of \[.*'vico_lstm'.*\]"),
    Case("unknown_loss_name", "vico", nothing, _train_config(**{"loss.name": "l2"}), ValueError,
         r"config.loss.name='l2'; expected 'reference' or 'paper'"),
    # A config *file* (not the CLI, which rejects it above) with a misspelt loss field.
    Case("misspelt_loss_field_in_config_file", "vico", nothing,
         _task_from_config_file(**{"loss.wieghts": {"exp": 2.0}}), ValueError, r"wieghts"),
]


@pytest.mark.parametrize("case", _CASES, ids=[getattr(c, "values", [c])[0].name for c in _CASES])
def test_bad_input(case, vico_raw, react_raw, tmp_path, caplog):
  root = str(tmp_path / "raw")
  shutil.copytree(vico_raw if case.dataset == "vico" else react_raw, root)
  out = str(tmp_path / "data")
  facts = case.corrupt(root)
  if case.error is not None:
    with pytest.raises(case.error) as info:
      case.action(root, out, facts)
    # Facts may be completed by the action (e.g. the stats file it wrote), so format the pattern afterwards.
    pattern = case.message.format(**{k: re.escape(v) for k, v in facts.items() if isinstance(v, str)})
    assert re.search(pattern, str(info.value)), f"{pattern!r} not in {str(info.value)!r}"
    return
  with caplog.at_level(logging.INFO):
    result = case.action(root, out, facts)
  logs = [r.getMessage() for r in caplog.records]
  case.check(root, out, facts, result if isinstance(result, subprocess.CompletedProcess) else logs)


# ---------------------------------------------------------------------------------------------------------------
# Non-finite numbers reaching the trainer (the data builders reject NaN files, so inject one into a batch).


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
