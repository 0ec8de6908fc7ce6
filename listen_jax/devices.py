"""Which accelerator this process runs on, and the defaults that follow from it.

`describe()` reports the JAX backend (`'cpu'`, `'gpu'`, `'tpu'`), the device kind (e.g. `'cpu'`,
`'NVIDIA H100 80GB HBM3'`, `'TPU v5 lite'`) and device/process counts; `resolve_compute_dtype` turns the
config's `compute_dtype` (`'float32'`, `'bfloat16'` or `'auto'`) into a dtype name: `'auto'` computes in
bfloat16 on GPU/TPU (native bf16 matrix units) and falls back to float32 on the CPU, where bf16 matmuls are
emulated and slower.
"""
from __future__ import annotations

import jax

ACCELERATOR_BACKENDS = ("gpu", "tpu")
COMPUTE_DTYPES = ("float32", "bfloat16", "auto")


def backend() -> str:
  """The default JAX backend: 'cpu', 'gpu' (CUDA or ROCm) or 'tpu'."""
  name = jax.default_backend()
  return "gpu" if name in ("cuda", "rocm") else name


def describe() -> dict:
  """`{'backend', 'device_kind', 'device_count', 'local_device_count', 'process_count'}` of this process."""
  devices = jax.devices()
  return {"backend": backend(), "device_kind": devices[0].device_kind, "device_count": len(devices),
          "local_device_count": jax.local_device_count(), "process_count": jax.process_count()}


def is_accelerator(name: str | None = None) -> bool:
  """True when `name` (default: the running backend) is a GPU or TPU backend."""
  return (name or backend()) in ACCELERATOR_BACKENDS


def resolve_compute_dtype(compute_dtype: str, backend_name: str | None = None) -> str:
  """The forward/backward dtype for `config.compute_dtype` on `backend_name` (default: the running backend).

  Args:
    compute_dtype: 'float32', 'bfloat16' (as given, on any backend) or 'auto' (bfloat16 on GPU/TPU, float32 on
      the CPU).
    backend_name: 'cpu', 'gpu' or 'tpu'.

  Returns:
    'float32' or 'bfloat16'.
  """
  if compute_dtype not in COMPUTE_DTYPES:
    raise ValueError(f"config.compute_dtype={compute_dtype!r}: expected one of {', '.join(COMPUTE_DTYPES)}")
  if compute_dtype != "auto":
    return compute_dtype
  return "bfloat16" if is_accelerator(backend_name) else "float32"
