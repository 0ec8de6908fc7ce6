"""Errors of the raw readers, the per-frame widths they check and the shared checks (frames, lengths,
files, .npy and csv loading), every message naming the clip and the file."""
from __future__ import annotations

import csv
import os
from typing import Mapping

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


def _load_npy(path: str, clip: str) -> np.ndarray:
  try:
    return np.load(path, allow_pickle=False)
  except (ValueError, OSError, EOFError) as e:
    raise _fail(clip, path, f"unreadable .npy file ({e})") from e


def _read_csv_dicts(path: str) -> tuple[list[str], list[dict[str, str]]]:
  with open(path, newline="", encoding="utf-8-sig") as f:
    reader = csv.DictReader(f)
    fields = [c.strip() for c in (reader.fieldnames or [])]
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
  return fields, rows
