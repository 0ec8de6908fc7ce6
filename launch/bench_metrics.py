"""Times the REACT metric suite on random inputs shaped like a REACT test-split subset.

Prints one JSON object per line: {"name": ..., "value": ..., "unit": ...}. FRDist is timed `--repeats`
times after a warm-up call (compile excluded), with wall time (`time.perf_counter`) and CPU time of the
whole process (`time.process_time`, all threads: on a shared machine the wall time includes waiting for
other people's jobs, the CPU time does not). Reported: `frdist_ms_per_pair` (median wall time per weighted
3-group DTW pair, amortised over the workload), `frdist_cpu_ms_per_pair`, the min/max over repeats, the
speed-up over the official per-pair cost (~19 ms, tslearn/numba on one core) and over a plain NumPy
per-pair anti-diagonal DTW.

  python -m launch.bench_metrics --items 64 --samples 10 --frames 750 --neighbours 10 --devices 2

`--vector_width 0` times XLA's default 256-bit code generation for comparison with the default 512.
"""
import functools
import time

from absl import app, flags

from launch import timing

FLAGS = flags.FLAGS
flags.DEFINE_integer('items', 64, 'Evaluation items N.')
flags.DEFINE_integer('samples', 10, 'Samples per item S.')
flags.DEFINE_integer('frames', 750, 'Frames per clip T.')
flags.DEFINE_integer('dims', 25, 'Feature dims D (25 = REACT emotion, weighted 3-group DTW).')
flags.DEFINE_integer('neighbours', 10, 'Appropriate neighbours per item (incl. itself).')
flags.DEFINE_integer('devices', 2, 'CPU devices (threads) the DTW pairs are spread over.')
flags.DEFINE_integer('chunk', None, 'DTW pairs per batch on one device (default react.DTW_CHUNK).')
flags.DEFINE_integer('vector_width', None, 'Preferred SIMD bits for the DTW jit (0 = XLA default; default '
                     'react.DTW_VECTOR_WIDTH).')
flags.DEFINE_integer('repeats', 2, 'Timed FRDist calls after the warm-up.')
flags.DEFINE_boolean('other_metrics', True, 'Also time FRCorr, FRSyn, FRDiv, FRVar, FRDvs (one call each).')
flags.DEFINE_integer('numpy_pairs', 2, 'Weighted pairs timed with the plain NumPy DTW.')
flags.DEFINE_float('official_ms_per_pair', 19.0, 'Official tslearn cost of one weighted pair (one core).')
flags.DEFINE_integer('seed', 0, 'Random seed.')


_emit = functools.partial(timing.emit, digits=4)


def numpy_dtw(a, b):
  """Plain NumPy DTW (sqrt of min-path squared cost), one anti-diagonal at a time, float64."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  t1, t2 = len(a), len(b)
  cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
  acc = np.full((t1 + 1, t2 + 1), np.inf)
  acc[0, 0] = 0.0
  for d in range(2, t1 + t2 + 1):  # i + j == d in 1-based indices
    i = np.arange(max(1, d - t2), min(t1, d - 1) + 1)
    j = d - i
    acc[i, j] = cost[i - 1, j - 1] + np.minimum(np.minimum(acc[i - 1, j], acc[i, j - 1]), acc[i - 1, j - 1])
  return np.sqrt(acc[t1, t2])


def _timed(fn):
  wall, cpu = time.perf_counter(), time.process_time()
  out = fn()
  return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv):
  del argv
  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update('jax_num_cpu_devices', FLAGS.devices)  # before the CPU backend starts
  import numpy as np  # pylint: disable=g-import-not-at-top
  from listen_jax.metrics import react  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(FLAGS.seed)
  n, s, t, d = FLAGS.items, FLAGS.samples, FLAGS.frames, FLAGS.dims
  pred = rng.random((n, s, t, d), dtype=np.float32)
  listener = rng.random((n, t, d), dtype=np.float32)
  speaker = rng.random((n, t, d), dtype=np.float32)
  adj = np.zeros((n, n))
  for k in range(n):
    others = rng.choice(np.delete(np.arange(n), k), size=min(FLAGS.neighbours, n) - 1, replace=False)
    adj[k, k] = 1
    adj[k, others] = 1
  pairs = int(adj.sum()) * s
  chunk = FLAGS.chunk or react.DTW_CHUNK
  _emit('devices', len(jax.local_devices()), 'count')
  _emit('frdist_pairs', pairs, 'pairs')
  _emit('frdist_chunk', chunk, 'pairs')
  _emit('frdist_rows', react.DTW_ROWS, 'rows')
  width = react.DTW_VECTOR_WIDTH if FLAGS.vector_width is None else FLAGS.vector_width
  _emit('frdist_vector_width', width, 'bits')

  fr_dist = lambda: react.fr_dist(pred, listener, adj, chunk=chunk, vector_width=width)
  value, first_s, _ = _timed(fr_dist)
  _emit('fr_dist_first_call_s', first_s, 's')
  _emit('fr_dist_value', value, 'metric')
  walls, cpus = [], []
  for _ in range(FLAGS.repeats):
    _, wall, cpu = _timed(fr_dist)
    walls.append(wall)
    cpus.append(cpu)
  wall_ms = np.array(walls) / pairs * 1e3
  cpu_ms = np.array(cpus) / pairs * 1e3
  jax_ms = float(np.median(wall_ms))
  _emit('fr_dist_s', float(np.median(walls)), 's')
  _emit('frdist_ms_per_pair', jax_ms, 'ms')
  _emit('frdist_ms_per_pair_min', wall_ms.min(), 'ms')
  _emit('frdist_ms_per_pair_max', wall_ms.max(), 'ms')
  _emit('frdist_cpu_ms_per_pair', float(np.median(cpu_ms)), 'ms')
  _emit('frdist_speedup_vs_official', FLAGS.official_ms_per_pair / jax_ms, 'x')
  # Official cost is single-core: the CPU-time ratio is the speed-up per core.
  _emit('frdist_cpu_speedup_vs_official', FLAGS.official_ms_per_pair / float(np.median(cpu_ms)), 'x')

  groups = react.default_groups(d)
  numpy_s = []
  for p in range(FLAGS.numpy_pairs):
    a, b = pred[p % n, 0].astype(np.float64), listener[(p + 1) % n].astype(np.float64)
    _, wall, _ = _timed(lambda: sum(w * numpy_dtw(a[:, lo:hi], b[:, lo:hi]) for lo, hi, w in groups))
    numpy_s.append(wall)
  if numpy_s:
    numpy_ms = float(np.mean(numpy_s)) * 1e3
    _emit('numpy_dtw_ms_per_pair', numpy_ms, 'ms')
    _emit('frdist_speedup_vs_numpy_dtw', numpy_ms / jax_ms, 'x')

  if not FLAGS.other_metrics:
    return
  metrics = {
      'fr_corr': lambda: react.fr_corr(pred, listener, adj),
      'fr_syn': lambda: react.fr_syn(pred, speaker),
      'fr_div': lambda: react.fr_div(pred),
      'fr_var': lambda: react.fr_var(pred),
      'fr_dvs': lambda: react.fr_dvs(pred),
  }
  for name, fn in metrics.items():
    _, first_s, _ = _timed(fn)
    value, run_s, _ = _timed(fn)
    _emit(f'{name}_first_call_s', first_s, 's')
    _emit(f'{name}_s', run_s, 's')
    _emit(f'{name}_value', value, 'metric')


if __name__ == '__main__':
  app.run(main)
