"""Drawing head-glyph panels and the audio strip into RGB frames (PIL, supersampled)."""
from __future__ import annotations

from typing import Mapping

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from listen_jax.viz.glyph import _Glyph
from listen_jax.viz.glyph import _glyph
from listen_jax.viz.tracks import EXPRESSION_CHANNELS
from listen_jax.viz.tracks import _check_coeffs
from listen_jax.viz.tracks import fit_length


PANEL = 320  # Output pixels per head panel (square).
STRIP = 64  # Output pixels of the audio strip under the panels.
_SS = 2  # Supersampling factor.
_BACKGROUND = (238, 241, 245)
_SKIN = {"speaker": (172, 199, 230), "listener": (242, 201, 160)}
_INK = (45, 45, 55)


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
