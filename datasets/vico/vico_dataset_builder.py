"""TFDS builder of the ViCo listening-head dataset (`vico/raw`, `vico/features`), no TensorFlow needed.

Build with `python -m launch.build_datasets --dataset=vico --manual_dir=RAW --data_dir=OUT [--config=features]`
(array_record files). Examples are keyed by uuid; `index` is the row order in the split csv (array_record
returns records in key-hash order, so sort by `index` when order matters).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np
import tensorflow_datasets as tfds

from listen_jax.data import raw
from listen_jax.data import tfds_spill

_HOMEPAGE = "https://project.mhzhou.com/vico"
_SPLITS = ("train", "test", "ood")
_FEATURES_DIR = "features"


@dataclasses.dataclass
class VicoConfig(tfds.core.BuilderConfig):
  """ViCo variant.

  Attributes:
    source: 'raw' (audios/*.wav + recons/*.mat; adds `audio_mel`) or 'features' (the vico_challenge_baseline
      `features/audio_feats/*.npy` + `features/video_feats/*.bin` layout).
    fps: video frame rate of the coefficients.
    expected_sr: if set, every wav must have this sample rate (raw source only).
    audio_tolerance_frames: largest allowed difference, in video frames, between a wav's duration and the
      clip's frame count (longer or shorter audio is cut or zero padded to the clip by the feature functions).
    image_size: (w0, h0) stored as `image_size` for the features source, whose files do not carry it
      (the ViCo videos are 256 x 256).
  """

  source: str = "raw"
  fps: float = 30.0
  expected_sr: int | None = None
  audio_tolerance_frames: float = 1.0
  image_size: tuple[float, float] = (256.0, 256.0)


class Builder(tfds.core.GeneratorBasedBuilder):
  """ViCo (Zhou et al., ECCV 2022) responsive listening-head clips: speaker audio + speaker/listener 3DMM."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "Initial release: raw (wav + .mat) and features (.npy + .bin) sources."}
  BUILDER_CONFIGS = [
      VicoConfig(name="raw", source="raw",
                 description="From audios/{uuid}.wav and recons/{uuid}.{speaker,listener}.mat; adds audio_mel."),
      VicoConfig(name="features", source="features",
                 description="From the vico_challenge_baseline features/ layout (.npy audio, .bin 3DMM)."),
  ]
  DEFAULT_BUILDER_CONFIG_NAME = "raw"
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  Place the ViCo data (https://project.mhzhou.com/vico) in `manual_dir`:
    * split csvs `train.csv`, `test.csv`, `ood.csv` (columns `video_id, uuid, speaker_id, listener_id` and
      optionally `attitude` in {positive, neutral, negative}), or one csv with an extra `split` column; at the
      top of manual_dir or in `metadata/`. Without `attitude` every clip is labelled `neutral`.
    * config `raw`: `audios/{uuid}.wav` and Deep3DFaceRecon reconstructions
      `recons/{uuid}.speaker.mat`, `recons/{uuid}.listener.mat` (`coeff` [T, 257], `transform_params` [T, 5];
      `recons/test/` is also searched).
    * config `features`: `features/audio_feats/{uuid}.npy` [T, 45] and
      `features/video_feats/{uuid}.{speaker,listener}.bin` (torch.save of numpy arrays).
  Synthetic data in this layout: `python -m launch.make_synthetic --format=vico --out=DIR`.
  """

  def download_and_prepare(self, *args, **kwargs):  # pylint: disable=arguments-differ
    """TFDS's download_and_prepare, spilling to local files past 256 MiB per split (no TensorFlow needed)."""
    with tfds_spill.local_spill_files():
      return super().download_and_prepare(*args, **kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    features = {
        "index": np.int32,
        "uuid": tfds.features.Text(),
        "video_id": tfds.features.Text(),
        "speaker_id": np.int64,
        "listener_id": np.int64,
        "attitude": tfds.features.ClassLabel(names=list(raw.ATTITUDES)),
        "audio": tfds.features.Tensor(shape=(None, raw.VICO_AUDIO_WIDTH), dtype=np.float32),
        "speaker": tfds.features.Tensor(shape=(None, raw.VICO_DYNAMIC_WIDTH), dtype=np.float32),
        "listener": tfds.features.Tensor(shape=(None, raw.VICO_DYNAMIC_WIDTH), dtype=np.float32),
        "listener_static": tfds.features.Tensor(shape=(raw.VICO_STATIC_WIDTH,), dtype=np.float32),
        "image_size": tfds.features.Tensor(shape=(2,), dtype=np.float32),
    }
    if cfg.source == "raw":
      features["audio_mel"] = tfds.features.Tensor(shape=(None, 80), dtype=np.float32)
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict(features), homepage=_HOMEPAGE, supervised_keys=None)

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    cfg = self.builder_config
    if cfg.source not in ("raw", "features"):
      raise ValueError(f"vico config {cfg.name!r}: unknown source {cfg.source!r} (expected 'raw' or 'features')")
    root = os.fspath(dl_manager.manual_dir)
    rows_by_split = raw.find_vico_splits(root, _SPLITS)
    return {split: self._generate_examples(root, rows) for split, rows in rows_by_split.items()}

  def _generate_examples(self, root: str, rows: list[raw.VicoRow]):
    make = _raw_example if self.builder_config.source == "raw" else _features_example
    for row in rows:
      example = make(root, row, self.builder_config)
      example.update(index=row.index, uuid=row.uuid, video_id=row.video_id, speaker_id=row.speaker_id,
                     listener_id=row.listener_id, attitude=row.attitude)
      yield row.uuid, example


def _first_existing(candidates: list[str]) -> str:
  """The first existing path, else the first candidate (so the 'missing' error names the canonical path)."""
  for path in candidates:
    if os.path.isfile(path):
      return path
  return candidates[0]


def _raw_example(root: str, row: raw.VicoRow, cfg: VicoConfig) -> dict[str, np.ndarray]:
  """audios/{uuid}.wav + recons/{uuid}.{role}.mat -> feature arrays (validated)."""
  from listen_jax import audio  # pylint: disable=g-import-not-at-top

  uuid = row.uuid
  paths = {role: _first_existing([os.path.join(root, "recons", f"{uuid}.{role}.mat"),
                                  os.path.join(root, "recons", "test", f"{uuid}.{role}.mat")])
           for role in ("speaker", "listener")}
  speaker = raw.read_vico_recon(paths["speaker"], uuid)
  listener = raw.read_vico_recon(paths["listener"], uuid)
  num_frames = raw.check_same_length(
      uuid, {"speaker": (paths["speaker"], speaker.num_frames), "listener": (paths["listener"], listener.num_frames)})
  wav_path = os.path.join(root, "audios", f"{uuid}.wav")
  samples, sr = raw.read_wav(wav_path, uuid, expected_sr=cfg.expected_sr)
  raw.check_audio_duration(samples.shape[0], sr, cfg.fps, num_frames, clip=uuid, path=wav_path,
                           tolerance_frames=cfg.audio_tolerance_frames)
  feats = raw.check_frames(audio.vico_features(samples, sr, cfg.fps, num_frames), width=raw.VICO_AUDIO_WIDTH,
                           clip=uuid, path=wav_path, what="audio features")
  mel = raw.check_frames(audio.log_mel(samples, sr, cfg.fps, num_frames), width=80, clip=uuid, path=wav_path,
                         what="log-mel")
  return dict(audio=feats, audio_mel=mel, speaker=speaker.dynamic, listener=listener.dynamic,
              listener_static=listener.static[0], image_size=listener.image_size)


def _features_example(root: str, row: raw.VicoRow, cfg: VicoConfig) -> dict[str, np.ndarray]:
  """features/audio_feats/{uuid}.npy + features/video_feats/{uuid}.{role}.bin -> feature arrays."""
  uuid = row.uuid
  feats_dir = os.path.join(root, _FEATURES_DIR)
  audio_path = os.path.join(feats_dir, "audio_feats", f"{uuid}.npy")
  bins = {role: os.path.join(feats_dir, "video_feats", f"{uuid}.{role}.bin") for role in ("speaker", "listener")}
  feats = raw.read_audio_feats(audio_path, uuid)
  speaker = raw.read_vico_feature_bin(bins["speaker"], uuid)
  listener = raw.read_vico_feature_bin(bins["listener"], uuid)
  raw.check_same_length(uuid, {"speaker": (bins["speaker"], speaker.num_frames),
                               "listener": (bins["listener"], listener.num_frames),
                               "audio": (audio_path, feats.shape[0])})
  return dict(audio=feats, speaker=speaker.dynamic, listener=listener.dynamic,
              listener_static=listener.static[0], image_size=np.asarray(cfg.image_size, np.float32))
