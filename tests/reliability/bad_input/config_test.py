"""Broken configs: unknown or misspelt fields through `python -m launch.train` flags, the trainer and config files."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from configs import vico_lstm
from launch import build_datasets
from listen_jax import tasks
from listen_jax.train import trainer

from bad_input_cases import _REPO, Case, nothing, parametrize, run_case


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


_CASES = [
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


@parametrize(_CASES)
def test_bad_input(case, vico_raw, react_raw, tmp_path, caplog):
  run_case(case, vico_raw, react_raw, tmp_path, caplog)
