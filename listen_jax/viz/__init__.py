"""Weight-free previews of ViCo 3DMM motion: an animated 2-D head glyph and static pose/expression curves.

Inputs are raw (de-normalised) ViCo dynamic coefficients `[T, 73]` = [angle 3 | exp 64 | trans 3 | crop 3]
(`listen_jax.layouts.VICO_DYNAMIC`).

Head glyph (one panel per person, speaker left, listener right, audio envelope strip underneath):
  * Rotation: the head is an ellipsoid with the face drawn on its front surface, rotated by R = Rz·Ry·Rx from
    `angle` = (pitch x, yaw y, roll z) in radians (Deep3DFaceRecon convention: x right, y up, z towards the
    camera), times `pose_gain`, and projected orthographically. Yaw slides the face sideways (the nose sticks
    out, so it turns visibly), pitch nods it, roll tilts it; the silhouette is the exact projected ellipsoid.
  * Translation, relative to the clip's median: `trans` (x, y) through the Deep3DFaceRecon camera (focal 1015,
    camera at z = 10) plus the crop translation (tx, ty) scaled by s (the face moving in the original frame);
    size follows (10 - tz) and s. About 62 px of the 224 crop make one head radius.
  * Expression: BFM expression components have no published semantics, so a few low-order components drive
    display features heuristically (`EXPRESSION_CHANNELS`: mouth opening <- exp[0], smile <- exp[1],
    brow raise <- exp[2], eye closure <- exp[3]). Each is normalised per clip and per person
    (z = (x - mean) / std, then tanh(z / 1.5)), so any clip looks alive whatever its absolute scale; the
    features show relative changes within a clip, not calibrated expressions.

Drawing is PIL on 2x supersampled panels with geometry computed for all frames at once in NumPy: a 10 s,
30 fps two-person clip (300 frames of 640x384) renders in about 2 s of CPU time (~7 ms a frame).

Video files: `.mp4` through imageio's ffmpeg plugin (needs the `imageio-ffmpeg` package; audio is muxed in as
AAC), `.gif` through Pillow (no audio).

Prediction directory format (written by launch/generate.py, read by `load_prediction_clip`):
  `{uuid}.npy` [T, 73] float, predicted listener, raw ViCo order (required; one clip per file);
  `{uuid}.speaker.npy` [T, 73] speaker coefficients (optional); `{uuid}.listener_gt.npy` [T, 73] ground-truth
  listener (optional); `{uuid}.wav` the speaker's audio (optional).
"""
from __future__ import annotations

import dataclasses
import glob
import os
import tempfile
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from listen_jax import layouts

EXPRESSION_CHANNELS: Mapping[str, int] = {"mouth_open": 0, "smile": 1, "brow_raise": 2, "eye_close": 3}
PANEL = 320  # Output pixels per head panel (square).
STRIP = 64  # Output pixels of the audio strip under the panels.
FOCAL, CAMERA_Z, PX_PER_HEAD = 1015.0, 10.0, 62.0  # Deep3DFaceRecon camera; crop pixels per head radius.
HEAD_AXES = (0.78, 1.0, 0.85)  # Ellipsoid semi-axes (x, y, z) in head radii.
_SS = 2  # Supersampling factor.
_BACKGROUND = (238, 241, 245)
_SKIN = {"speaker": (172, 199, 230), "listener": (242, 201, 160)}
_INK = (45, 45, 55)
_SUFFIXES = (".speaker.npy", ".listener_gt.npy")


class PreviewError(ValueError):
  """Bad input to the preview renderer (names the clip/file and the problem)."""


# -- input checks and per-clip tracks ----------------------------------------------------------------------------


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


# -- glyph geometry (all frames at once) --------------------------------------------------------------------------


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


# -- drawing -------------------------------------------------------------------------------------------------------


def _font(size: int):
  try:
    return ImageFont.load_default(size=size)
  except TypeError:  # Pillow without FreeType sizes
    return ImageFont.load_default()


def _pts(a: np.ndarray) -> list[float]:
  return a.ravel().tolist()  # PIL takes flat [x0, y0, x1, y1, ...] sequences


def _draw_glyph(d: ImageDraw.ImageDraw, g: _Glyph, t: int, skin, lw: int) -> None:
  """Draws frame t of one person's glyph (coordinates already in canvas pixels)."""
  shade = tuple(int(0.8 * c) for c in skin)
  d.polygon(_pts(g.shoulders[t]), fill=shade, outline=_INK, width=lw)
  d.polygon(_pts(g.neck[t]), fill=skin, outline=_INK, width=lw)
  for ear in g.ears:
    d.polygon(_pts(ear[t]), fill=skin, outline=_INK, width=lw)
  d.polygon(_pts(g.outline[t]), fill=skin, outline=_INK, width=lw)
  for outline, pupil, vis in g.eyes:
    if vis[t]:
      d.polygon(_pts(outline[t]), fill=(252, 252, 252), outline=_INK, width=lw)
      d.polygon(_pts(pupil[t]), fill=(40, 50, 70))
  for brow, vis in g.brows:
    if vis[t]:
      d.line(_pts(brow[t]), fill=(70, 55, 45), width=3 * lw, joint="curve")
  if g.nose_visible[t]:
    d.line(_pts(g.nose[t]), fill=_INK, width=lw, joint="curve")
  if g.mouth_visible[t]:
    d.polygon(_pts(g.mouth[t]), fill=(120, 30, 40) if g.mouth_open[t] > 0.06 else (170, 70, 80),
              outline=(110, 35, 45), width=lw)


def _strip_background(env: np.ndarray | None, width: int, height: int, font) -> Image.Image:
  """Audio strip image (supersampled); frame t sits at x = margin + (width - 2 margin) (t + 0.5) / T."""
  img = Image.new("RGB", (width, height), (226, 230, 236))
  d = ImageDraw.Draw(img)
  margin = 10 * _SS
  T = 1 if env is None else len(env)
  xs = margin + (width - 2 * margin) * (np.arange(T) + 0.5) / T
  mid = height * 0.55
  if env is not None:
    amp = env * (height * 0.38)
    poly = list(zip(xs, mid - amp)) + list(zip(xs[::-1], (mid + amp)[::-1]))
    d.polygon([(float(x), float(y)) for x, y in poly], fill=(110, 140, 190))
    d.text((margin, 2 * _SS), "speaker audio", fill=_INK, font=font)
  else:
    d.line([(margin, mid), (width - margin, mid)], fill=(150, 150, 160), width=_SS)
    d.text((margin, 2 * _SS), "no audio", fill=_INK, font=font)
  return img


def render_frames(listener, speaker=None, audio_env: np.ndarray | None = None, fps: float = 30.0,
                  pose_gain: float = 1.5, channels: Mapping[str, int] = EXPRESSION_CHANNELS,
                  panel: int = PANEL, name: str = "clip") -> np.ndarray:
  """Draws the preview frames.

  Args:
    listener: [T, 73] raw ViCo coefficients of the listener.
    speaker: optional [T', 73] speaker coefficients (cut or padded to T), drawn on the left.
    audio_env: optional [T] audio envelope in [0, 1] (`audio_envelope`), drawn as a strip with a cursor.
    fps: frame rate (for the time read-out).
    pose_gain: multiplier on the head angles (small listener motions become visible).
    channels: expression index of each display feature (see `EXPRESSION_CHANNELS`).
    panel: pixels per head panel (a multiple of 16 keeps video encoders happy).
    name: clip name for error messages.

  Returns:
    [T, panel + STRIP, panel * (2 if speaker else 1), 3] uint8 frames.
  """
  listener = _check_coeffs(listener, f"{name}: listener")
  T = len(listener)
  people = [("listener", listener)]
  if speaker is not None:
    people.insert(0, ("speaker", fit_length(_check_coeffs(speaker, f"{name}: speaker"), T)))
  if audio_env is not None:
    audio_env = fit_length(np.asarray(audio_env, np.float32).reshape(-1, 1), T)[:, 0]
  size = panel * _SS
  glyphs = [(role, _glyph(c, size, pose_gain, channels, x_offset=k * size)) for k, (role, c) in enumerate(people)]
  font, small = _font(15 * _SS), _font(12 * _SS)
  width, strip_h = size * len(people), STRIP * _SS
  # Everything that does not move is drawn once.
  background = Image.new("RGB", (width, size + strip_h), _BACKGROUND)
  background.paste(_strip_background(audio_env, width, strip_h, small), (0, size))
  d = ImageDraw.Draw(background)
  for k, (role, _) in enumerate(glyphs):
    d.text((k * size + 12 * _SS, 8 * _SS), role, fill=_INK, font=font)
  lw = max(2, size // 160)
  frames = np.empty((T, panel + STRIP, panel * len(people), 3), np.uint8)
  for t in range(T):
    canvas = background.copy()
    d = ImageDraw.Draw(canvas)
    for role, g in glyphs:
      _draw_glyph(d, g, t, _SKIN[role], lw)
    x = 10 * _SS + (width - 20 * _SS) * (t + 0.5) / T  # same time axis as the envelope in the strip
    d.line([(x, size + 4 * _SS), (x, size + strip_h - 4 * _SS)], fill=(200, 40, 40), width=2 * _SS)
    d.text((width - 80 * _SS, size + 2 * _SS), f"{t / fps:5.2f} s", fill=_INK, font=small)
    frames[t] = np.asarray(canvas.reduce(_SS))
  return frames


# -- video files ---------------------------------------------------------------------------------------------------


def write_video(path: str, frames: np.ndarray, fps: float, audio: tuple[np.ndarray, int] | None = None,
                audio_path: str | None = None) -> str:
  """Writes `[T, H, W, 3] uint8` frames to `.mp4` (H.264 + AAC audio if given) or `.gif` (no audio).

  Args:
    path: output file; the extension picks the format.
    frames: [T, H, W, 3] uint8 (H and W multiples of 16 avoid rescaling in the mp4 encoder).
    fps: frames per second.
    audio: optional (samples [n] or [n, channels], sample_rate) muxed into an mp4 (cut to the video length).
    audio_path: alternatively an existing audio file to mux.

  Returns:
    `path`.
  """
  frames = np.asarray(frames)
  if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
    raise PreviewError(f"{path}: frames must be [T, H, W, 3] uint8, got {frames.shape} {frames.dtype}")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  ext = os.path.splitext(path)[1].lower()
  if ext == ".gif":
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(round(1000 / fps)), loop=0,
                   optimize=False)
    return path
  if ext not in (".mp4", ".mov", ".mkv"):
    raise PreviewError(f"{path}: unsupported video extension {ext!r} (use .mp4 or .gif)")
  try:
    import imageio.v2 as iio  # pylint: disable=g-import-not-at-top
    import imageio_ffmpeg  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  except ImportError as e:
    raise PreviewError(f"{path}: writing {ext} needs `pip install imageio imageio-ffmpeg` ({e}); or use .gif") from e
  with tempfile.TemporaryDirectory() as tmp:
    if audio is not None and audio_path is None:
      import soundfile  # pylint: disable=g-import-not-at-top

      samples, sr = audio
      samples = np.asarray(samples, np.float32)[: int(np.ceil(len(frames) / fps * sr))]
      audio_path = os.path.join(tmp, "audio.wav")
      soundfile.write(audio_path, samples, int(sr))
    kwargs = dict(fps=fps, codec="libx264", quality=7, macro_block_size=16, pixelformat="yuv420p",
                  ffmpeg_log_level="error")
    if audio_path is not None:
      if not os.path.isfile(audio_path):
        raise FileNotFoundError(f"{path}: audio file {audio_path} does not exist")
      kwargs.update(audio_path=audio_path, audio_codec="aac", output_params=["-shortest"])
    with iio.get_writer(path, format="FFMPEG", mode="I", **kwargs) as writer:
      for frame in frames:
        writer.append_data(frame)
  return path


def read_video(path: str) -> np.ndarray:
  """Reads all frames of a video or gif: `[T, H, W, 3] uint8`."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f"video {path} does not exist")
  if path.lower().endswith(".gif"):
    with Image.open(path) as im:
      frames = []
      for i in range(getattr(im, "n_frames", 1)):
        im.seek(i)
        frames.append(np.asarray(im.convert("RGB")))
    return np.stack(frames)
  import imageio.v2 as iio  # pylint: disable=g-import-not-at-top

  with iio.get_reader(path, format="FFMPEG") as reader:
    return np.stack([np.asarray(f)[..., :3] for f in reader])


# -- public API ----------------------------------------------------------------------------------------------------


def render_preview(listener, speaker=None, audio: tuple[np.ndarray, int] | None = None, fps: float = 30.0,
                   out_path: str = "preview.mp4", pose_gain: float = 1.5, name: str = "clip") -> str:
  """Renders the head-glyph preview of one clip to `out_path` (.mp4 with the audio muxed in, or .gif).

  Args:
    listener: [T, 73] raw ViCo-order listener coefficients.
    speaker: optional [T, 73] speaker coefficients, drawn on the left.
    audio: optional (samples, sample_rate) of the speaker's audio: envelope strip and mp4 soundtrack.
    fps: video frame rate (ViCo: 30).
    out_path: output file.
    pose_gain: multiplier on head angles.
    name: clip name for error messages.

  Returns:
    `out_path`.
  """
  listener = _check_coeffs(listener, f"{name}: listener")
  env = None
  if audio is not None:
    env = audio_envelope(audio[0], int(audio[1]), fps, len(listener))
  frames = render_frames(listener, speaker, env, fps, pose_gain=pose_gain, name=name)
  return write_video(out_path, frames, fps, audio=audio)


def plot_curves(pred, true=None, speaker=None, audio_env: np.ndarray | None = None, fps: float = 30.0,
                out_png: str = "curves.png", title: str | None = None) -> str:
  """Static plot of head rotation, translation and expression over time (prediction vs ground truth).

  Rows: speaker audio envelope (if given); listener head rotation in degrees (prediction solid, ground truth
  dashed); speaker head rotation (if given); listener translation; expression heat-maps [64, T] of the
  prediction and of the ground truth (if given), on a shared colour scale.

  Args:
    pred: [T, 73] predicted listener (raw ViCo order).
    true: optional [T', 73] ground-truth listener.
    speaker: optional [T', 73] speaker.
    audio_env: optional [T''] envelope (any length; drawn on the same time axis at `fps`).
    fps: frames per second of all arrays.
    out_png: output PNG path.
    title: figure title.

  Returns:
    `out_png`.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  pred = _check_coeffs(pred, "plot_curves: pred")
  true = None if true is None else _check_coeffs(true, "plot_curves: true")
  speaker = None if speaker is None else _check_coeffs(speaker, "plot_curves: speaker")
  split = layouts.VICO_DYNAMIC.split
  rows = (["audio"] if audio_env is not None else []) + ["angle"] + (["speaker"] if speaker is not None else [])
  rows += ["trans", "crop", "exp_pred"] + (["exp_true"] if true is not None else [])
  ratios = {"audio": 0.6, "angle": 1.0, "speaker": 0.8, "trans": 0.9, "crop": 0.8, "exp_pred": 1.2,
            "exp_true": 1.2}
  fig, axes = plt.subplots(len(rows), 1, figsize=(11, 1.7 * sum(ratios[r] for r in rows) + 0.6), sharex=True,
                           gridspec_kw={"height_ratios": [ratios[r] for r in rows]}, squeeze=False)
  axes = dict(zip(rows, axes[:, 0]))
  time = lambda n: np.arange(n) / fps
  colours = ("tab:blue", "tab:orange", "tab:green")
  if audio_env is not None:
    env = np.asarray(audio_env, np.float32).reshape(-1)
    axes["audio"].fill_between(time(len(env)), -env, env, color="slategray", lw=0)
    axes["audio"].set_ylabel("audio")
    axes["audio"].set_yticks([])

  def curves(ax, series, names, unit, scale=1.0):
    for k, name in enumerate(names):
      for x, style, tag in series:
        ax.plot(time(len(x)), x[:, k] * scale, style, color=colours[k], lw=1.2,
                label=f"{name}{tag}" if tag or len(series) == 1 else name)
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, ncol=len(names) * len(series), frameon=False)

  deg = 180.0 / np.pi
  series = [(split(pred)["angle"], "-", "")] + ([(split(true)["angle"], "--", " (true)")] if true is not None else [])
  curves(axes["angle"], series, ("pitch", "yaw", "roll"), "listener\nrotation (deg)", deg)
  if speaker is not None:
    curves(axes["speaker"], [(split(speaker)["angle"], "-", "")], ("pitch", "yaw", "roll"),
           "speaker\nrotation (deg)", deg)
  # Translation and crop offsets are shown relative to the median of the ground truth (or of the prediction),
  # so small motions are visible next to the large constant depth / pixel position.
  ref = true if true is not None else pred
  for row, group, names, unit in (("trans", "trans", ("x", "y", "z"), "translation\n- median"),
                                  ("crop", "crop", ("s", "tx", "ty"), "crop (px)\n- median")):
    centre = np.median(split(ref)[group], axis=0)
    series = [(split(pred)[group] - centre, "-", "")]
    if true is not None:
      series.append((split(true)[group] - centre, "--", " (true)"))
    if group == "crop":  # s is a unitless scale: only the pixel offsets tx, ty are plotted
      series = [(x[:, 1:], style, tag) for x, style, tag in series]
      names = names[1:]
    curves(axes[row], series, names, unit)
  exps = [split(pred)["exp"]] + ([split(true)["exp"]] if true is not None else [])
  vmax = max(float(np.percentile(np.abs(e), 99)) for e in exps) or 1.0
  for row, e, tag in zip(("exp_pred", "exp_true"), exps, ("predicted", "true")):
    im = axes[row].imshow(e.T, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest",
                          extent=(0, len(e) / fps, 63.5, -0.5))
    axes[row].set_ylabel(f"{tag}\nexpression")
    fig.colorbar(im, cax=axes[row].inset_axes((1.008, 0.0, 0.012, 1.0)))
  axes[rows[-1]].set_xlabel("time (s)")
  if title:
    fig.suptitle(title)
  fig.subplots_adjust(left=0.1, right=0.94, top=0.95 if title else 0.98, bottom=0.06, hspace=0.12)
  os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
  fig.savefig(out_png, dpi=100)
  plt.close(fig)
  return out_png


# -- prediction directories ----------------------------------------------------------------------------------------


def list_prediction_clips(predictions_dir: str) -> list[str]:
  """Clip ids (`{uuid}` of `{uuid}.npy`) in a prediction directory, sorted."""
  if not os.path.isdir(predictions_dir):
    raise FileNotFoundError(f"predictions directory {predictions_dir} does not exist")
  names = []
  for path in glob.glob(os.path.join(predictions_dir, "*.npy")):
    base = os.path.basename(path)
    if not base.endswith(_SUFFIXES):
      names.append(base[: -len(".npy")])
  return sorted(names)


def select_prediction_clips(predictions_dir: str, max_clips: int = 0,
                            clips: Sequence[str] | None = None) -> list[str]:
  """`clips` (default: every clip of the directory), cut to the first `max_clips` when > 0; raises when empty."""
  names = list(clips) if clips is not None else list_prediction_clips(predictions_dir)
  if not names:
    raise FileNotFoundError(f"no `{{uuid}}.npy` predictions in {predictions_dir}")
  return names[:max_clips] if max_clips > 0 else names


def load_prediction_clip(predictions_dir: str, uuid: str) -> dict:
  """Loads one clip of a prediction directory (format in the module docstring).

  Returns:
    dict with `listener` [T, 73] float32 and, when present, `speaker` [T', 73], `listener_gt` [T', 73],
    `audio` (samples float32, sample_rate).
  """
  base = os.path.join(predictions_dir, uuid)
  if not os.path.isfile(base + ".npy"):
    raise FileNotFoundError(f"prediction {base}.npy does not exist")
  out = {"listener": _check_coeffs(np.load(base + ".npy"), f"{base}.npy")}
  for key, suffix in (("speaker", ".speaker.npy"), ("listener_gt", ".listener_gt.npy")):
    if os.path.isfile(base + suffix):
      out[key] = _check_coeffs(np.load(base + suffix), base + suffix)
  if os.path.isfile(base + ".wav"):
    import soundfile  # pylint: disable=g-import-not-at-top

    samples, sr = soundfile.read(base + ".wav", dtype="float32", always_2d=False)
    out["audio"] = (samples, int(sr))
  return out


def preview_prediction_dir(predictions_dir: str, out_dir: str, fps: float = 30.0, max_clips: int = 0,
                           video_format: str = "mp4", pose_gain: float = 1.5,
                           clips: Sequence[str] | None = None) -> list[str]:
  """Writes `{uuid}.preview.{mp4|gif}` and `{uuid}.curves.png` for each clip of a prediction directory.

  Returns:
    The written file paths.
  """
  names = select_prediction_clips(predictions_dir, max_clips, clips)
  written = []
  for uuid in names:
    clip = load_prediction_clip(predictions_dir, uuid)
    audio = clip.get("audio")
    env = audio_envelope(audio[0], audio[1], fps, len(clip["listener"])) if audio is not None else None
    video = os.path.join(out_dir, f"{uuid}.preview.{video_format}")
    frames = render_frames(clip["listener"], clip.get("speaker"), env, fps, pose_gain=pose_gain, name=uuid)
    written.append(write_video(video, frames, fps, audio=audio))
    written.append(plot_curves(clip["listener"], clip.get("listener_gt"), clip.get("speaker"), env, fps,
                               os.path.join(out_dir, f"{uuid}.curves.png"), title=uuid))
  return written
