"""Batch formats (`'vico'`, `'reaction'`): which tracks a batch holds, how each is normalised, and the
assembly of fixed-shape numpy batches from clip windows."""
from __future__ import annotations

import collections
import dataclasses
import threading
from typing import Sequence

import numpy as np

from listen_jax.data.pipeline.normalization import _stats_pair
from listen_jax.data.pipeline.source import ClipSource


DATA_FORMATS = ("vico", "reaction")


@dataclasses.dataclass(frozen=True)
class _Track:
  key: str  # batch key
  feature: str  # dataset feature
  group: str | None  # stats group, None = raw
  rate: int = 1  # rows per video frame
  relative: bool = False  # each window holds the track minus the window's first frame (the reference)


@dataclasses.dataclass(frozen=True)
class _Format:
  tracks: tuple[_Track, ...]
  # (batch key, track key of the neighbour clip) for neighbour tracks; empty for the 'vico' format.
  neighbour_tracks: tuple[tuple[str, str], ...] = ()
  self_neighbour: bool = False  # ViCo reaction: the listener is the only neighbour
  attitude: bool = False
  summary_prefix: bool = False  # 'reaction': each window carries the speaker summary of the frames before it


def _format_spec(source: ClipSource, data_format: str) -> _Format:
  if data_format not in DATA_FORMATS:
    raise ValueError(f"unknown data_format {data_format!r}; expected one of {DATA_FORMATS}")
  features = set(source.features)
  if source.kind == "vico" and data_format == "vico":
    tracks = [_Track("audio", "audio", "audio"), _Track("speaker", "speaker", "motion"),
              _Track("listener", "listener", "motion")]
    if "audio_mel" in features:
      tracks.append(_Track("audio_mel", "audio_mel", "audio_mel", 2))
    return _Format(tuple(tracks), attitude="attitude" in features)
  if source.kind == "vico":  # reaction format on ViCo
    if "audio_mel" not in features:
      raise ValueError(f"{source.name}: the 'reaction' format on ViCo needs the 'audio_mel' feature (use the "
                       "'vico/raw' config)")
    tracks = (_Track("speaker_audio", "audio_mel", "audio_mel", 2), _Track("speaker_3dmm", "speaker", "motion"),
              _Track("listener_3dmm", "listener", "motion_delta", relative=True))
    return _Format(tracks, neighbour_tracks=(("neighbour_3dmm", "listener_3dmm"),), self_neighbour=True,
                   attitude="attitude" in features, summary_prefix=True)
  if data_format == "vico":
    raise ValueError(f"{source.name}: data_format 'vico' needs a ViCo dataset; this is REACT (use 'reaction')")
  tracks = [_Track("speaker_audio", "speaker_audio", "speaker_audio", 2),
            _Track("speaker_3dmm", "speaker_3dmm", "3dmm"), _Track("listener_3dmm", "listener_3dmm", "3dmm")]
  neighbour_tracks = [("neighbour_3dmm", "listener_3dmm")]
  if {"speaker_emotion", "listener_emotion"} <= features:
    tracks += [_Track("speaker_emotion", "speaker_emotion", None), _Track("listener_emotion", "listener_emotion",
                                                                          None)]
    neighbour_tracks.append(("neighbour_emotion", "listener_emotion"))
  return _Format(tuple(tracks), neighbour_tracks=tuple(neighbour_tracks), summary_prefix=True)


def speaker_summary_inputs(clip: dict[str, np.ndarray]) -> np.ndarray:
  """[T, C] what the ReactFace speaker summary reads per frame of a normalised 'reaction' clip: concat(speaker
  3DMM, speaker emotion when present, the mean of the frame's two log-mel rows); the numpy twin of
  `models.reactface.speaker.frame_inputs` (a test holds them equal)."""
  motion = clip["speaker_3dmm"]
  t = motion.shape[0]
  audio = clip["speaker_audio"][:2 * t]
  if audio.shape[0] != 2 * t:
    raise ValueError(f"speaker_audio has {audio.shape[0]} rows for {t} frames: expected {2 * t}")
  parts = [motion] + ([clip["speaker_emotion"]] if "speaker_emotion" in clip else [])
  parts.append(audio.reshape(t, 2, audio.shape[1]).mean(axis=1))
  return np.concatenate(parts, axis=1).astype(np.float32)


def speaker_summary_cumsum(inputs: np.ndarray) -> np.ndarray:
  """[T + 1, 3C] float32: row s is the sum over frames 0..s-1 of concat(v, v^2, |v - v_prev|) (v_prev of frame 0
  is frame 0), i.e. the streaming cache's `summary_sum` after s frames (`speaker.running_sums`)."""
  v = np.asarray(inputs, np.float64)
  prev = np.concatenate([v[:1], v[:-1]], axis=0)
  stats = np.concatenate([v, v * v, np.abs(v - prev)], axis=1)
  return np.concatenate([np.zeros_like(stats[:1]), np.cumsum(stats, axis=0)], axis=0).astype(np.float32)


def _track(source: ClipSource, data_format: str, key: str) -> _Track:
  for track in _format_spec(source, data_format).tracks:
    if track.key == key:
      return track
  raise ValueError(f"{source.name}: data_format {data_format!r} has no track {key!r}")


def track_group(source: ClipSource, data_format: str, key: str) -> str | None:
  """The normalisation group of batch track `key` in `data_format` on `source` (None: the track stays raw).

  E.g. `listener_3dmm` of the 'reaction' format is z-scored with group '3dmm' on REACT and 'motion_delta' on ViCo.
  """
  return _track(source, data_format, key).group


def track_reference(source: ClipSource, data_format: str, key: str) -> str | None:
  """The dataset feature whose first frame a relative track is measured from, or None for an absolute track.

  The 'reaction' format on ViCo holds `listener_3dmm` relative to the window's first frame (the ViCo task hands
  every method the listener's reference frame), so raw motion = denormalize(track) + feature[window start].
  """
  track = _track(source, data_format, key)
  return track.feature if track.relative else None


def _check_stats(source: ClipSource, spec: _Format) -> None:
  for track in spec.tracks:
    if track.group is not None:
      try:
        _stats_pair(source.stats, track.group)
      except ValueError as e:
        hint = (" (datasets prepared before the relative ViCo listener track lack it: rebuild with "
                "`python -m launch.build_datasets`)" if track.group == "motion_delta" else "")
        raise ValueError(f"{source.name}: {e}{hint}") from None


class _ClipLoader:
  """Decodes and normalises whole clips for one format, with a thread-safe LRU cache (per process)."""

  def __init__(self, source: ClipSource, spec: _Format, cache_bytes: int):
    self.source, self.spec, self.cache_bytes = source, spec, int(cache_bytes)
    self._affine = {t.group: _stats_pair(source.stats, t.group) for t in spec.tracks if t.group is not None}
    self._init_cache()

  def _init_cache(self):
    self._cache: collections.OrderedDict[int, dict[str, np.ndarray]] = collections.OrderedDict()
    self._cached_bytes = 0
    self._lock = threading.Lock()

  def __getstate__(self):
    state = dict(self.__dict__)
    for k in ("_cache", "_cached_bytes", "_lock"):
      state.pop(k)
    return state

  def __setstate__(self, state):
    self.__dict__.update(state)
    self._init_cache()

  def clip(self, position: int) -> dict[str, np.ndarray]:
    """Track key -> normalised [rows, D] float32 array, plus 'attitude' when the format has it."""
    with self._lock:
      hit = self._cache.get(position)
      if hit is not None:
        self._cache.move_to_end(position)
        return hit
    example = self.source.raw(position)
    clip = {}
    for track in self.spec.tracks:
      x = np.asarray(example[track.feature], np.float32)
      if track.group is not None:
        mean, std = self._affine[track.group]
        if x.ndim != 2 or x.shape[1] != mean.shape[0]:
          raise ValueError(f"{self.source.name}: clip at position {position}: {track.feature} has shape {x.shape}, "
                           f"statistics group {track.group!r} has dimension {mean.shape[0]}")
        x = (x - mean) / std
      clip[track.key] = np.ascontiguousarray(x, np.float32)
    if self.spec.attitude:
      clip["attitude"] = np.int32(np.asarray(example["attitude"]))
    if self.spec.summary_prefix:
      try:
        inputs = speaker_summary_inputs(clip)
      except ValueError as e:
        raise ValueError(f"{self.source.name}: clip at position {position}: {e}") from None
      clip["summary_inputs"], clip["summary_cumsum"] = inputs, speaker_summary_cumsum(inputs)
    size = sum(v.nbytes for v in clip.values())
    if size <= self.cache_bytes:
      with self._lock:
        self._cache[position] = clip
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes and self._cache:
          _, old = self._cache.popitem(last=False)
          self._cached_bytes -= sum(v.nbytes for v in old.values())
    return clip


@dataclasses.dataclass(frozen=True)
class _WindowRef:
  """A window to assemble: clip position, first frame, valid frames, neighbour positions (REACT)."""

  position: int
  start: int
  length: int
  neighbours: np.ndarray | None = None


def _assemble(loader: _ClipLoader, refs: Sequence[_WindowRef], window: int,
              num_slots: int) -> dict[str, np.ndarray]:
  """Copies the windows `refs` into zero-padded [len(refs), window * rate, D] arrays (one batch)."""
  source, spec = loader.source, loader.spec
  b = len(refs)
  clips = [loader.clip(r.position) for r in refs]
  out = {}
  for track in spec.tracks:
    rate = track.rate
    dst = np.zeros((b, window * rate, clips[0][track.key].shape[1]), np.float32)
    for row, (ref, clip) in enumerate(zip(refs, clips)):
      dst[row, :ref.length * rate] = clip[track.key][ref.start * rate:(ref.start + ref.length) * rate]
      if track.relative:  # minus the first row: (x - x_start) / std, whatever the group's mean
        dst[row, :ref.length * rate] -= dst[row, :1]
    out[track.key] = dst
  if spec.attitude:
    out["attitude"] = np.array([clip["attitude"] for clip in clips], np.int32)
  if spec.summary_prefix:  # what streaming would have summarised before each window's first frame
    out["window_start"] = np.array([r.start for r in refs], np.int32)
    out["speaker_summary_sum"] = np.stack([clip["summary_cumsum"][r.start] for r, clip in zip(refs, clips)])
    out["speaker_summary_last"] = np.stack([clip["summary_inputs"][r.start - 1] if r.start else
                                            np.zeros_like(clip["summary_inputs"][0]) for r, clip in zip(refs, clips)])
  out["lengths"] = np.array([r.length for r in refs], np.int32)
  out["clip_index"] = source.meta.indices[[r.position for r in refs]].astype(np.int32)
  if spec.self_neighbour:
    out["neighbour_3dmm"] = out["listener_3dmm"][:, None].copy()
    out["neighbour_mask"] = np.ones([b, 1], np.float32)
  elif spec.neighbour_tracks:
    mask = np.zeros([b, num_slots], np.float32)
    for key, track_key in spec.neighbour_tracks:
      out[key] = np.zeros((b, num_slots, window, clips[0][track_key].shape[1]), np.float32)
    for row, ref in enumerate(refs):
      end = ref.start + ref.length
      for slot, q in enumerate(ref.neighbours[:num_slots]):
        if source.meta.lengths[q] < end:
          continue  # the neighbour does not cover this window: leave it masked out
        neighbour = loader.clip(int(q))
        for key, track_key in spec.neighbour_tracks:
          out[key][row, slot, :ref.length] = neighbour[track_key][ref.start:end]
        mask[row, slot] = 1
    out["neighbour_mask"] = mask
  return out
