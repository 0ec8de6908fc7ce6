"""Video files: .mp4 through imageio's ffmpeg plugin (with audio), .gif through Pillow."""
from __future__ import annotations

import os
import tempfile

import numpy as np
from PIL import Image

from listen_jax.viz.tracks import PreviewError


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
