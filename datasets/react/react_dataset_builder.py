"""TFDS builder of the REACT 2023 facial-reaction dataset (`react/default`), no TensorFlow needed.

Build with `python -m launch.build_datasets --dataset=react --manual_dir=RAW --data_dir=OUT` (array_record).

Items follow the baseline's mirrored order: for a split csv of M rows, item k < M has the csv's column-1
person as speaker and item k + M is the same clip with the roles swapped (N = 2M items). The item's position
is the `index` feature and the example key; array_record returns records in key-hash order, so sort by
`index` when order matters. `neighbours` lists the j with A[index, j] == 1 in `neighbour_emotion_{split}.npy`.
"""
from __future__ import annotations

import dataclasses
import os

from absl import logging
import numpy as np
import tensorflow_datasets as tfds

from listen_jax.data import raw
from listen_jax.data import tfds_spill

_HOMEPAGE = "https://sites.google.com/cam.ac.uk/react2023/home"
_SPLITS = ("train", "val", "test")
_MODALITIES = ("Audio_files", "3D_FV_files", "Emotion")
_MEL_BINS = 80


@dataclasses.dataclass
class ReactConfig(tfds.core.BuilderConfig):
  """REACT variant.

  Attributes:
    fps: video frame rate of the 3DMM and emotion files.
    max_frames: if set, every clip is cut to its first `max_frames` frames after validation (the REACT 2023
      evaluation uses 750 of the 751 frames); None keeps whole clips.
    expected_sr: if set, every wav must have this sample rate.
    audio_tolerance_frames: largest allowed difference, in video frames, between a wav's duration and the
      clip's frame count (longer or shorter audio is cut or zero padded to the clip by the feature functions).
  """

  fps: float = 25.0
  max_frames: int | None = None
  expected_sr: int | None = None
  audio_tolerance_frames: float = 1.0


@dataclasses.dataclass(frozen=True)
class _Person:
  """One side of a csv row: validated arrays of one person's clip, `num_frames` long."""

  path: str
  raw_frames: int  # frames in the files, before any max_frames cut
  threedmm: np.ndarray  # [T, 58]
  emotion: np.ndarray  # [T, 25]
  mel: np.ndarray  # [2T, 80]


class Builder(tfds.core.GeneratorBasedBuilder):
  """REACT 2023 (NoXI, RECOLA, UDIVA) dyadic clips: 3DMM, emotion and audio of both people, mirrored."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release: mirrored items, log-mel speaker audio, emotion neighbours."}
  BUILDER_CONFIGS = [
      ReactConfig(name="default", description="Whole clips at 25 fps, mirrored (N = 2M)."),
      ReactConfig(name="max750", max_frames=750,
                  description="Clips cut to their first 750 frames, as the REACT 2023 evaluation does."),
  ]
  DEFAULT_BUILDER_CONFIG_NAME = "default"
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  Place the REACT 2023 challenge data in `manual_dir` (the baseline_react2023 `data/` folder):
    * `{split}.csv` for split in train, val, test (header `,speaker_path,listener_path`; missing splits are
      skipped);
    * per split, `{split}/Audio_files/{path}.wav`, `{split}/3D_FV_files/{path}.npy` [T, 58] and
      `{split}/Emotion/{path}.csv` (header + T rows of 25); the flat variant with `Audio_files/`, `3D_FV_files/`
      and `Emotion/` directly in manual_dir is also accepted;
    * `neighbour_emotion_{split}.npy` ([2M, 2M], from the baseline's tool/matrix_split.py; ReactFace's name
      `neighbour_emotion_new_{split}.npy` is also accepted) in manual_dir or in `{split}/`. A split without one
      gets each item's own index as its only neighbour (with a warning).
    * 3DMM arrays may carry a singleton axis ([T, 1, 58]); csv paths may have any depth (UDIVA: 5 levels); wavs
      may be stereo (averaged) at any sample rate (REACT: 44.1 kHz).
  Synthetic data in this layout: `python -m launch.make_synthetic --format=react --out=DIR`.
  """

  def download_and_prepare(self, *args, **kwargs):  # pylint: disable=arguments-differ
    """TFDS's download_and_prepare, spilling to local files past 256 MiB per split (no TensorFlow needed)."""
    with tfds_spill.local_spill_files():
      return super().download_and_prepare(*args, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    motion = lambda width: tfds.features.Tensor(shape=(None, width), dtype=np.float32)  # noqa: E731
    features = tfds.features.FeaturesDict({
        "index": np.int32,
        "speaker_path": tfds.features.Text(),
        "listener_path": tfds.features.Text(),
        "speaker_3dmm": motion(raw.FACEVERSE_WIDTH),
        "listener_3dmm": motion(raw.FACEVERSE_WIDTH),
        "speaker_emotion": motion(raw.EMOTION_WIDTH),
        "listener_emotion": motion(raw.EMOTION_WIDTH),
        "speaker_audio": motion(_MEL_BINS),
        "neighbours": tfds.features.Tensor(shape=(None,), dtype=np.int32),
    })
    return self.dataset_info_from_configs(features=features, homepage=_HOMEPAGE, supervised_keys=None)

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    cfg = self.builder_config
    if cfg.max_frames is not None and cfg.max_frames < 1:
      raise ValueError(f"react config {cfg.name!r}: max_frames must be positive or None, got {cfg.max_frames}")
    root = os.fspath(dl_manager.manual_dir)
    out = {}
    for split in _SPLITS:
      csv_path = os.path.join(root, f"{split}.csv")
      if not os.path.isfile(csv_path):
        continue
      pairs = raw.read_react_csv(csv_path)
      data_root = find_data_root(root, split)
      neighbours = _split_neighbours(root, split, 2 * len(pairs))
      out[split] = self._generate_examples(data_root, pairs, neighbours)
    if not out:
      raise raw.MissingFileError(f"{root}: no REACT split csv (expected any of "
                                 f"{', '.join(s + '.csv' for s in _SPLITS)})")
    return out

  def _generate_examples(self, data_root: str, pairs: list[tuple[str, str]], neighbours: list[np.ndarray]):
    cfg = self.builder_config
    num_rows = len(pairs)
    for row, (first_path, second_path) in enumerate(pairs):
      first = _read_person(data_root, first_path, cfg)
      second = _read_person(data_root, second_path, cfg)
      raw.check_same_length(f"{first_path} / {second_path}", {
          first_path: (_modality_path(data_root, "3D_FV_files", first_path), first.raw_frames),
          second_path: (_modality_path(data_root, "3D_FV_files", second_path), second.raw_frames),
      })
      for index, speaker, listener in ((row, first, second), (row + num_rows, second, first)):
        yield index, {
            "index": index,
            "speaker_path": speaker.path,
            "listener_path": listener.path,
            "speaker_3dmm": speaker.threedmm,
            "listener_3dmm": listener.threedmm,
            "speaker_emotion": speaker.emotion,
            "listener_emotion": listener.emotion,
            "speaker_audio": speaker.mel,
            "neighbours": neighbours[index],
        }


def find_data_root(root: str, split: str) -> str:
  """`root/{split}` when it holds the modality folders (2023 layout), else `root` (flat ReactFace layout)."""
  for candidate in (os.path.join(root, split), root):
    if any(os.path.isdir(os.path.join(candidate, m)) for m in _MODALITIES):
      return candidate
  raise raw.MissingFileError(
      f"{root}: no REACT modality folders {list(_MODALITIES)} in {os.path.join(root, split)} or {root}")


def _modality_path(data_root: str, modality: str, clip_path: str) -> str:
  ext = {"Audio_files": ".wav", "3D_FV_files": ".npy", "Emotion": ".csv"}[modality]
  return os.path.join(data_root, modality, clip_path + ext)


def _split_neighbours(root: str, split: str, num_items: int) -> list[np.ndarray]:
  """Neighbours from `neighbour_emotion_{split}.npy` (baseline) or `neighbour_emotion_new_{split}.npy` (ReactFace)."""
  name = f"neighbour_emotion_{split}.npy"
  for base in (name, f"neighbour_emotion_new_{split}.npy"):
    for path in (os.path.join(root, base), os.path.join(root, split, base)):
      if os.path.isfile(path):
        return raw.read_neighbours(path, num_items)
  logging.warning("REACT split %r: no %s in %s; every item gets its own index as its only neighbour",
                  split, name, root)
  return [np.array([k], dtype=np.int32) for k in range(num_items)]


def _read_person(data_root: str, clip_path: str, cfg: ReactConfig) -> _Person:
  """Reads and cross-checks one person's 3DMM, emotion and wav; cuts to cfg.max_frames."""
  from listen_jax import audio  # pylint: disable=g-import-not-at-top

  fv_path = _modality_path(data_root, "3D_FV_files", clip_path)
  emo_path = _modality_path(data_root, "Emotion", clip_path)
  wav_path = _modality_path(data_root, "Audio_files", clip_path)
  threedmm = raw.read_react_3dmm(fv_path, clip_path)
  emotion = raw.read_react_emotion(emo_path, clip_path)
  num_frames = raw.check_same_length(
      clip_path, {"3DMM": (fv_path, threedmm.shape[0]), "emotion": (emo_path, emotion.shape[0])})
  samples, sr = raw.read_wav(wav_path, clip_path, expected_sr=cfg.expected_sr)
  raw.check_audio_duration(samples.shape[0], sr, cfg.fps, num_frames, clip=clip_path, path=wav_path,
                           tolerance_frames=cfg.audio_tolerance_frames)
  raw_frames = num_frames
  if cfg.max_frames is not None and num_frames > cfg.max_frames:
    num_frames = cfg.max_frames
    threedmm, emotion = threedmm[:num_frames], emotion[:num_frames]
  mel = raw.check_frames(audio.log_mel(samples, sr, cfg.fps, num_frames, n_mels=_MEL_BINS), width=_MEL_BINS,
                         clip=clip_path, path=wav_path, what="log-mel")
  return _Person(path=clip_path, raw_frames=raw_frames, threedmm=threedmm, emotion=emotion, mel=mel)
