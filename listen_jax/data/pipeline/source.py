"""Clip sources: a prepared TFDS split or an in-memory sequence of example dicts, with per-clip lengths."""
from __future__ import annotations

import dataclasses
from typing import Any
from typing import Mapping
from typing import Sequence

import numpy as np

from listen_jax.data.pipeline.locate import load_stats
from listen_jax.data.pipeline.locate import resolve_version_dir


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
