"""Whole clips in `index` order (evaluation / generation)."""
from __future__ import annotations

from typing import Iterator
from typing import Sequence

import numpy as np

from listen_jax.data.pipeline.assemble import _ClipLoader
from listen_jax.data.pipeline.assemble import _WindowRef
from listen_jax.data.pipeline.assemble import _assemble
from listen_jax.data.pipeline.assemble import _check_stats
from listen_jax.data.pipeline.assemble import _format_spec
from listen_jax.data.pipeline.source import ClipSource


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
