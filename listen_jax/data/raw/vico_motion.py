"""Readers of the ViCo 3DMM files: Deep3DFaceRecon .mat files and the `torch.save` feature pickles
(read without torch)."""
from __future__ import annotations

import dataclasses
import io
import os
import pickle
from typing import Mapping
import zipfile

import numpy as np

from listen_jax import layouts
from listen_jax.data.raw.checks import BFM_WIDTH
from listen_jax.data.raw.checks import DataError
from listen_jax.data.raw.checks import TRANSFORM_WIDTH
from listen_jax.data.raw.checks import VICO_DYNAMIC_WIDTH
from listen_jax.data.raw.checks import VICO_STATIC_WIDTH
from listen_jax.data.raw.checks import _fail
from listen_jax.data.raw.checks import check_frames
from listen_jax.data.raw.checks import require_file


@dataclasses.dataclass(frozen=True)
class VicoMotion:
  """One person's ViCo coefficients.

  Attributes:
    dynamic: [T, 73] float32, ViCo dynamic layout [angle|exp|trans|crop].
    static: [T, 187] float32, [id|gamma|tex].
    image_size: [2] float32 (w0, h0) of the first frame's transform_params, or None when unknown.
  """

  dynamic: np.ndarray
  static: np.ndarray
  image_size: np.ndarray | None

  @property
  def num_frames(self) -> int:
    return int(self.dynamic.shape[0])


def read_bfm_mat(path, clip: str) -> tuple[np.ndarray, np.ndarray]:
  """Deep3DFaceRecon `.mat` -> (coeff [T, 257], transform_params [T, 5]), float32, validated."""
  import scipy.io  # pylint: disable=g-import-not-at-top

  path = require_file(path, clip, "3DMM reconstruction (.mat)")
  try:
    mat = scipy.io.loadmat(path)
  except (ValueError, OSError, TypeError, NotImplementedError) as e:
    raise _fail(clip, path, f"unreadable .mat file ({e})") from e
  for key in ("coeff", "transform_params"):
    if key not in mat:
      found = sorted(k for k in mat if not k.startswith("__"))
      raise _fail(clip, path, f"no {key!r} variable (found {found})")
  coeff = check_frames(mat["coeff"], width=BFM_WIDTH, clip=clip, path=path, what="coeff")
  tp = check_frames(mat["transform_params"], width=TRANSFORM_WIDTH, clip=clip, path=path, what="transform_params")
  if coeff.shape[0] != tp.shape[0]:
    raise _fail(clip, path, f"coeff has {coeff.shape[0]} frames but transform_params has {tp.shape[0]}")
  return coeff, tp


def read_vico_recon(path, clip: str) -> VicoMotion:
  """Deep3DFaceRecon `.mat` -> VicoMotion (image_size from the first frame's (w0, h0))."""
  coeff, tp = read_bfm_mat(path, clip)
  dynamic, static = layouts.bfm_to_vico(coeff, tp)
  return VicoMotion(dynamic=dynamic.astype(np.float32), static=static.astype(np.float32),
                    image_size=tp[0, :2].astype(np.float32))


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """Unpickles dicts/lists of numpy arrays only: no torch, no arbitrary classes."""

  _ALLOWED_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                      "numpy._core.numeric", "collections", "builtins", "_codecs")
  _ALLOWED_BUILTINS = ("dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bytes", "bool",
                       "complex", "slice", "bytearray")

  def find_class(self, module, name):
    if module == "builtins" and name not in self._ALLOWED_BUILTINS:
      raise pickle.UnpicklingError(f"refusing to unpickle builtins.{name}")
    if module == "collections" and name != "OrderedDict":
      raise pickle.UnpicklingError(f"refusing to unpickle collections.{name}")
    if module == "_codecs" and name != "encode":
      raise pickle.UnpicklingError(f"refusing to unpickle _codecs.{name}")
    if module not in self._ALLOWED_MODULES and not module.startswith("numpy."):
      raise pickle.UnpicklingError(
          f"refusing to unpickle {module}.{name}: only numpy arrays are supported (torch tensors need torch)")
    return super().find_class(module, name)

  def persistent_load(self, pid):
    raise pickle.UnpicklingError(
        f"the pickle references torch storage {pid!r}: it holds torch tensors, not numpy arrays")


# Magic number torch's legacy (non-zip) serialisation writes as its first pickle.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def read_torch_pickle(path, clip: str):
  """Reads a `torch.save` file of numpy arrays without importing torch.

  Accepts the zip format (`<name>/data.pkl` inside a zip), torch's legacy format (magic number, protocol and
  system-info pickles, then the object) and a plain pickle. Only numpy arrays and plain containers are
  allowed; torch tensors or other classes raise DataError.

  Args:
    path: the `.bin`/`.pt` file.
    clip: clip id for messages.

  Returns:
    The unpickled object (normally a dict of numpy arrays).
  """
  path = require_file(path, clip, "torch feature file (.bin)")
  try:
    if zipfile.is_zipfile(path):
      with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(names) != 1:
          raise _fail(clip, path, f"zip archive without a single data.pkl (entries: {zf.namelist()[:8]})")
        return _NumpyOnlyUnpickler(io.BytesIO(zf.read(names[0]))).load()
    with open(path, "rb") as f:
      first = _NumpyOnlyUnpickler(f).load()
      if isinstance(first, int) and first == _TORCH_LEGACY_MAGIC:
        _NumpyOnlyUnpickler(f).load()  # protocol version
        _NumpyOnlyUnpickler(f).load()  # system info
        return _NumpyOnlyUnpickler(f).load()
      return first
  except DataError:
    raise
  except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, AttributeError, ImportError, ValueError,
          KeyError, IndexError, TypeError) as e:
    raise _fail(clip, path, f"unreadable torch pickle ({type(e).__name__}: {e})") from e


def read_vico_feature_bin(path, clip: str) -> VicoMotion:
  """vico_challenge_baseline `video_feats/{uuid}.{role}.bin` -> VicoMotion (image_size None: not stored)."""
  obj = read_torch_pickle(path, clip)
  path = os.fspath(path)
  if not isinstance(obj, Mapping):
    raise _fail(clip, path, f"expected a dict of arrays, got {type(obj).__name__}")
  for key in ("angle.exp.trans", "id.gamma.tex"):
    if key not in obj:
      raise _fail(clip, path, f"no {key!r} entry (found {sorted(obj)})")
  dynamic = check_frames(obj["angle.exp.trans"], width=VICO_DYNAMIC_WIDTH, clip=clip, path=path,
                         what="'angle.exp.trans'")
  static = check_frames(obj["id.gamma.tex"], width=VICO_STATIC_WIDTH, clip=clip, path=path, what="'id.gamma.tex'")
  if dynamic.shape[0] != static.shape[0]:
    raise _fail(clip, path, f"'angle.exp.trans' has {dynamic.shape[0]} frames but 'id.gamma.tex' has "
                f"{static.shape[0]}")
  return VicoMotion(dynamic=dynamic, static=static, image_size=None)
