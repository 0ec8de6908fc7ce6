"""Readers of the raw ViCo and REACT files, with validation.

Every reader returns float32 NumPy arrays and raises `DataError` (a `ValueError`) whose message names the clip,
the file and the problem; a file that should exist but does not raises `MissingFileError` (also a
`FileNotFoundError`). Nothing is trimmed, padded or repaired silently: frame counts that disagree, NaN/inf
values, wrong widths and empty clips are errors.

Formats read here:
  * ViCo `recons/{uuid}.{speaker,listener}.mat`: `coeff [T, 257]` + `transform_params [T, 5]` (Deep3DFaceRecon).
  * ViCo `features/audio_feats/{uuid}.npy` [T, 45] and `features/video_feats/{uuid}.{role}.bin`: `torch.save`
    pickles of {'angle.exp.trans': [T, 73], 'id.gamma.tex': [T, 187]} numpy arrays, read without torch.
  * ViCo split csvs (`video_id, uuid, speaker_id, listener_id[, attitude][, split]`).
  * REACT `{split}.csv` (`,speaker_path,listener_path`), `3D_FV_files/*.npy` [T, 58], `Emotion/*.csv`
    (header + T x 25), `neighbour_emotion_{split}.npy` [2M, 2M].
  * wav files through `listen_jax.audio.load_wav`.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import os
import pickle
import zipfile
from typing import Mapping, Sequence

from absl import logging
import numpy as np

from listen_jax import layouts


class DataError(ValueError):
  """Raw data that cannot be turned into a valid example (message names the clip, file and problem)."""


class MissingFileError(DataError, FileNotFoundError):
  """A file the raw layout requires (e.g. one a csv row points at) does not exist."""


# Widths of every per-frame array, as named in error messages.
BFM_WIDTH = layouts.BFM_COEFF.dim  # 257
TRANSFORM_WIDTH = layouts.TRANSFORM_PARAMS.dim  # 5
VICO_DYNAMIC_WIDTH = layouts.VICO_DYNAMIC.dim  # 73
VICO_STATIC_WIDTH = layouts.VICO_STATIC.dim  # 187
VICO_AUDIO_WIDTH = 45
FACEVERSE_WIDTH = layouts.FACEVERSE.dim  # 58
EMOTION_WIDTH = layouts.REACT_EMOTION.dim  # 25

ATTITUDES = ("positive", "neutral", "negative")
DEFAULT_ATTITUDE = "neutral"
VICO_CSV_COLUMNS = ("video_id", "uuid", "speaker_id", "listener_id")
# Challenge file spelling -> canonical ViCo split name.
VICO_SPLIT_ALIASES = {"train": "train", "test": "test", "ood": "ood"}


def _fail(clip: str, path, problem: str) -> DataError:
  return DataError(f"clip {clip}: {os.fspath(path)}: {problem}")


def require_file(path, clip: str, what: str) -> str:
  """Returns `path` as a str, or raises MissingFileError naming the clip and what the file is."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise MissingFileError(f"clip {clip}: missing {what}: {path}")
  return path


def check_frames(array, *, width: int, clip: str, path, what: str) -> np.ndarray:
  """Validates a per-frame array: 2-D, `width` columns, at least one frame, all finite.

  Args:
    array: the array read from `path`.
    width: required number of columns.
    clip: clip id for the message.
    path: the file it came from.
    what: the array's name (e.g. 'coeff').

  Returns:
    [T, width] float32.
  """
  a = np.asarray(array)
  if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
    raise _fail(clip, path, f"{what} has non-numeric dtype {a.dtype}")
  if a.ndim != 2:
    raise _fail(clip, path, f"{what} has shape {a.shape}, expected [T, {width}]")
  if a.shape[1] != width:
    raise _fail(clip, path, f"{what} has width {a.shape[1]}, expected {width} (shape {a.shape})")
  if a.shape[0] == 0:
    raise _fail(clip, path, f"{what} is empty (T == 0)")
  a = a.astype(np.float32)
  bad = ~np.isfinite(a)
  if bad.any():
    frame, dim = (int(i) for i in np.argwhere(bad)[0])
    raise _fail(clip, path, f"{what} has {int(bad.sum())} NaN/inf values (first at frame {frame}, dim {dim})")
  return a


def check_same_length(clip: str, arrays: Mapping[str, tuple[object, int]]) -> int:
  """Checks that every named array has the same number of frames.

  Args:
    clip: clip id for the message.
    arrays: name -> (path, number of frames).

  Returns:
    The common number of frames T.
  """
  lengths = {name: int(t) for name, (_, t) in arrays.items()}
  if len(set(lengths.values())) > 1:
    detail = ", ".join(f"{name} has {t} frames ({os.fspath(arrays[name][0])})" for name, t in lengths.items())
    raise DataError(f"clip {clip}: frame counts disagree: {detail}")
  return next(iter(lengths.values()))


# ---------------------------------------------------------------------------------------------------------
# Audio


def read_wav(path, clip: str, *, expected_sr: int | None = None) -> tuple[np.ndarray, int]:
  """Loads a wav as mono float32 samples: (samples [N], sr). Missing/unreadable files name the clip."""
  from listen_jax import audio  # pylint: disable=g-import-not-at-top

  path = require_file(path, clip, "wav")
  try:
    return audio.load_wav(path, expected_sr=expected_sr)
  except FileNotFoundError as e:
    raise MissingFileError(f"clip {clip}: missing wav: {path} ({e})") from e
  except ValueError as e:  # audio.AudioError
    raise DataError(f"clip {clip}: {path}: unreadable wav: {e}") from e


def check_audio_duration(num_samples: int, sr: int, fps: float, num_frames: int, *, clip: str, path,
                         tolerance_frames: float = 1.0) -> None:
  """Raises DataError if a wav's duration differs from `num_frames / fps` by more than `tolerance_frames`."""
  from listen_jax import audio  # pylint: disable=g-import-not-at-top

  audio_frames = audio.wav_num_frames(num_samples, sr, fps)
  if abs(audio_frames - num_frames) > tolerance_frames:
    raise _fail(
        clip, path,
        f"wav lasts {num_samples / sr:.3f} s = {audio_frames:.2f} frames at {fps:g} fps, but the clip has "
        f"{num_frames} frames ({num_frames / fps:.3f} s): they differ by more than {tolerance_frames:g} frame(s)")


def read_audio_feats(path, clip: str) -> np.ndarray:
  """vico_challenge_baseline `audio_feats/{uuid}.npy` -> [T, 45] float32."""
  path = require_file(path, clip, "audio features (.npy)")
  return check_frames(_load_npy(path, clip), width=VICO_AUDIO_WIDTH, clip=clip, path=path, what="audio features")


def _load_npy(path: str, clip: str) -> np.ndarray:
  try:
    return np.load(path, allow_pickle=False)
  except (ValueError, OSError, EOFError) as e:
    raise _fail(clip, path, f"unreadable .npy file ({e})") from e


# ---------------------------------------------------------------------------------------------------------
# ViCo 3DMM files


@dataclasses.dataclass(frozen=True)
class VicoMotion:
  """One person's ViCo coefficients.

  Attributes:
    dynamic: [T, 73] float32, ViCo dynamic layout [angle|exp|trans|crop].
    static: [T, 187] float32, [id|gamma|tex].
    image_size: [2] float32 (w0, h0) of the first frame's transform_params, or None when unknown.
  """

  dynamic: np.ndarray
  static: np.ndarray
  image_size: np.ndarray | None

  @property
  def num_frames(self) -> int:
    return int(self.dynamic.shape[0])


def read_bfm_mat(path, clip: str) -> tuple[np.ndarray, np.ndarray]:
  """Deep3DFaceRecon `.mat` -> (coeff [T, 257], transform_params [T, 5]), float32, validated."""
  import scipy.io  # pylint: disable=g-import-not-at-top

  path = require_file(path, clip, "3DMM reconstruction (.mat)")
  try:
    mat = scipy.io.loadmat(path)
  except (ValueError, OSError, TypeError, NotImplementedError) as e:
    raise _fail(clip, path, f"unreadable .mat file ({e})") from e
  for key in ("coeff", "transform_params"):
    if key not in mat:
      found = sorted(k for k in mat if not k.startswith("__"))
      raise _fail(clip, path, f"no {key!r} variable (found {found})")
  coeff = check_frames(mat["coeff"], width=BFM_WIDTH, clip=clip, path=path, what="coeff")
  tp = check_frames(mat["transform_params"], width=TRANSFORM_WIDTH, clip=clip, path=path, what="transform_params")
  if coeff.shape[0] != tp.shape[0]:
    raise _fail(clip, path, f"coeff has {coeff.shape[0]} frames but transform_params has {tp.shape[0]}")
  return coeff, tp


def read_vico_recon(path, clip: str) -> VicoMotion:
  """Deep3DFaceRecon `.mat` -> VicoMotion (image_size from the first frame's (w0, h0))."""
  coeff, tp = read_bfm_mat(path, clip)
  dynamic, static = layouts.bfm_to_vico(coeff, tp)
  return VicoMotion(dynamic=dynamic.astype(np.float32), static=static.astype(np.float32),
                    image_size=tp[0, :2].astype(np.float32))


class _NumpyOnlyUnpickler(pickle.Unpickler):
  """Unpickles dicts/lists of numpy arrays only: no torch, no arbitrary classes."""

  _ALLOWED_MODULES = ("numpy", "numpy.core.multiarray", "numpy._core.multiarray", "numpy.core.numeric",
                      "numpy._core.numeric", "collections", "builtins", "_codecs")
  _ALLOWED_BUILTINS = ("dict", "list", "tuple", "set", "frozenset", "int", "float", "str", "bytes", "bool",
                       "complex", "slice", "bytearray")

  def find_class(self, module, name):
    if module == "builtins" and name not in self._ALLOWED_BUILTINS:
      raise pickle.UnpicklingError(f"refusing to unpickle builtins.{name}")
    if module == "collections" and name != "OrderedDict":
      raise pickle.UnpicklingError(f"refusing to unpickle collections.{name}")
    if module == "_codecs" and name != "encode":
      raise pickle.UnpicklingError(f"refusing to unpickle _codecs.{name}")
    if module not in self._ALLOWED_MODULES and not module.startswith("numpy."):
      raise pickle.UnpicklingError(
          f"refusing to unpickle {module}.{name}: only numpy arrays are supported (torch tensors need torch)")
    return super().find_class(module, name)

  def persistent_load(self, pid):
    raise pickle.UnpicklingError(
        f"the pickle references torch storage {pid!r}: it holds torch tensors, not numpy arrays")


# Magic number torch's legacy (non-zip) serialisation writes as its first pickle.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def read_torch_pickle(path, clip: str):
  """Reads a `torch.save` file of numpy arrays without importing torch.

  Accepts the zip format (`<name>/data.pkl` inside a zip), torch's legacy format (magic number, protocol and
  system-info pickles, then the object) and a plain pickle. Only numpy arrays and plain containers are
  allowed; torch tensors or other classes raise DataError.

  Args:
    path: the `.bin`/`.pt` file.
    clip: clip id for messages.

  Returns:
    The unpickled object (normally a dict of numpy arrays).
  """
  path = require_file(path, clip, "torch feature file (.bin)")
  try:
    if zipfile.is_zipfile(path):
      with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(names) != 1:
          raise _fail(clip, path, f"zip archive without a single data.pkl (entries: {zf.namelist()[:8]})")
        return _NumpyOnlyUnpickler(io.BytesIO(zf.read(names[0]))).load()
    with open(path, "rb") as f:
      first = _NumpyOnlyUnpickler(f).load()
      if isinstance(first, int) and first == _TORCH_LEGACY_MAGIC:
        _NumpyOnlyUnpickler(f).load()  # protocol version
        _NumpyOnlyUnpickler(f).load()  # system info
        return _NumpyOnlyUnpickler(f).load()
      return first
  except DataError:
    raise
  except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, AttributeError, ImportError, ValueError,
          KeyError, IndexError, TypeError) as e:
    raise _fail(clip, path, f"unreadable torch pickle ({type(e).__name__}: {e})") from e


def read_vico_feature_bin(path, clip: str) -> VicoMotion:
  """vico_challenge_baseline `video_feats/{uuid}.{role}.bin` -> VicoMotion (image_size None: not stored)."""
  obj = read_torch_pickle(path, clip)
  path = os.fspath(path)
  if not isinstance(obj, Mapping):
    raise _fail(clip, path, f"expected a dict of arrays, got {type(obj).__name__}")
  for key in ("angle.exp.trans", "id.gamma.tex"):
    if key not in obj:
      raise _fail(clip, path, f"no {key!r} entry (found {sorted(obj)})")
  dynamic = check_frames(obj["angle.exp.trans"], width=VICO_DYNAMIC_WIDTH, clip=clip, path=path,
                         what="'angle.exp.trans'")
  static = check_frames(obj["id.gamma.tex"], width=VICO_STATIC_WIDTH, clip=clip, path=path, what="'id.gamma.tex'")
  if dynamic.shape[0] != static.shape[0]:
    raise _fail(clip, path, f"'angle.exp.trans' has {dynamic.shape[0]} frames but 'id.gamma.tex' has "
                f"{static.shape[0]}")
  return VicoMotion(dynamic=dynamic, static=static, image_size=None)


# ---------------------------------------------------------------------------------------------------------
# ViCo split csvs


@dataclasses.dataclass(frozen=True)
class VicoRow:
  """One row of a ViCo split csv; `index` is its position among the split's rows (header excluded)."""

  index: int
  split: str
  video_id: str
  uuid: str
  speaker_id: int
  listener_id: int
  attitude: str
  csv_path: str


def _read_csv_dicts(path: str) -> tuple[list[str], list[dict[str, str]]]:
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.DictReader(f)
    fields = [c.strip() for c in (reader.fieldnames or [])]
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
  return fields, rows


def read_vico_csv(path, split: str | None = None) -> list[VicoRow]:
  """Reads a ViCo csv with columns `video_id, uuid, speaker_id, listener_id[, attitude][, split]`.

  Without an `attitude` column every row gets 'neutral' (a warning names the csv): the challenge csvs carry no
  attitude. An attitude outside {positive, neutral, negative} (case-insensitive) is an error.

  Args:
    path: the csv.
    split: the split every row belongs to; if None, the csv must have a `split` column (values train, test,
      ood, case-insensitive).

  Returns:
    Rows in file order; `index` counts rows per split.
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise MissingFileError(f"missing ViCo csv: {path}")
  fields, rows = _read_csv_dicts(path)
  missing = [c for c in VICO_CSV_COLUMNS if c not in fields]
  if split is None and "split" not in fields:
    missing.append("split")
  if missing:
    raise DataError(f"{path}: missing columns {missing} (found {fields})")
  has_attitude = "attitude" in fields
  if not has_attitude:
    logging.warning("%s: no 'attitude' column; every clip is labelled %r", path, DEFAULT_ATTITUDE)
  counters: dict[str, int] = {}
  out = []
  for line, r in enumerate(rows, start=2):
    uuid = r["uuid"]
    if not uuid:
      raise DataError(f"{path}: line {line}: empty uuid")
    row_split = split if split is not None else VICO_SPLIT_ALIASES.get(r["split"].lower())
    if split is not None and r.get("split") and VICO_SPLIT_ALIASES.get(r["split"].lower()) != split:
      raise DataError(f"{path}: line {line}: clip {uuid}: split column says {r['split']!r} but the file is the "
                      f"{split!r} csv")
    if row_split is None:
      raise DataError(f"{path}: line {line}: clip {uuid}: unknown split {r['split']!r} "
                      f"(expected one of {sorted(VICO_SPLIT_ALIASES)})")
    attitude = r["attitude"].lower() if has_attitude else DEFAULT_ATTITUDE
    if attitude not in ATTITUDES:
      raise DataError(f"{path}: line {line}: clip {uuid}: unknown attitude label {r['attitude']!r} "
                      f"(expected one of {ATTITUDES})")
    ids = {}
    for col in ("speaker_id", "listener_id"):
      try:
        ids[col] = int(r[col])
      except ValueError:
        raise DataError(f"{path}: line {line}: clip {uuid}: {col} {r[col]!r} is not an integer") from None
    index = counters.get(row_split, 0)
    counters[row_split] = index + 1
    out.append(VicoRow(index=index, split=row_split, video_id=r["video_id"], uuid=uuid,
                       speaker_id=ids["speaker_id"], listener_id=ids["listener_id"], attitude=attitude,
                       csv_path=path))
  return out


def find_vico_splits(root, splits: Sequence[str] = ("train", "test", "ood")) -> dict[str, list[VicoRow]]:
  """Finds the ViCo split csvs under `root` (or `root/metadata`) and reads them.

  Either per-split files `{split}.csv` (a missing one gives no split; `OOD.csv` etc. are accepted) or a single
  csv with a `split` column. A uuid listed twice (within or across splits) is an error.

  Returns:
    split -> rows in csv order, only for splits that have at least one row.
  """
  root = os.fspath(root)
  by_split: dict[str, list[VicoRow]] = {}
  for folder in (root, os.path.join(root, "metadata")):
    if not os.path.isdir(folder):
      continue
    files = {f.lower(): os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(".csv")}
    per_split = {s: files[f"{s}.csv"] for s in splits if f"{s}.csv" in files}
    if per_split:
      for s, p in per_split.items():
        by_split[s] = read_vico_csv(p, split=s)
      break
    with_split_col = [p for p in sorted(files.values()) if "split" in _read_csv_dicts(p)[0]]
    if len(with_split_col) > 1:
      raise DataError(f"{folder}: several csvs with a 'split' column ({with_split_col}); keep one")
    if with_split_col:
      for r in read_vico_csv(with_split_col[0]):
        by_split.setdefault(r.split, []).append(r)
      break
  if not by_split:
    raise MissingFileError(
        f"{root}: no ViCo split csvs: expected {', '.join(s + '.csv' for s in splits)} or one csv with a "
        f"'split' column, in {root} or {os.path.join(root, 'metadata')}")
  seen: dict[str, VicoRow] = {}
  for rows in by_split.values():
    for r in rows:
      if r.uuid in seen:
        first = seen[r.uuid]
        raise DataError(f"duplicate uuid {r.uuid}: {first.csv_path} ({first.split}) and {r.csv_path} ({r.split})")
      seen[r.uuid] = r
  unknown = sorted(set(by_split) - set(splits))
  if unknown:
    raise DataError(f"{root}: rows for unexpected splits {unknown} (expected {list(splits)})")
  return {s: by_split[s] for s in splits if by_split.get(s)}


# ---------------------------------------------------------------------------------------------------------
# REACT


def read_react_csv(path) -> list[tuple[str, str]]:
  """REACT split csv (header `,speaker_path,listener_path`) -> [(speaker_path, listener_path)] in file order."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise MissingFileError(f"missing REACT csv: {path}")
  fields, rows = _read_csv_dicts(path)
  missing = [c for c in ("speaker_path", "listener_path") if c not in fields]
  if missing:
    raise DataError(f"{path}: missing columns {missing} (found {fields})")
  out = []
  for line, r in enumerate(rows, start=2):
    sp, lp = r["speaker_path"].strip("/"), r["listener_path"].strip("/")
    if not sp or not lp:
      raise DataError(f"{path}: line {line}: empty speaker_path or listener_path")
    out.append((sp, lp))
  if not out:
    raise DataError(f"{path}: no rows")
  return out


def read_react_3dmm(path, clip: str) -> np.ndarray:
  """FaceVerse `.npy` -> [T, 58] float32 (singleton axes such as [T, 1, 58] are squeezed)."""
  path = require_file(path, clip, "3DMM coefficients (.npy)")
  a = _load_npy(path, clip)
  if a.ndim == 3 and 1 in a.shape[:2]:
    a = a.reshape(-1, a.shape[-1])
  return check_frames(a, width=FACEVERSE_WIDTH, clip=clip, path=path, what="3DMM coefficients")


def read_react_emotion(path, clip: str) -> np.ndarray:
  """REACT emotion csv (one header row, then T rows of 25 values) -> [T, 25] float32.

  A leading unnamed index column (header starting with ',', 26 columns) is dropped.
  """
  path = require_file(path, clip, "emotion (.csv)")
  try:
    with open(path, newline="", encoding="utf-8-sig") as f:
      rows = [r for r in csv.reader(f) if r]
  except (OSError, UnicodeDecodeError) as e:
    raise _fail(clip, path, f"unreadable csv ({e})") from e
  if not rows:
    raise _fail(clip, path, "empty file (expected a header row and T rows of 25 values)")
  header, body = rows[0], rows[1:]
  skip = 1 if (len(header) == EMOTION_WIDTH + 1 and not header[0].strip()) else 0
  widths = {len(r) - skip for r in body}
  if len(widths) > 1:
    raise _fail(clip, path, f"rows have different numbers of values {sorted(widths)}")
  try:
    values = np.array([[float(v) for v in r[skip:]] for r in body], dtype=np.float64)
  except ValueError as e:
    raise _fail(clip, path, f"non-numeric emotion value ({e})") from e
  if values.size == 0:
    values = values.reshape(0, widths.pop() if widths else EMOTION_WIDTH)
  return check_frames(values, width=EMOTION_WIDTH, clip=clip, path=path, what="emotion")


def read_neighbours(path, num_items: int) -> list[np.ndarray]:
  """Appropriate-reaction neighbours from `neighbour_emotion_{split}.npy`.

  Item k's neighbours are the j with A[k, j] == 1. A row without any neighbour is logged as a warning and
  gets its own index as its only neighbour (so every item can be scored).

  Args:
    path: the (2M, 2M) matrix, rows/columns in the mirrored item order.
    num_items: expected size 2M.

  Returns:
    num_items int32 arrays of neighbour indices (sorted).
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise MissingFileError(f"missing neighbour matrix: {path}")
  try:
    a = np.load(path, mmap_mode="r", allow_pickle=False)
  except (ValueError, OSError, EOFError) as e:
    raise DataError(f"{path}: unreadable neighbour matrix ({e})") from e
  if a.shape != (num_items, num_items):
    raise DataError(f"{path}: neighbour matrix has shape {a.shape}, but the split has {num_items} items "
                    f"(2 x csv rows): expected ({num_items}, {num_items})")
  out = []
  empty = []
  for k in range(num_items):
    row = np.asarray(a[k])
    idx = np.flatnonzero(row == 1).astype(np.int32)
    if idx.size == 0:
      empty.append(k)
      idx = np.array([k], dtype=np.int32)
    out.append(idx)
  if empty:
    logging.warning("%s: %d items have no appropriate neighbour (first: %s); each uses its own index",
                    path, len(empty), empty[:10])
  return out
