"""Readers of the raw REACT files: split csvs, FaceVerse 3DMM .npy, emotion csvs and neighbour matrices."""
from __future__ import annotations

import csv
import os

from absl import logging
import numpy as np

from listen_jax.data.raw.checks import DataError
from listen_jax.data.raw.checks import EMOTION_WIDTH
from listen_jax.data.raw.checks import FACEVERSE_WIDTH
from listen_jax.data.raw.checks import MissingFileError
from listen_jax.data.raw.checks import _fail
from listen_jax.data.raw.checks import _load_npy
from listen_jax.data.raw.checks import _read_csv_dicts
from listen_jax.data.raw.checks import check_frames
from listen_jax.data.raw.checks import require_file


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
