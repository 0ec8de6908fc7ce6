"""Drive a user-supplied PIRender generator with listen_jax 3DMM predictions (photoreal listener videos).

PIRender (RenYurui/PIRender, CC BY-NC 4.0) is never vendored: the user supplies a checkout and a checkpoint.
From the checkout this module only imports the generator class named in `config/face.yaml` (`gen.type`,
default `generators.face_model::FaceGenerator`) after putting the checkout's root on `sys.path`, builds it from
`gen.param` and loads `net_G_ema` strictly (any `module.` prefixes stripped).

The generator's contract (renderer_reference.md §2.2-2.5) is all this module relies on:
  `G(input_image [B, 3, 256, 256] RGB in [-1, 1], driving_source [B, 73, 27] raw coefficients)` ->
  dict with `fake_image` [B, 3, 256, 256] in [-1, 1] (tanh), plus `warp_image` and `flow_field`.
The 73 channels are PIRender order [exp 64 | angle 3 | trans 3 | crop 3 = (s, tx, ty)] in raw units (crop is
never normalised), so ViCo-order predictions are permuted with `layouts.vico_to_pirender`. Frame t is driven by
the 27-frame window t-13 .. t+13, clamped at the clip ends (non-causal). Frames are rendered in batches against
one source image (the listener's reference frame); the generator has no batch statistics, so batching does not
change the result.

Arrays cross from JAX/NumPy to torch without copies where possible (`torch.from_dlpack` for JAX arrays,
`torch.from_numpy` for NumPy). Videos are written with `listen_jax.viz.write_video` (imageio + imageio-ffmpeg,
speaker audio muxed in), the speaker's video on the left when given.
"""
from __future__ import annotations

import importlib
import os
import sys
from typing import Any, Sequence

import numpy as np

from listen_jax import layouts, viz

SEMANTIC_RADIUS = 13  # PIRender `semantic_radius`: windows of 2 * 13 + 1 = 27 frames.
DEFAULT_GENERATOR = "generators.face_model::FaceGenerator"
IMAGE_SIZE = 256


class PIRenderError(ValueError):
  """Bad PIRender checkout/checkpoint or bad input to the renderer."""


# -- loading the generator -----------------------------------------------------------------------------------------


def _purge_foreign_modules(top: str, root: str) -> None:
  """Forgets an already imported package `top` that does not come from `root` (so the checkout's is used)."""
  mod = sys.modules.get(top)
  if mod is None:
    return
  paths = list(getattr(mod, "__path__", [])) or [getattr(mod, "__file__", "") or ""]
  if any(os.path.abspath(p).startswith(os.path.abspath(root) + os.sep) for p in paths if p):
    return
  for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
    del sys.modules[name]


def _read_generator_config(config_path: str) -> tuple[str, dict]:
  import yaml  # pylint: disable=g-import-not-at-top

  with open(config_path) as f:
    cfg = yaml.safe_load(f)
  gen = (cfg or {}).get("gen")
  if not isinstance(gen, dict):
    raise PIRenderError(f"{config_path}: no `gen` section")
  return str(gen.get("type", DEFAULT_GENERATOR)), dict(gen.get("param") or {})


def load_pirender(pirender_dir: str, checkpoint: str, device: str = "cpu", config_path: str | None = None,
                  ema: bool = True) -> Any:
  """Builds PIRender's generator from a checkout and loads a checkpoint strictly.

  Args:
    pirender_dir: root of the user's PIRender checkout (holds `generators/`, `config/`).
    checkpoint: e.g. `result/face/epoch_00190_iteration_000400000_checkpoint.pt`.
    device: torch device ('cpu', 'cuda', 'cuda:1').
    config_path: yaml with `gen.type` / `gen.param`; default `{pirender_dir}/config/face.yaml`, then
      `face_demo.yaml`.
    ema: load `net_G_ema` (the released weights); False loads `net_G`.

  Returns:
    The generator (torch.nn.Module) in eval mode on `device`, gradients disabled.
  """
  import torch  # pylint: disable=g-import-not-at-top

  root = os.path.abspath(pirender_dir)
  if not os.path.isdir(root):
    raise FileNotFoundError(f"PIRender checkout {pirender_dir} does not exist")
  if not os.path.isfile(checkpoint):
    raise FileNotFoundError(f"PIRender checkpoint {checkpoint} does not exist")
  if config_path is None:
    candidates = [os.path.join(root, "config", n) for n in ("face.yaml", "face_demo.yaml")]
    config_path = next((c for c in candidates if os.path.isfile(c)), None)
    if config_path is None:
      raise FileNotFoundError(f"no config/face.yaml or config/face_demo.yaml in {pirender_dir}")
  type_name, params = _read_generator_config(config_path)
  module_name, _, class_name = type_name.partition("::")
  if not class_name:
    raise PIRenderError(f"{config_path}: gen.type {type_name!r} is not 'module::Class'")
  if root not in sys.path:
    sys.path.insert(0, root)
  _purge_foreign_modules(module_name.split(".")[0], root)
  try:
    module = importlib.import_module(module_name)
  except ImportError as e:
    raise PIRenderError(f"cannot import {module_name} from {pirender_dir}: {e}") from e
  generator = getattr(module, class_name)(**params)

  ckpt = torch.load(checkpoint, map_location="cpu", weights_only=True)
  key = "net_G_ema" if ema else "net_G"
  if not isinstance(ckpt, dict) or key not in ckpt:
    keys = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
    raise PIRenderError(f"{checkpoint}: no {key!r} entry (found {keys})")
  state = {}
  for name, value in ckpt[key].items():
    while name.startswith("module."):
      name = name[len("module."):]
    state[name] = value
  try:
    generator.load_state_dict(state, strict=True)
  except RuntimeError as e:
    raise PIRenderError(f"{checkpoint}: {key} does not match {type_name} built from {config_path}: {e}") from e
  generator.eval().requires_grad_(False)
  return generator.to(device)


# -- inputs --------------------------------------------------------------------------------------------------------


def to_torch(x: Any, device: Any = None):
  """JAX array / NumPy array / torch.Tensor -> torch.Tensor, zero-copy where possible, then onto `device`."""
  import torch  # pylint: disable=g-import-not-at-top

  if isinstance(x, torch.Tensor):
    t = x
  elif isinstance(x, np.ndarray) or np.isscalar(x):
    a = np.asarray(x)
    t = torch.from_numpy(a if a.flags.writeable else a.copy())
  elif hasattr(x, "__dlpack__"):  # jax.Array (and other dlpack producers)
    t = torch.from_dlpack(x)
  else:
    t = torch.from_numpy(np.array(x))
  return t if device is None else t.to(device)


def semantic_windows(coeffs, radius: int = SEMANTIC_RADIUS):
  """Clamped sliding windows: `[T, C]` -> `[T, C, 2 * radius + 1]` (NumPy in/out, or torch in/out).

  Row t holds frames clip(t + k, 0, T - 1) for k = -radius .. radius, as PIRender's `driving_source` expects.
  """
  T = coeffs.shape[0]
  offsets = np.arange(-radius, radius + 1)
  idx = np.clip(np.arange(T)[:, None] + offsets[None, :], 0, T - 1)  # [T, 27]
  if not isinstance(coeffs, np.ndarray):  # torch
    import torch  # pylint: disable=g-import-not-at-top

    idx = torch.as_tensor(idx, device=coeffs.device)
  return coeffs[idx].swapaxes(1, 2)


def check_pirender_coeffs(semantic: np.ndarray, name: str = "clip", crop: bool = True) -> None:
  """Checks raw PIRender-order coefficients `[T, 73]`: finite, and (`crop`) crop columns that look like pixels."""
  if semantic.ndim != 2 or semantic.shape[1] != layouts.PIRENDER.dim:
    raise PIRenderError(f"{name}: expected [T, 73] coefficients, got {tuple(semantic.shape)}")
  if not np.all(np.isfinite(semantic)):
    raise PIRenderError(f"{name}: coefficients contain NaN or inf")
  if not crop:
    return
  s, tx, ty = np.median(semantic[:, layouts.PIRENDER["crop"]], axis=0)
  if not (0.2 < s < 5.0 and 10.0 < tx < 2000.0 and 10.0 < ty < 2000.0):
    raise PIRenderError(f"{name}: crop (s, tx, ty) medians ({s:.3g}, {tx:.3g}, {ty:.3g}) do not look like raw "
                        "units (s ~1, tx/ty ~128 pixels); were z-scored coefficients passed? De-normalise first")


def load_source_image(image: Any, size: int = IMAGE_SIZE) -> np.ndarray:
  """Source frame as `[size, size, 3] uint8` RGB from a path or an array (centre-cropped square, bicubic)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top

  if isinstance(image, (str, os.PathLike)):
    if not os.path.isfile(image):
      raise FileNotFoundError(f"source image {image} does not exist")
    with Image.open(image) as im:
      pil = im.convert("RGB")
  else:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3:
      raise PIRenderError(f"source image: expected [H, W, 3], got {arr.shape}")
    if arr.dtype != np.uint8:
      arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).round().astype(np.uint8)
    pil = Image.fromarray(arr)
  w, h = pil.size
  if w != h:
    side = min(w, h)
    pil = pil.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
  if pil.size != (size, size):
    pil = pil.resize((size, size), Image.BICUBIC)
  return np.asarray(pil)


# -- rendering -----------------------------------------------------------------------------------------------------


def render_frames(generator, coeffs, source_image, batch_size: int = 16, device: Any = None,
                  check_crop: bool = True, name: str = "clip") -> np.ndarray:
  """Renders one clip.

  Args:
    generator: PIRender generator (`load_pirender`) or any module with the same contract.
    coeffs: [T, 73] raw (de-normalised) ViCo-order listener coefficients (NumPy, JAX or torch).
    source_image: path or [H, W, 3] image of the listener (the reference frame).
    batch_size: frames per generator call.
    device: torch device (default: the generator's).
    check_crop: reject coefficients whose crop columns do not look like raw pixels.
    name: clip name for error messages.

  Returns:
    [T, 256, 256, 3] uint8 RGB frames.
  """
  import torch  # pylint: disable=g-import-not-at-top

  if device is None:
    device = next(generator.parameters()).device
  if isinstance(coeffs, torch.Tensor):
    coeffs = coeffs.detach().cpu().numpy()
  shape = tuple(coeffs.shape)
  if len(shape) != 2 or shape[1] != layouts.VICO_DYNAMIC.dim:
    raise PIRenderError(f"{name}: expected [T, 73] ViCo coefficients, got {shape}")
  semantic = layouts.vico_to_pirender(coeffs)  # same array library as the input (NumPy or JAX)
  sem = to_torch(semantic).to(device=device, dtype=torch.float32)
  check_pirender_coeffs(sem.cpu().numpy(), name, crop=check_crop)
  src = to_torch(load_source_image(source_image)).to(device)
  src = src.permute(2, 0, 1)[None].float() / 127.5 - 1.0  # [1, 3, 256, 256] in [-1, 1]
  T = sem.shape[0]
  out = np.empty((T, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
  windows = semantic_windows(sem)  # [T, 73, 27] on device
  with torch.no_grad():
    for start in range(0, T, batch_size):
      chunk = windows[start:start + batch_size]
      result = generator(src.expand(chunk.shape[0], -1, -1, -1), chunk)
      if not isinstance(result, dict) or "fake_image" not in result:
        raise PIRenderError(f"{name}: generator returned {type(result).__name__} without 'fake_image'")
      fake = result["fake_image"]
      if tuple(fake.shape) != (chunk.shape[0], 3, IMAGE_SIZE, IMAGE_SIZE):
        raise PIRenderError(f"{name}: fake_image has shape {tuple(fake.shape)}, expected "
                            f"({chunk.shape[0]}, 3, {IMAGE_SIZE}, {IMAGE_SIZE})")
      pixels = ((fake.clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
      out[start:start + chunk.shape[0]] = pixels.cpu().numpy()
  return out


def side_by_side(left: np.ndarray | None, right: np.ndarray) -> np.ndarray:
  """Puts `left` frames (resized to `right`'s height, cut/padded to its length) left of `right`: uint8."""
  if left is None:
    return right
  from PIL import Image  # pylint: disable=g-import-not-at-top

  T, h = right.shape[:2]
  left = viz.fit_length(np.asarray(left), T)
  if left.shape[1] != h:
    w = int(round(left.shape[2] * h / left.shape[1] / 2)) * 2
    left = np.stack([np.asarray(Image.fromarray(f).resize((w, h), Image.BICUBIC)) for f in left])
  return np.concatenate([left[..., :3].astype(np.uint8), right], axis=2)


def render_clip(generator, coeffs, source_image, out_path: str, fps: float = 30.0,
                audio: tuple[np.ndarray, int] | None = None, speaker_frames: Any = None, batch_size: int = 16,
                device: Any = None, name: str = "clip") -> str:
  """Renders one clip to a video file, speaker video (frames or path) on the left and audio muxed in if given.

  Returns:
    `out_path`.
  """
  frames = render_frames(generator, coeffs, source_image, batch_size=batch_size, device=device, name=name)
  if isinstance(speaker_frames, (str, os.PathLike)):
    speaker_frames = viz.read_video(os.fspath(speaker_frames))
  return viz.write_video(out_path, side_by_side(speaker_frames, frames), fps, audio=audio)


def _find(directory: str, uuid: str, suffixes: Sequence[str]) -> str | None:
  for suffix in suffixes:
    path = os.path.join(directory, uuid + suffix)
    if os.path.isfile(path):
      return path
  return None


def render_prediction_dir(predictions_dir: str, out_dir: str, generator, source_image: str,
                          speaker_video_dir: str | None = None, fps: float = 30.0, batch_size: int = 16,
                          device: Any = None, max_clips: int = 0) -> list[str]:
  """Renders `{out_dir}/{uuid}.mp4` for every clip of a prediction directory (format: `listen_jax.viz`).

  Args:
    predictions_dir: `{uuid}.npy` [T, 73] raw ViCo-order listener coefficients (+ optional `{uuid}.wav`).
    out_dir: output directory.
    generator: from `load_pirender`.
    source_image: one image for every clip, or a directory holding `{uuid}.listener.{jpg,png}` or
      `{uuid}.{jpg,png}` (e.g. the ViCo challenge's `first_frames/`).
    speaker_video_dir: optional directory with `{uuid}.speaker.mp4` or `{uuid}.mp4` shown on the left.
    fps, batch_size, device: see `render_clip`.
    max_clips: render at most this many clips (0: all).

  Returns:
    Written video paths.
  """
  names = viz.select_prediction_clips(predictions_dir, max_clips)
  written = []
  for uuid in names:
    clip = viz.load_prediction_clip(predictions_dir, uuid)
    image = source_image
    if os.path.isdir(source_image):
      image = _find(source_image, uuid, (".listener.jpg", ".listener.png", ".jpg", ".png"))
      if image is None:
        raise FileNotFoundError(f"no source image for clip {uuid} in {source_image} "
                                "(tried {uuid}.listener.jpg/.png, {uuid}.jpg/.png)")
    speaker = None
    if speaker_video_dir:
      speaker = _find(speaker_video_dir, uuid, (".speaker.mp4", ".mp4"))
      if speaker is None:
        raise FileNotFoundError(f"no speaker video for clip {uuid} in {speaker_video_dir}")
    written.append(render_clip(generator, clip["listener"], image, os.path.join(out_dir, f"{uuid}.mp4"), fps,
                               audio=clip.get("audio"), speaker_frames=speaker, batch_size=batch_size,
                               device=device, name=uuid))
  return written
