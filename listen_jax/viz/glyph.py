"""Head-glyph geometry for all frames at once: the rotated ellipsoid head and the face drawn on its surface."""
from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np

from listen_jax import layouts
from listen_jax.viz.tracks import expression_features
from listen_jax.viz.tracks import pose_tracks


HEAD_AXES = (0.78, 1.0, 0.85)  # Ellipsoid semi-axes (x, y, z) in head radii.


def _on_surface(xy: np.ndarray, lift: float | np.ndarray = 0.0) -> np.ndarray:
  """Head-plane points `[..., 2]` -> points on the ellipsoid front `[..., 3]` (plus `lift` along z)."""
  a, b, c = HEAD_AXES
  r = 1.0 - (xy[..., 0] / a) ** 2 - (xy[..., 1] / b) ** 2
  z = c * np.sqrt(np.clip(r, 0.0, None)) + lift
  return np.concatenate([xy, z[..., None]], axis=-1)


def _ellipse(n: int, cx, cy, rx, ry) -> np.ndarray:
  """`[T, n, 2]` ellipse points; all arguments broadcast to [T]."""
  t = np.linspace(0, 2 * np.pi, n, endpoint=False)
  cx, cy, rx, ry = (np.asarray(v, np.float64)[..., None] for v in (cx, cy, rx, ry))
  return np.stack(np.broadcast_arrays(cx + rx * np.cos(t), cy + ry * np.sin(t)), axis=-1)


def _quad_curve(left, mid, right, n: int = 9) -> np.ndarray:
  """Quadratic curve through three `[T, 2]` points at u = 0, 0.5, 1: `[T, n, 2]`."""
  u = np.linspace(0.0, 1.0, n)[None, :, None]
  l, m, r = (p[:, None, :] for p in (left, mid, right))
  return l * (1 - u) * (1 - 2 * u) + m * 4 * u * (1 - u) + r * u * (2 * u - 1)


@dataclasses.dataclass
class _Glyph:
  """Screen-space polygons of one person for every frame (pixel coordinates of the supersampled panel)."""

  outline: np.ndarray  # [T, N, 2] head silhouette
  neck: np.ndarray  # [T, 4, 2]
  shoulders: np.ndarray  # [T, N, 2]
  ears: list  # 2 x [T, N, 2]
  eyes: list  # 2 x ([T, N, 2] eye outline, [T, N, 2] pupil, [T] visible)
  brows: list  # 2 x ([T, 3, 2], [T] visible)
  nose: np.ndarray  # [T, 4, 2]
  nose_visible: np.ndarray  # [T]
  mouth: np.ndarray  # [T, N, 2]
  mouth_open: np.ndarray  # [T]
  mouth_visible: np.ndarray  # [T]


def _glyph(coeffs: np.ndarray, size_px: int, pose_gain: float, channels: Mapping[str, int],
           x_offset: float = 0.0) -> _Glyph:
  T = len(coeffs)
  pose = pose_tracks(coeffs, pose_gain)
  feat = expression_features(layouts.VICO_DYNAMIC.split(coeffs)["exp"], channels)
  rot = pose["rotation"].astype(np.float64)
  radius = 0.3 * size_px * pose["size"].astype(np.float64)  # pixels per head radius
  centre = np.stack([x_offset + 0.5 * size_px + radius * pose["shift"][:, 0],
                     0.47 * size_px - radius * pose["shift"][:, 1]], axis=-1)

  def project(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Head points [T, N, 3] -> (pixels [T, N, 2], rotated z [T, N])."""
    p = np.einsum("tij,tnj->tni", rot, points)
    px = centre[:, None, :] + radius[:, None, None] * np.stack([p[..., 0], -p[..., 1]], axis=-1)
    return px, p[..., 2]

  def visible(points: np.ndarray) -> np.ndarray:
    """Whether the surface normal at the mean of each feature faces the camera: [T]."""
    a, b, c = HEAD_AXES
    normal = points.mean(axis=1) / np.array([a * a, b * b, c * c])
    return np.einsum("tj,tj->t", rot[:, 2, :], normal) > 0.05

  # Silhouette of the rotated ellipsoid under orthographic projection along z: the Schur complement of the
  # quadric A = R diag(1/axes^2) R^T on the (x, y) block is the 2-D ellipse matrix.
  quad = np.einsum("tij,j,tkj->tik", rot, 1.0 / np.square(HEAD_AXES), rot)
  m2 = quad[:, :2, :2] - quad[:, :2, 2:] @ quad[:, 2:, :2] / quad[:, 2:, 2:]
  evals, evecs = np.linalg.eigh(m2)
  t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
  circle = np.stack([np.cos(t), np.sin(t)], axis=-1)  # [N, 2]
  local = circle[None] / np.sqrt(evals)[:, None, :]
  head = np.einsum("tij,tnj->tni", evecs, local)
  outline = centre[:, None, :] + radius[:, None, None] * np.stack([head[..., 0], -head[..., 1]], axis=-1)

  # Neck and shoulders follow the head's shift (damped) but do not rotate.
  body_x = x_offset + 0.5 * size_px + 0.6 * radius * pose["shift"][:, 0]
  neck_top, neck_w = 0.47 * size_px + 0.55 * radius, 0.3 * radius
  neck = np.stack([np.stack([body_x - neck_w, neck_top], -1), np.stack([body_x + neck_w, neck_top], -1),
                   np.stack([body_x + neck_w, neck_top + 0.8 * radius], -1),
                   np.stack([body_x - neck_w, neck_top + 0.8 * radius], -1)], axis=1)
  shoulders = _ellipse(48, body_x, neck_top + 1.45 * radius, 1.45 * radius, 0.75 * radius)
  # Ears: flat ovals just behind the sides of the head, drawn before it so only the part outside shows.
  ears = []
  for side in (-1.0, 1.0):
    ring = _ellipse(20, side * (HEAD_AXES[0] - 0.02), 0.0, 0.09, 0.17)[None]
    ear3 = np.concatenate([ring, np.full(ring.shape[:-1] + (1,), -0.05)], axis=-1)
    ears.append(project(np.broadcast_to(ear3, (T,) + ear3.shape[1:]))[0])

  openness = np.clip(1.0 - 1.3 * np.clip(feat["eye_close"] - 0.25, 0.0, None), 0.1, 1.0)
  brow = 0.07 * feat["brow_raise"]
  eyes, brows = [], []
  for side in (-1.0, 1.0):
    ex = side * 0.3
    eye3 = _on_surface(_ellipse(20, ex, 0.14, 0.125, 0.065 * openness), 0.01)
    pupil3 = _on_surface(_ellipse(14, ex, 0.14, 0.045, np.minimum(0.045, 0.06 * openness)), 0.02)
    eyes.append((project(eye3)[0], project(pupil3)[0], visible(eye3)))
    brow_xy = np.stack([np.stack([np.full(T, side * x), y + brow], -1)
                        for x, y in ((0.45, 0.3), (0.32, 0.37), (0.16, 0.33))], axis=1)
    brow3 = _on_surface(brow_xy, 0.015)
    brows.append((project(brow3)[0], visible(brow3)))
  nose_xy = np.broadcast_to(np.array([[0.0, 0.16], [0.0, -0.1], [-0.07, -0.15], [0.03, -0.16]]), (T, 4, 2))
  nose3 = _on_surface(nose_xy, np.array([0.0, 0.2, 0.03, 0.03]))
  smile = 0.09 * feat["smile"]
  opening = 0.03 + 0.2 * np.clip(feat["mouth_open"], 0.0, None)
  corners_y = -0.47 + smile
  left = np.stack([np.full(T, -0.24), corners_y], -1)
  right = np.stack([np.full(T, 0.24), corners_y], -1)
  upper = _quad_curve(left, np.stack([np.zeros(T), -0.46 - 0.5 * smile + 0.02], -1), right)
  lower = _quad_curve(left, np.stack([np.zeros(T), -0.46 - 0.5 * smile - opening], -1), right)
  mouth3 = _on_surface(np.concatenate([upper, lower[:, ::-1]], axis=1), 0.01)
  def clip(a: np.ndarray) -> np.ndarray:  # keep every shape inside its own panel
    return np.stack([np.clip(a[..., 0], x_offset, x_offset + size_px - 1), np.clip(a[..., 1], 0, size_px - 1)], -1)

  outline, neck, shoulders, mouth = clip(outline), clip(neck), clip(shoulders), clip(project(mouth3)[0])
  ears = [clip(e) for e in ears]
  eyes = [(clip(a), clip(b), v) for a, b, v in eyes]
  brows = [(clip(a), v) for a, v in brows]
  return _Glyph(outline=outline, neck=neck, shoulders=shoulders, ears=ears, eyes=eyes, brows=brows,
                nose=clip(project(nose3)[0]), nose_visible=visible(nose3[:, :2]), mouth=mouth, mouth_open=opening,
                mouth_visible=visible(mouth3))
