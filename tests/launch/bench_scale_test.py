"""launch.bench_scale on the :accel variants: the config's batch and dtype, CPU fallback, every model."""
import pytest
from absl import flags

from launch import bench_scale


@pytest.fixture
def parse_flags():
  def parse(*args):
    flags.FLAGS.unparse_flags()  # every call starts from the defaults
    flags.FLAGS(["bench_scale", *args])
  yield parse
  flags.FLAGS.unparse_flags()


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
