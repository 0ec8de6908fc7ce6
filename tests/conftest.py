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
