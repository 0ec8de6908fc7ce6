"""Preview input checks and per-clip tracks: pose (rotations, translation, size), normalised expression
features, audio envelope."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from listen_jax import layouts


EXPRESSION_CHANNELS: Mapping[str, int] = {"mouth_open": 0, "smile": 1, "brow_raise": 2, "eye_close": 3}
FOCAL, CAMERA_Z, PX_PER_HEAD = 1015.0, 10.0, 62.0  # Deep3DFaceRecon camera; crop pixels per head radius.


class PreviewError(ValueError):
  """Bad input to the preview renderer (names the clip/file and the problem)."""


def _check_coeffs(x, what: str) -> np.ndarray:
  x = np.asarray(x, dtype=np.float32)
  if x.ndim == 3 and x.shape[0] == 1:
    x = x[0]
  if x.ndim != 2 or x.shape[1] != layouts.VICO_DYNAMIC.dim:
    raise PreviewError(f"{what}: expected [T, 73] ViCo coefficients, got shape {x.shape}")
  if x.shape[0] == 0:
    raise PreviewError(f"{what}: no frames")
  if not np.all(np.isfinite(x)):
    raise PreviewError(f"{what}: contains NaN or inf")
  return x


def fit_length(x: np.ndarray, num_frames: int) -> np.ndarray:
  """Truncates or pads (repeating the last row) along axis 0 to `num_frames`."""
  if len(x) >= num_frames:
    return x[:num_frames]
  return np.concatenate([x, np.repeat(x[-1:], num_frames - len(x), axis=0)], axis=0)


def rotation_matrices(angle: np.ndarray) -> np.ndarray:
  """Euler angles `[T, 3]` (pitch x, yaw y, roll z; radians) -> R = Rz·Ry·Rx `[T, 3, 3]`."""
  cx, cy, cz = np.cos(angle).T
  sx, sy, sz = np.sin(angle).T
  one, zero = np.ones_like(cx), np.zeros_like(cx)
  rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(-1, 3, 3)
  ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(-1, 3, 3)
  rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(-1, 3, 3)
  return rz @ ry @ rx


def expression_features(exp: np.ndarray, channels: Mapping[str, int] = EXPRESSION_CHANNELS) -> dict[str, np.ndarray]:
  """Per-clip normalised display features in [-1, 1] from `exp [T, 64]` (see the module docstring)."""
  out = {}
  for name, index in channels.items():
    x = exp[:, index].astype(np.float64)
    std = x.std()
    z = (x - x.mean()) / std if std > 1e-6 else np.zeros_like(x)
    out[name] = np.tanh(z / 1.5).astype(np.float32)
  return out


def pose_tracks(coeffs: np.ndarray, pose_gain: float = 1.5) -> dict[str, np.ndarray]:
  """Rotation `[T, 3, 3]`, screen shift `[T, 2]` (head radii, y up) and size factor `[T]` of one person."""
  d = layouts.VICO_DYNAMIC.split(coeffs.astype(np.float64))
  trans, crop = d["trans"], d["crop"]
  depth = CAMERA_Z - trans[:, 2]
  shift = FOCAL * trans[:, :2] / depth[:, None] / PX_PER_HEAD
  shift = shift - np.median(shift, axis=0)
  s = crop[:, 0]
  s_ok = np.all(s > 1e-3)
  if s_ok:  # crop translation in original pixels -> aligned-crop pixels (x s) -> head radii
    shift = shift + (crop[:, 1:] - np.median(crop[:, 1:], axis=0)) * s[:, None] / PX_PER_HEAD
  size = (np.median(depth) / depth) * (np.median(s) / s if s_ok else 1.0)
  return {"rotation": rotation_matrices(d["angle"] * pose_gain).astype(np.float32),
          "shift": np.clip(shift, -0.8, 0.8).astype(np.float32),
          "size": np.clip(size, 0.75, 1.3).astype(np.float32)}


def audio_envelope(samples: np.ndarray, sample_rate: int, fps: float, num_frames: int) -> np.ndarray:
  """RMS of the audio over each video frame, scaled to [0, 1]: `[num_frames]` float32."""
  x = np.asarray(samples, dtype=np.float32)
  if x.ndim == 2:  # [n, channels]
    x = x.mean(axis=1)
  if x.ndim != 1:
    raise PreviewError(f"audio: expected [samples] or [samples, channels], got shape {x.shape}")
  hop = sample_rate / fps
  edges = np.minimum((np.arange(num_frames + 1) * hop).astype(np.int64), len(x))
  sq = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
  count = np.maximum(edges[1:] - edges[:-1], 1)
  env = np.sqrt((sq[edges[1:]] - sq[edges[:-1]]) / count)
  peak = env.max()
  return (env / peak if peak > 0 else env).astype(np.float32)
