"""Test-wide JAX set-up: 4 simulated CPU devices and a persistent compilation cache.

This runs before any test module touches JAX devices, so sharded code is exercised on CPU.
Nothing is written into the repository: caches go to $LISTEN_JAX_CACHE_DIR (default ~/.cache/listen_jax).
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import jax  # noqa: E402

jax.config.update("jax_num_cpu_devices", 4)
_cache = os.environ.get("LISTEN_JAX_CACHE_DIR", os.path.expanduser("~/.cache/listen_jax"))
os.makedirs(_cache, exist_ok=True)
jax.config.update("jax_compilation_cache_dir", os.path.join(_cache, "jit"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

import pytest  # noqa: E402


def _prepared(tmp_path_factory, dataset: str, make_raw) -> str:
  """Writes a synthetic raw layout with `make_raw(raw_dir)`, builds it with TFDS; returns the data_dir."""
  from launch import build_datasets  # pylint: disable=g-import-not-at-top

  root = tmp_path_factory.mktemp(dataset)
  make_raw(str(root / "raw"))
  build_datasets.build(dataset, str(root / "raw"), str(root / "data"))
  return str(root / "data")


@pytest.fixture(scope="session")
def vico_data_dir(tmp_path_factory):
  """A tiny prepared ViCo dataset (synthetic raw layout -> TFDS build); returns the TFDS data_dir."""
  from listen_jax import synthetic  # pylint: disable=g-import-not-at-top

  return _prepared(tmp_path_factory, "vico",
                   lambda raw: synthetic.make_vico(raw, num_clips=12, seed=0, min_seconds=2.0, max_seconds=4.0))


@pytest.fixture(scope="session")
def react_data_dir(tmp_path_factory):
  """A tiny prepared REACT dataset; returns the TFDS data_dir."""
  from listen_jax import synthetic  # pylint: disable=g-import-not-at-top

  return _prepared(tmp_path_factory, "react",
                   lambda raw: synthetic.make_react(raw, num_clips=10, seed=0, min_seconds=4.0, max_seconds=4.0))
