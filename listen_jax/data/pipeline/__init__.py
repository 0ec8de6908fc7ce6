"""Prepared datasets -> grain iterators of fixed-shape numpy batches.

A prepared split (TFDS array_record, see WORKSPACE.md) or any in-memory sequence of example dicts is wrapped in
a `ClipSource`. Training draws fixed-length windows from it (`make_train_iterator`: global shuffle per epoch,
per-process sharding, checkpointable grain iterator); evaluation reads whole clips in `index` order
(`iterate_clips`). Every array is z-scored with the split's `norm_stats.npz` (emotion stays raw) and padded
with zeros to a fixed length, with `lengths` giving the valid frames.

Windowing follows the ViCo reference: a clip of N > window frames gives windows at starts 0, stride, ...,
N - min_window (default min_window = window // 3), each covering [s, min(s + window, N)), so at stride 1 there
are N - min_window + 1 windows whose lengths shrink to min_window at the end. A clip with N <= window (including
one shorter than min_window) gives a single window holding the whole clip.

Batch formats (B = per-process batch, W = window, K = neighbours):
  * `'vico'`: audio [B,W,45], speaker [B,W,73], listener [B,W,73] (row 0 is the reference frame), attitude [B]
    int32, lengths [B] int32, clip_index [B] int32, and audio_mel [B,2W,80] when the dataset has it.
  * `'reaction'`: speaker_audio [B,2W,F], speaker_3dmm / listener_3dmm [B,W,D], neighbour_3dmm [B,K,W,D],
    neighbour_mask [B,K] float32, lengths, clip_index, and speaker_emotion / listener_emotion [B,W,25],
    neighbour_emotion [B,K,W,25] on REACT. On ViCo the only neighbour is the listener itself (K = 1).
    A neighbour whose clip does not cover the window's valid frames is masked out (zero rows, mask 0).
"""
from __future__ import annotations

import collections
import dataclasses
import os
import re
import sys
import threading
from typing import Any, Iterator, Mapping, Sequence

from absl import flags
import grain
import numpy as np

from listen_jax.data import stats as stats_lib

DATA_FORMATS = ("vico", "reaction")
# Default TFDS config per dataset name (the first entry of each builder's BUILDER_CONFIGS).
_DEFAULT_CONFIGS = {"vico": "raw", "react": "default"}
_VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
# Standard deviations below this are treated as 1 (a constant dimension is only centred), as in stats.py.
_MIN_STD = stats_lib.STD_FLOOR


# ------------------------------------------------------------------------------------------------------------
# Locating prepared datasets.


def _is_version_dir(path: str) -> bool:
  return os.path.isfile(os.path.join(path, "dataset_info.json"))


def _versions(path: str) -> list[str]:
  """Prepared version sub-directories of `path`, oldest first."""
  if not os.path.isdir(path):
    return []
  found = [d for d in os.listdir(path) if _VERSION_RE.match(d) and _is_version_dir(os.path.join(path, d))]
  return sorted(found, key=lambda d: tuple(int(x) for x in _VERSION_RE.match(d).groups()))


def resolve_version_dir(data_dir: str, dataset: str) -> str:
  """Finds the prepared version directory of `dataset` under `data_dir`.

  Args:
    data_dir: the TFDS data dir (holding `{name}/{config}/{version}/`), or directly a version directory
      (one holding `dataset_info.json`).
    dataset: `'name'`, `'name/config'` or `'name/config/version'` (also `'name/config:version'`), e.g.
      `'vico/raw'`, `'vico'` (default config `raw`), `'react'` (config `default`).

  Returns:
    The version directory, e.g. `{data_dir}/vico/raw/1.0.0` (the latest version when none is named).

  Raises:
    FileNotFoundError: nothing prepared was found; the message names the paths looked at.
  """
  data_dir = os.fspath(data_dir)
  if _is_version_dir(data_dir):
    return data_dir
  parts = [p for p in re.split(r"[/:]", dataset or "") if p]
  if not parts or len(parts) > 3:
    raise ValueError(f"dataset must look like 'name', 'name/config' or 'name/config/version', got {dataset!r}")
  name_dir = os.path.join(data_dir, parts[0])
  if len(parts) == 3:
    candidate = os.path.join(name_dir, parts[1], parts[2])
    if _is_version_dir(candidate):
      return candidate
    raise FileNotFoundError(f"no prepared dataset {dataset!r}: {candidate}/dataset_info.json does not exist "
                            "(build it with `python -m launch.build_datasets`)")
  if len(parts) == 2:
    config_dir = os.path.join(name_dir, parts[1])
    versions = _versions(config_dir)
    if versions:
      return os.path.join(config_dir, versions[-1])
    raise FileNotFoundError(f"no prepared dataset {dataset!r}: no {config_dir}/<version>/dataset_info.json "
                            "(build it with `python -m launch.build_datasets`)")
  # Name only: a config-less layout, the default config, or the single config present.
  versions = _versions(name_dir)
  if versions:
    return os.path.join(name_dir, versions[-1])
  configs = sorted(d for d in (os.listdir(name_dir) if os.path.isdir(name_dir) else [])
                   if _versions(os.path.join(name_dir, d)))
  default = _DEFAULT_CONFIGS.get(parts[0])
  if default in configs:
    chosen = default
  elif len(configs) == 1:
    chosen = configs[0]
  elif configs:
    raise FileNotFoundError(f"dataset {dataset!r} has several prepared configs under {name_dir} ({configs}); "
                            "name one, e.g. " + f"'{parts[0]}/{configs[0]}'")
  else:
    raise FileNotFoundError(f"no prepared dataset {dataset!r}: no {name_dir}/[<config>/]<version>/dataset_info.json"
                            " (build it with `python -m launch.build_datasets`)")
  config_dir = os.path.join(name_dir, chosen)
  return os.path.join(config_dir, _versions(config_dir)[-1])


def load_stats(version_dir: str) -> dict[str, np.ndarray]:
  """Loads `{version_dir}/norm_stats.npz` (`'{group}/mean'`, `'{group}/std'` -> [D] float32)."""
  return stats_lib.load_stats(version_dir)


# ------------------------------------------------------------------------------------------------------------
# Normalisation.


def _stats_pair(stats: Mapping[str, np.ndarray], group: str) -> tuple[np.ndarray, np.ndarray]:
  mean_key, std_key = f"{group}/mean", f"{group}/std"
  if mean_key not in stats or std_key not in stats:
    groups = sorted({k.split("/")[0] for k in stats})
    raise ValueError(f"normalisation statistics have no group {group!r} (need {mean_key!r} and {std_key!r}; "
                     f"groups present: {groups})")
  mean = np.asarray(stats[mean_key], np.float32)
  std = np.asarray(stats[std_key], np.float32)
  if mean.shape != std.shape or mean.ndim != 1:
    raise ValueError(f"statistics group {group!r}: mean {mean.shape} and std {std.shape} must be equal 1-d shapes")
  return mean, np.where(std < _MIN_STD, np.float32(1), std).astype(np.float32)


def _check_dim(x: np.ndarray, mean: np.ndarray, group: str) -> None:
  if x.shape[-1:] != mean.shape:
    raise ValueError(f"cannot apply statistics group {group!r} of dimension {mean.shape[0]} to an array of shape "
                     f"{x.shape}")


def normalize(x: Any, stats: Mapping[str, np.ndarray], group: str) -> np.ndarray:
  """Z-scores `x` [..., D] with `stats['{group}/mean']`, `stats['{group}/std']` (std < 1e-6 counts as 1)."""
  mean, std = _stats_pair(stats, group)
  x = np.asarray(x, np.float32)
  _check_dim(x, mean, group)
  return (x - mean) / std


def denormalize(x: Any, stats: Mapping[str, np.ndarray], group: str) -> np.ndarray:
  """Inverse of `normalize`: `x * std + mean` for `x` [..., D] (numpy; use `stats` arrays directly in jit)."""
  mean, std = _stats_pair(stats, group)
  x = np.asarray(x, np.float32)
  _check_dim(x, mean, group)
  return x * std + mean


# ------------------------------------------------------------------------------------------------------------
# Sources.


class _TfdsRecords:
  """Picklable random access to one split of a prepared TFDS directory (opened lazily in each process)."""

  def __init__(self, version_dir: str, split: str):
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    self.version_dir, self.split = version_dir, split
    builder = tfds.builder_from_directory(version_dir)
    splits = sorted(builder.info.splits.keys())
    if split not in splits:
      raise ValueError(f"{version_dir} has no split {split!r} (splits: {splits})")
    self.feature_names = tuple(sorted(builder.info.features.keys()))
    self._length = int(builder.info.splits[split].num_examples)
    self._source = builder.as_data_source(split)

  def _data_source(self):
    if self._source is None:
      import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
      self._source = tfds.builder_from_directory(self.version_dir).as_data_source(self.split)
    return self._source

  def __len__(self) -> int:
    return self._length

  def __getitem__(self, i: int) -> Mapping[str, Any]:
    return self._data_source()[i]

  def __getstate__(self):
    return {**self.__dict__, "_source": None}


def _decode_value(value: Any) -> Any:
  if isinstance(value, bytes):
    return value.decode("utf-8")
  if isinstance(value, np.ndarray) and value.dtype.kind in "SO" and value.ndim == 0:
    return _decode_value(value.item())
  return value if isinstance(value, (str, np.ndarray, np.generic)) else np.asarray(value)


@dataclasses.dataclass(frozen=True)
class _Meta:
  """Per-position metadata from one pass over a source."""

  indices: np.ndarray  # [n] int64, the `index` feature
  lengths: np.ndarray  # [n] int64, video frames
  neighbours: tuple[np.ndarray, ...] | None  # per position: neighbour positions (REACT only)
  order: np.ndarray  # [n] int64, positions sorted by `index`


class ClipSource:
  """Random access to the decoded examples of one prepared split, with its normalisation statistics.

  Cheap to pickle for grain workers: a TFDS-backed source reopens its files lazily, and the metadata pass
  (`index`, clip lengths, neighbour positions) is done once and travels with the pickle.

  Attributes:
    name: a description used in error messages (directory and split, or 'memory').
    stats: normalisation statistics, `{group}/mean|std` -> [D] float32.
    features: the feature names present (sorted tuple).
    kind: 'vico' or 'react', inferred from the features.
  """

  def __init__(self, records: Sequence[Mapping[str, Any]], stats: Mapping[str, np.ndarray], *,
               name: str = "memory", features: Sequence[str] | None = None):
    """Wraps a random-access sequence of example dicts (WORKSPACE.md feature names) and statistics."""
    self._records = records
    self.name = name
    self.stats = {k: np.asarray(v) for k, v in stats.items()}
    if features is None:
      features = getattr(records, "feature_names", None)
    if features is None:
      features = tuple(records[0].keys()) if len(records) else ()
    self.features = tuple(sorted(features))
    self.kind = _dataset_kind(self.features, name)
    self._meta: _Meta | None = None

  def __len__(self) -> int:
    return len(self._records)

  def __getitem__(self, position: int) -> dict[str, Any]:
    """The decoded example at `position` (storage order): numpy arrays, Text as str."""
    if not 0 <= position < len(self):
      raise IndexError(f"{self.name}: position {position} out of range [0, {len(self)})")
    return {k: _decode_value(v) for k, v in self._records[position].items()}

  def raw(self, position: int) -> Mapping[str, Any]:
    """The example at `position` as stored (no decoding of Text)."""
    return self._records[position]

  @property
  def meta(self) -> _Meta:
    if self._meta is None:
      self._meta = _scan(self)
    return self._meta

  @property
  def indices(self) -> np.ndarray:
    """[n] int64: the `index` feature per position."""
    return self.meta.indices

  @property
  def lengths(self) -> np.ndarray:
    """[n] int64: clip length in video frames per position."""
    return self.meta.lengths

  @property
  def order(self) -> np.ndarray:
    """[n] int64: positions sorted by `index` (array_record returns key-hash order)."""
    return self.meta.order

  def position_of(self, index: int) -> int:
    """The position of the example whose `index` feature is `index`."""
    order = self.meta.order
    pos = int(np.searchsorted(self.meta.indices[order], index))
    if pos >= len(order) or self.meta.indices[order[pos]] != index:
      raise KeyError(f"{self.name}: no example with index {index}")
    return int(order[pos])

  def __repr__(self) -> str:
    return f"ClipSource({self.name!r}, {len(self)} clips, kind={self.kind!r})"


def _dataset_kind(features: Sequence[str], name: str) -> str:
  present = set(features)
  if not present:
    raise ValueError(f"{name}: the source is empty")
  if "index" not in present:
    raise ValueError(f"{name}: examples have no 'index' feature (features: {sorted(present)})")
  if {"speaker_3dmm", "listener_3dmm", "speaker_audio"} <= present:
    return "react"
  if {"audio", "speaker", "listener"} <= present:
    return "vico"
  raise ValueError(f"{name}: features {sorted(present)} are neither a ViCo (audio, speaker, listener) nor a REACT "
                   "(speaker_3dmm, listener_3dmm, speaker_audio) dataset")


# (feature, rows per video frame) whose lengths must agree, per dataset kind.
_TIMED_FEATURES = {
    "vico": (("audio", 1), ("speaker", 1), ("listener", 1), ("audio_mel", 2)),
    "react": (("speaker_3dmm", 1), ("listener_3dmm", 1), ("speaker_emotion", 1), ("listener_emotion", 1),
              ("speaker_audio", 2)),
}


def _clip_length(example: Mapping[str, Any], kind: str, where: str) -> int:
  lengths = {}
  for feature, rate in _TIMED_FEATURES[kind]:
    if feature in example:
      rows = np.shape(example[feature])[0]
      if rows % rate:
        raise ValueError(f"{where}: {feature} has {rows} rows, not a multiple of {rate} per video frame")
      lengths[feature] = rows // rate
  if len(set(lengths.values())) != 1:
    raise ValueError(f"{where}: time lengths disagree (video frames per feature: {lengths})")
  length = next(iter(lengths.values()))
  if length < 1:
    raise ValueError(f"{where}: empty clip")
  return length


def _scan(source: ClipSource) -> _Meta:
  """One pass over `source` reading `index`, clip lengths and (REACT) neighbour indices."""
  n = len(source)
  indices = np.zeros([n], np.int64)
  lengths = np.zeros([n], np.int64)
  neighbour_indices = []
  for pos in range(n):
    example = source.raw(pos)
    indices[pos] = int(np.asarray(example["index"]))
    where = f"{source.name}: clip at position {pos} (index {indices[pos]})"
    lengths[pos] = _clip_length(example, source.kind, where)
    if source.kind == "react":
      neighbour_indices.append(np.asarray(example.get("neighbours", ()), np.int64).reshape(-1))
  unique, counts = np.unique(indices, return_counts=True)
  if np.any(counts > 1):
    raise ValueError(f"{source.name}: duplicate 'index' values {unique[counts > 1][:10].tolist()}")
  order = np.argsort(indices, kind="stable")
  neighbours = None
  if source.kind == "react":
    sorted_indices = indices[order]
    neighbours = []
    for pos, wanted in enumerate(neighbour_indices):
      at = np.searchsorted(sorted_indices, wanted).clip(0, max(n - 1, 0))
      missing = wanted[sorted_indices[at] != wanted] if n else wanted
      if missing.size:
        raise ValueError(f"{source.name}: clip index {indices[pos]} lists neighbours {missing[:10].tolist()} "
                         "that are not in this split")
      neighbours.append(order[at].astype(np.int64))
    neighbours = tuple(neighbours)
  return _Meta(indices=indices, lengths=lengths, neighbours=neighbours, order=order)


def open_split(data_dir: str, dataset: str, split: str, *,
               stats: Mapping[str, np.ndarray] | None = None) -> ClipSource:
  """Opens one split of a prepared dataset (`resolve_version_dir`) with its `norm_stats.npz`.

  Args:
    data_dir: TFDS data dir or a version directory.
    dataset: e.g. 'vico/raw', 'vico/features', 'react'.
    split: e.g. 'train', 'test', 'ood', 'val'.
    stats: statistics to use instead of the directory's `norm_stats.npz`.
  """
  version_dir = resolve_version_dir(data_dir, dataset)
  records = _TfdsRecords(version_dir, split)
  if stats is None:
    stats = load_stats(version_dir)
  return ClipSource(records, stats, name=f"{version_dir}[{split}]")


# ------------------------------------------------------------------------------------------------------------
# Format specification: which tracks a batch holds and how each is normalised.


@dataclasses.dataclass(frozen=True)
class _Track:
  key: str  # batch key
  feature: str  # dataset feature
  group: str | None  # stats group, None = raw
  rate: int = 1  # rows per video frame


@dataclasses.dataclass(frozen=True)
class _Format:
  tracks: tuple[_Track, ...]
  # (batch key, track key of the neighbour clip) for neighbour tracks; empty for the 'vico' format.
  neighbour_tracks: tuple[tuple[str, str], ...] = ()
  self_neighbour: bool = False  # ViCo reaction: the listener is the only neighbour
  attitude: bool = False


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
              _Track("listener_3dmm", "listener", "motion"))
    return _Format(tracks, neighbour_tracks=(("neighbour_3dmm", "listener_3dmm"),), self_neighbour=True)
  if data_format == "vico":
    raise ValueError(f"{source.name}: data_format 'vico' needs a ViCo dataset; this is REACT (use 'reaction')")
  tracks = [_Track("speaker_audio", "speaker_audio", "speaker_audio", 2),
            _Track("speaker_3dmm", "speaker_3dmm", "3dmm"), _Track("listener_3dmm", "listener_3dmm", "3dmm")]
  neighbour_tracks = [("neighbour_3dmm", "listener_3dmm")]
  if {"speaker_emotion", "listener_emotion"} <= features:
    tracks += [_Track("speaker_emotion", "speaker_emotion", None), _Track("listener_emotion", "listener_emotion",
                                                                          None)]
    neighbour_tracks.append(("neighbour_emotion", "listener_emotion"))
  return _Format(tuple(tracks), neighbour_tracks=tuple(neighbour_tracks))


def _check_stats(source: ClipSource, spec: _Format) -> None:
  for track in spec.tracks:
    if track.group is not None:
      try:
        _stats_pair(source.stats, track.group)
      except ValueError as e:
        raise ValueError(f"{source.name}: {e}") from None


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
    out[track.key] = dst
  if spec.attitude:
    out["attitude"] = np.array([clip["attitude"] for clip in clips], np.int32)
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


# ------------------------------------------------------------------------------------------------------------
# Training windows.


def _default_min_window(window: int) -> int:
  return max(1, window // 3)


def _check_window_args(window: int, stride: int, min_window: int | None) -> int:
  if int(window) != window or window < 2:
    raise ValueError(f"window must be an integer >= 2, got {window!r}")
  if int(stride) != stride or stride < 1:
    raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
  min_window = _default_min_window(window) if min_window is None else min_window
  if int(min_window) != min_window or not 1 <= min_window <= window:
    raise ValueError(f"min_window must be an integer in [1, window={window}], got {min_window!r}")
  return int(min_window)


def enumerate_windows(lengths: Sequence[int], *, window: int, stride: int = 1,
                      min_window: int | None = None) -> np.ndarray:
  """All training windows of clips with the given lengths.

  Args:
    lengths: [n] clip lengths in video frames.
    window: window length W.
    stride: distance between window starts.
    min_window: shortest window at the end of a clip (default W // 3, the reference rule).

  Returns:
    [num_windows, 3] int64 rows (clip number in `lengths`, start, length), clip-major, starts ascending.
  """
  min_window = _check_window_args(window, stride, min_window)
  rows = []
  for clip, n in enumerate(np.asarray(lengths, np.int64)):
    if n > window:
      starts = np.arange(0, n - min_window + 1, stride, dtype=np.int64)
      sizes = np.minimum(window, n - starts)
    else:  # one window holding the whole (short) clip
      starts, sizes = np.zeros([1], np.int64), np.array([n], np.int64)
    rows.append(np.stack([np.full_like(starts, clip), starts, sizes], axis=1))
  return np.concatenate(rows, axis=0) if rows else np.zeros([0, 3], np.int64)


def count_windows(source: ClipSource, *, window: int, stride: int = 1, min_window: int | None = None) -> int:
  """Number of training windows of `source` (one epoch over all processes)."""
  return len(enumerate_windows(source.lengths, window=window, stride=stride, min_window=min_window))


class _WindowMaker(grain.transforms.Map):
  """Maps a position in the epoch-shuffled window stream to the window to read (`_WindowRef`).

  Stream position g is window `perm_e[g % n]` of epoch e = g // n, where perm_e is a permutation of the n
  windows drawn from (seed, e). Permutations are computed once per epoch and cached (grain's `shuffle`
  costs 20 us to 2 ms per element, dominating the pipeline).
  """

  def __init__(self, loader: _ClipLoader, table: np.ndarray, num_neighbours: int, seed: int):
    self.loader, self.table = loader, table
    self.num_neighbours, self.seed = num_neighbours, seed % 2**32
    self._init_cache()

  def _init_cache(self):
    self._permutations: dict[int, np.ndarray] = {}
    self._lock = threading.Lock()

  def __getstate__(self):
    state = dict(self.__dict__)
    state.pop("_permutations"), state.pop("_lock")
    return state

  def __setstate__(self, state):
    self.__dict__.update(state)
    self._init_cache()

  def permutation(self, epoch: int) -> np.ndarray:
    """[n] int64: the window order of `epoch`."""
    with self._lock:
      perm = self._permutations.get(epoch)
    if perm is None:
      perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.table))
      with self._lock:
        self._permutations[epoch] = perm
        for old in sorted(self._permutations)[:-3]:  # keep the latest epochs only
          del self._permutations[old]
    return perm

  def map(self, stream_index: int) -> _WindowRef:
    epoch, offset = divmod(int(stream_index), len(self.table))
    window_id = int(self.permutation(epoch)[offset])
    position, start, length = (int(v) for v in self.table[window_id])
    neighbours = None
    if self.loader.spec.neighbour_tracks and not self.loader.spec.self_neighbour:
      neighbours = self.loader.source.meta.neighbours[position]
      if len(neighbours) > self.num_neighbours:
        # A fresh, reproducible subset each time this window is visited (seed, epoch, window).
        rng = np.random.default_rng([self.seed, epoch, window_id])
        neighbours = neighbours[np.sort(rng.choice(len(neighbours), self.num_neighbours, replace=False))]
    return _WindowRef(position, start, length, neighbours)


class _BatchAssembler:
  """grain `batch_fn`: a list of `_WindowRef` -> one batch dict of fixed-shape arrays."""

  def __init__(self, loader: _ClipLoader, window: int, num_slots: int):
    self.loader, self.window, self.num_slots = loader, window, num_slots

  def __call__(self, refs: Sequence[_WindowRef]) -> dict[str, np.ndarray]:
    return _assemble(self.loader, refs, self.window, self.num_slots)


def make_train_iterator(source: ClipSource, *, data_format: str, window: int, stride: int,
                        global_batch_size: int, seed: int, process_index: int = 0, process_count: int = 1,
                        num_neighbours: int = 8, min_window: int | None = None, num_epochs: int | None = None,
                        worker_count: int = 0, read_threads: int = 2, prefetch_batches: int = 8,
                        cache_bytes: int = 1 << 29) -> grain.DatasetIterator:
  """A checkpointable iterator of per-process training batches of windows.

  The window list (`enumerate_windows` over the clips in `index` order) is shuffled globally with `seed`,
  with a fresh permutation each epoch, and repeated (`num_epochs`, None = forever) into one stream. Process p of n takes
  stream elements p, p + n, p + 2n, ..., so at every step the union of the processes' batches is exactly
  the single-process global batch, and all processes get the same number of batches.

  Args:
    source: the split to read.
    data_format: 'vico' or 'reaction' (see the module docstring for the batch keys and shapes).
    window: window length W (frames); the batch time axis.
    stride: distance between window starts.
    global_batch_size: batch over all processes; each process yields global_batch_size // process_count rows.
    seed: shuffle seed (the same on every process).
    process_index, process_count: this process and the number of processes.
    num_neighbours: K, neighbour slots in the REACT 'reaction' format (a seeded random subset when a clip has
      more; ViCo always uses K = 1).
    min_window: shortest end window (default window // 3).
    num_epochs: passes over the window list; None repeats forever.
    worker_count: grain worker processes (`mp_prefetch`); 0 reads in this process.
    read_threads: threads assembling batches (per process or worker).
    prefetch_batches: batches read ahead (per process or worker); bounds the memory held by the pipeline.
    cache_bytes: per-process budget for decoded, normalised clips (LRU).

  Returns:
    A grain DatasetIterator of dicts of numpy arrays, with `get_state()` / `set_state()`.
  """
  spec = _format_spec(source, data_format)
  _check_stats(source, spec)
  min_window = _check_window_args(window, stride, min_window)
  if process_count < 1 or not 0 <= process_index < process_count:
    raise ValueError(f"need 0 <= process_index < process_count, got {process_index} and {process_count}")
  if global_batch_size < 1 or global_batch_size % process_count:
    raise ValueError(f"global_batch_size={global_batch_size} must be a positive multiple of "
                     f"process_count={process_count}")
  if num_neighbours < 1:
    raise ValueError(f"num_neighbours must be >= 1, got {num_neighbours}")
  if num_epochs is not None and num_epochs < 1:
    raise ValueError(f"num_epochs must be None or >= 1, got {num_epochs}")
  order = source.order
  table = enumerate_windows(source.lengths[order], window=window, stride=stride, min_window=min_window)
  if not len(table):
    raise ValueError(f"{source.name}: no training windows (empty split)")
  table[:, 0] = order[table[:, 0]]  # clip number in index order -> storage position
  local_batch = global_batch_size // process_count
  if num_epochs is not None and len(table) * num_epochs < global_batch_size:
    raise ValueError(f"{source.name}: {len(table)} windows x {num_epochs} epochs cannot fill one global batch of "
                     f"{global_batch_size}")
  loader = _ClipLoader(source, spec, cache_bytes)
  maker = _WindowMaker(loader, table, num_neighbours, seed)
  stream_length = sys.maxsize if num_epochs is None else len(table) * num_epochs
  ds = grain.MapDataset.range(stream_length)[process_index::process_count].map(maker)
  ds = ds.batch(local_batch, drop_remainder=True, batch_fn=_BatchAssembler(loader, window, num_neighbours))
  if read_threads < 1 or prefetch_batches < 0:
    raise ValueError(f"need read_threads >= 1 and prefetch_batches >= 0, got {read_threads}, {prefetch_batches}")
  it = ds.to_iter_dataset(grain.ReadOptions(num_threads=read_threads, prefetch_buffer_size=prefetch_batches))
  if worker_count > 0:
    if not flags.FLAGS.is_parsed():  # grain reads its absl flags; outside `app.run` use their defaults
      flags.FLAGS.mark_as_parsed()
    it = it.mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count))
  return iter(it)


# ------------------------------------------------------------------------------------------------------------
# Whole clips (evaluation / generation).


def iterate_clips(source: ClipSource, *, data_format: str, batch_size: int, pad_to: int | None = None,
                  pad_multiple: int = 1, num_neighbours: int = 8, pad_batch: bool = False,
                  positions: Sequence[int] | None = None,
                  cache_bytes: int = 0) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
  """Whole clips in `index` order, batched, z-scored and zero-padded.

  Args:
    source: the split to read.
    data_format: 'vico' or 'reaction'; same keys as the training batches with T in place of W.
    batch_size: clips per batch (the last batch is smaller unless `pad_batch`).
    pad_to: pad every batch to this many frames (a clip longer than this is an error); default: the longest
      clip in the batch, rounded up to a multiple of `pad_multiple`.
    pad_multiple: round the padded length up to a multiple of this (fewer distinct shapes for jit).
    num_neighbours: REACT neighbour slots K (the first K neighbours in `index` order; ViCo: K = 1).
    pad_batch: fill the last batch to `batch_size` rows with empty clips (lengths 0, clip_index -1).
    positions: storage positions to read (default: all, `source.order`).
    cache_bytes: decoded-clip cache budget (0: none; neighbours are re-read per clip).

  Yields:
    (batch, positions): the batch dict and the [b] storage positions of its real rows (b <= batch_size).
  """
  spec = _format_spec(source, data_format)
  _check_stats(source, spec)
  if batch_size < 1:
    raise ValueError(f"batch_size must be >= 1, got {batch_size}")
  if pad_multiple < 1:
    raise ValueError(f"pad_multiple must be >= 1, got {pad_multiple}")
  if num_neighbours < 1:
    raise ValueError(f"num_neighbours must be >= 1, got {num_neighbours}")
  loader = _ClipLoader(source, spec, cache_bytes)
  order = np.asarray(source.order if positions is None else positions, np.int64)
  lengths = source.lengths
  for first in range(0, len(order), batch_size):
    chunk = order[first:first + batch_size]
    longest = int(lengths[chunk].max())
    if pad_to is not None:
      if longest > pad_to:
        pos = int(chunk[np.argmax(lengths[chunk])])
        raise ValueError(f"{source.name}: clip index {source.indices[pos]} has {longest} frames > pad_to={pad_to}")
      time = int(pad_to)
    else:
      time = -(-longest // pad_multiple) * pad_multiple
    react_neighbours = spec.neighbour_tracks and not spec.self_neighbour
    refs = [_WindowRef(int(pos), 0, int(lengths[pos]), source.meta.neighbours[pos] if react_neighbours else None)
            for pos in chunk]
    batch = _assemble(loader, refs, time, num_neighbours)
    if pad_batch and len(refs) < batch_size:
      extra = batch_size - len(refs)
      for k, v in batch.items():
        fill = np.full((extra, *v.shape[1:]), -1 if k == "clip_index" else 0, v.dtype)
        batch[k] = np.concatenate([v, fill])
    yield batch, chunk
