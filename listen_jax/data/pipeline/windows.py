"""Training windows: enumeration and the shuffled, sharded, checkpointable grain train iterator."""
from __future__ import annotations

import sys
import threading
from typing import Sequence

from absl import flags
import grain
import numpy as np

from listen_jax.data.pipeline.assemble import _ClipLoader
from listen_jax.data.pipeline.assemble import _WindowRef
from listen_jax.data.pipeline.assemble import _assemble
from listen_jax.data.pipeline.assemble import _check_stats
from listen_jax.data.pipeline.assemble import _format_spec
from listen_jax.data.pipeline.source import ClipSource


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
