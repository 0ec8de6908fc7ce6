"""launch.bench_scale on the :accel variants: the config's batch and dtype, CPU fallback, every model."""
import logging

import pytest
from absl import flags
from absl.testing import flagsaver

from launch import bench_scale


@pytest.fixture
def parse_flags():
  """`parse(--name=value, ...)` sets bench_scale's flags for the test (global FLAGS are restored afterwards)."""
  absl_level = logging.getLogger("absl").level
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()  # no argv parse: other test modules' required flags stay unchecked
  saved = flagsaver.save_flag_values()

  def restore():  # restore_flag_values installs the given dicts: hand it copies so `saved` stays intact
    flagsaver.restore_flag_values({name: dict(values) for name, values in saved.items()})

  def parse(*args):
    restore()  # every call starts from the defaults
    for arg in args:
      name, value = arg[2:].split("=", 1)
      flags.FLAGS[name].parse(value)
      flags.FLAGS[name].using_default_value = False

  yield parse
  restore()
  logging.getLogger("absl").setLevel(absl_level)


def test_accel_variant_defaults_to_the_config_batch(parse_flags):
  parse_flags("--variant=accel")
  assert bench_scale.batch_sizes(bench_scale.model_config("vico_lstm")) == [256]
  assert bench_scale.batch_sizes(bench_scale.model_config("trans_ae")) == [64]
  parse_flags("--variant=accel", "--batch_sizes=32,config")
  assert bench_scale.batch_sizes(bench_scale.model_config("reactface")) == [32, 64]
  parse_flags()
  assert bench_scale.batch_sizes(bench_scale.model_config("vico_lstm")) == [8, 16, 32, 64, 128, 256]


@pytest.mark.parametrize("model_name", ["vico_lstm", "reactface", "trans_ae"])
def test_accel_smoke_step_runs_in_float32_on_the_cpu(parse_flags, model_name):
  parse_flags("--variant=accel,smoke", "--steps=1", "--repeats=1", "--react_window=16", "--vico_window=12",
              "--num_neighbours=2")
  (batch,) = bench_scale.batch_sizes(bench_scale.model_config(model_name))
  record = bench_scale.measure(model_name, batch)
  assert record["backend"] == "cpu" and record["compute_dtype"] == "float32"  # 'auto' falls back on the CPU
  assert record["devices"] == 4 and record["global_batch"] == batch and record["frames_per_s"] > 0


def test_explicit_bf16_is_reported(parse_flags):
  parse_flags("--variant=accel,smoke", "--steps=1", "--repeats=1", "--vico_window=12", "--compute_dtype=bfloat16")
  record = bench_scale.measure("vico_lstm", 8)
  assert record["compute_dtype"] == "bfloat16"
  assert "| bfloat16 |" in bench_scale.markdown_table([record])
