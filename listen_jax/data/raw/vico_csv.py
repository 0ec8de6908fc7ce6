"""Readers of the ViCo split csvs (`video_id, uuid, speaker_id, listener_id[, attitude][, split]`)."""
from __future__ import annotations

import dataclasses
import os
from typing import Sequence

from absl import logging

from listen_jax.data.raw.checks import DataError
from listen_jax.data.raw.checks import MissingFileError
from listen_jax.data.raw.checks import _read_csv_dicts


ATTITUDES = ("positive", "neutral", "negative")
DEFAULT_ATTITUDE = "neutral"
VICO_CSV_COLUMNS = ("video_id", "uuid", "speaker_id", "listener_id")
# Challenge file spelling -> canonical ViCo split name.
VICO_SPLIT_ALIASES = {"train": "train", "test": "test", "ood": "ood"}


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
