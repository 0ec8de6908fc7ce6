"""3DMM coefficient layouts: named slices and lossless conversions.

Layouts (per frame):
  * Deep3DFaceRecon / BFM09 `coeff` (257): [id 80 | exp 64 | tex 80 | angle 3 | gamma 27 | trans 3],
    plus `transform_params` (5) = [w0, h0, s, tx, ty].
  * ViCo dynamic (73): [angle 3 | exp 64 | trans 3 | crop 3 = (s, tx, ty)].
  * ViCo static (187): [id 80 | gamma 27 | tex 80].
  * PIRender semantic (73): [exp 64 | angle 3 | trans 3 | crop 3].
  * FaceVerse v2 (58): [exp 52 | rot 3 | trans 3].

All functions work on NumPy or JAX arrays with any leading shape (`[..., D]`).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np


@dataclasses.dataclass(frozen=True)
class Layout:
  """An ordered set of named contiguous slices of the last axis."""

  name: str
  groups: tuple[tuple[str, int], ...]

  @property
  def dim(self) -> int:
    return sum(n for _, n in self.groups)

  @property
  def slices(self) -> dict[str, slice]:
    out, start = {}, 0
    for key, n in self.groups:
      out[key] = slice(start, start + n)
      start += n
    return out

  def __getitem__(self, key: str) -> slice:
    return self.slices[key]

  def split(self, x) -> dict[str, object]:
    """Splits `[..., dim]` into a dict of named parts."""
    self.check(x)
    return {k: x[..., s] for k, s in self.slices.items()}

  def join(self, parts: Mapping[str, object]):
    """Concatenates named parts (any order of keys) into `[..., dim]`."""
    missing = [k for k, _ in self.groups if k not in parts]
    if missing:
      raise KeyError(f"{self.name}: missing parts {missing}")
    arrays = [parts[k] for k, _ in self.groups]
    for (k, n), a in zip(self.groups, arrays):
      if a.shape[-1] != n:
        raise ValueError(f"{self.name}: part {k!r} has width {a.shape[-1]}, expected {n}")
    xp = _xp(arrays[0])
    return xp.concatenate(arrays, axis=-1)

  def check(self, x, what: str = "array") -> None:
    if x.shape[-1] != self.dim:
      raise ValueError(f"{what}: last axis is {x.shape[-1]}, expected {self.dim} ({self.name} layout)")


def _xp(x):
  if isinstance(x, np.ndarray) or np.isscalar(x):
    return np
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top

  return jnp


BFM_COEFF = Layout("bfm257", (("id", 80), ("exp", 64), ("tex", 80), ("angle", 3), ("gamma", 27), ("trans", 3)))
TRANSFORM_PARAMS = Layout("transform_params", (("w0", 1), ("h0", 1), ("s", 1), ("tx", 1), ("ty", 1)))
VICO_DYNAMIC = Layout("vico73", (("angle", 3), ("exp", 64), ("trans", 3), ("crop", 3)))
VICO_STATIC = Layout("vico187", (("id", 80), ("gamma", 27), ("tex", 80)))
PIRENDER = Layout("pirender73", (("exp", 64), ("angle", 3), ("trans", 3), ("crop", 3)))
FACEVERSE = Layout("faceverse58", (("exp", 52), ("rot", 3), ("trans", 3)))

# The 25-d REACT facial-attribute ("emotion") vector: 15 AU occurrences, valence+arousal, 8 expression probs.
REACT_EMOTION = Layout("react_emotion25", (("au", 15), ("va", 2), ("expr", 8)))
# Group weights of the REACT weighted DTW (FRDist), in REACT_EMOTION group order.
REACT_EMOTION_DTW_WEIGHTS = (1.0 / 15.0, 1.0, 1.0 / 8.0)


def bfm_to_vico(coeff, transform_params):
  """Deep3DFaceRecon `coeff [..., 257]` + `transform_params [..., 5]` -> (dynamic [..., 73], static [..., 187])."""
  c = BFM_COEFF.split(coeff)
  tp = TRANSFORM_PARAMS.check(transform_params, "transform_params")
  del tp
  xp = _xp(coeff)
  crop = transform_params[..., 2:5].astype(coeff.dtype)
  dynamic = xp.concatenate([c["angle"], c["exp"], c["trans"], crop], axis=-1)
  static = xp.concatenate([c["id"], c["gamma"], c["tex"]], axis=-1)
  return dynamic, static


def vico_to_bfm(dynamic, static, image_size=(256.0, 256.0)):
  """Inverse of `bfm_to_vico`: (dynamic [..., 73], static [..., 187]) -> (coeff [..., 257], transform_params [..., 5]).

  `image_size` gives (w0, h0) of the original frames, which the 73-d vector does not carry.
  """
  d = VICO_DYNAMIC.split(dynamic)
  s = VICO_STATIC.split(static)
  xp = _xp(dynamic)
  coeff = BFM_COEFF.join(dict(id=s["id"], exp=d["exp"], tex=s["tex"], angle=d["angle"], gamma=s["gamma"],
                              trans=d["trans"]))
  wh = xp.broadcast_to(xp.asarray(image_size, dtype=dynamic.dtype), dynamic.shape[:-1] + (2,))
  transform_params = xp.concatenate([wh, d["crop"]], axis=-1)
  return coeff, transform_params


def vico_to_pirender(dynamic):
  """ViCo order [angle|exp|trans|crop] -> PIRender order [exp|angle|trans|crop]."""
  return PIRENDER.join(VICO_DYNAMIC.split(dynamic))


def pirender_to_vico(semantic):
  """PIRender order [exp|angle|trans|crop] -> ViCo order [angle|exp|trans|crop]."""
  return VICO_DYNAMIC.join(PIRENDER.split(semantic))
