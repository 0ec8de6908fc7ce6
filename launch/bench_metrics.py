"""Times the REACT metric suite on random inputs shaped like a REACT test-split subset.

Prints one JSON object per line: {"name": ..., "value": ..., "unit": ...}, including
`frdist_ms_per_pair` (amortised wall time per weighted 3-group DTW pair, compile excluded) and the speed-up
over a plain NumPy anti-diagonal DTW and over the official per-pair cost (~19 ms, tslearn on one core).

  python -m launch.bench_metrics --items 64 --samples 10 --frames 750 --neighbours 10 --devices 2
"""
import json
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer('items', 16, 'Evaluation items N.')
flags.DEFINE_integer('samples', 10, 'Samples per item S.')
flags.DEFINE_integer('frames', 750, 'Frames per clip T.')
flags.DEFINE_integer('dims', 25, 'Feature dims D (25 = REACT emotion, weighted 3-group DTW).')
flags.DEFINE_integer('neighbours', 10, 'Appropriate neighbours per item (incl. itself).')
flags.DEFINE_integer('devices', 2, 'CPU devices (threads) the DTW pairs are spread over.')
flags.DEFINE_integer('chunk', 1, 'DTW pairs per scan batch on one device.')
flags.DEFINE_integer('numpy_pairs', 2, 'Weighted pairs timed with the plain NumPy DTW.')
flags.DEFINE_float('official_ms_per_pair', 19.0, 'Official tslearn cost of one weighted pair (one core).')
flags.DEFINE_integer('seed', 0, 'Random seed.')


def _emit(name, value, unit):
  print(json.dumps({'name': name, 'value': round(float(value), 4), 'unit': unit}), flush=True)


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
  start = time.perf_counter()
  out = fn()
  return out, time.perf_counter() - start


def main(argv):
  del argv
  import jax  # pylint: disable=g-import-not-at-top
  jax.config.update('jax_num_cpu_devices', FLAGS.devices)
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
  _emit('devices', len(jax.local_devices()), 'count')
  _emit('frdist_pairs', pairs, 'pairs')

  # Warm-up on the same shapes compiles everything; the second call is timed.
  metrics = {
      'fr_dist': lambda: react.fr_dist(pred, listener, adj, chunk=FLAGS.chunk),
      'fr_corr': lambda: react.fr_corr(pred, listener, adj),
      'fr_syn': lambda: react.fr_syn(pred, speaker),
      'fr_div': lambda: react.fr_div(pred),
      'fr_var': lambda: react.fr_var(pred),
      'fr_dvs': lambda: react.fr_dvs(pred),
  }
  for name, fn in metrics.items():
    _, compile_s = _timed(fn)
    value, run_s = _timed(fn)
    _emit(f'{name}_first_call_s', compile_s, 's')
    _emit(f'{name}_s', run_s, 's')
    _emit(f'{name}_value', value, 'metric')
    if name == 'fr_dist':
      jax_ms = run_s / pairs * 1e3
      _emit('frdist_ms_per_pair', jax_ms, 'ms')

  groups = react.default_groups(d)
  numpy_s = []
  for p in range(FLAGS.numpy_pairs):
    a, b = pred[p % n, 0].astype(np.float64), listener[(p + 1) % n].astype(np.float64)
    _, dt = _timed(lambda: sum(w * numpy_dtw(a[:, lo:hi], b[:, lo:hi]) for lo, hi, w in groups))
    numpy_s.append(dt)
  if not numpy_s:
    return
  numpy_ms = float(np.mean(numpy_s)) * 1e3
  _emit('numpy_dtw_ms_per_pair', numpy_ms, 'ms')
  _emit('speedup_vs_numpy_dtw', numpy_ms / jax_ms, 'x')
  _emit('speedup_vs_official_tslearn', FLAGS.official_ms_per_pair / jax_ms, 'x')


if __name__ == '__main__':
  app.run(main)
