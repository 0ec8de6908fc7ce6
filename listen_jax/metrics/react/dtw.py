"""FRDist: weighted DTW distance to the closest appropriate real reaction (strip DTW, sharded over the local
devices; see the package docstring)."""
from __future__ import annotations

import functools

from jax import lax
import jax
import jax.numpy as jnp
import numpy as np

from listen_jax.metrics.react.inputs import Groups
from listen_jax.metrics.react.inputs import _as_array
from listen_jax.metrics.react.inputs import _check_convention
from listen_jax.metrics.react.inputs import _check_groups
from listen_jax.metrics.react.inputs import _neighbour_rows
from listen_jax.metrics.react.inputs import default_groups


# DTW pairs evaluated together on one device (the minor, vectorised axis of every DTW step).
DTW_CHUNK = 128
# DTW grid rows per inner step (strip height); 32 x 128 pairs was fastest on a 2-core Zen 4 (see bench).
DTW_ROWS = 32
# Preferred SIMD width (bits) for the DTW jit (XLA:CPU defaults to 256 even on AVX-512 hardware). On the
# 2-core AVX-512 Zen 4 it cut the CPU time per 750 x 750 weighted pair by ~15% (same results, bit for bit).
DTW_VECTOR_WIDTH = 512


def _strip_costs(strip: jax.Array, col: jax.Array, bounds: tuple[tuple[int, int], ...]) -> jax.Array:
  """Exact per-group squared distances of R rows against one column.

  Args:
    strip: [R, D, B] float32 rows i0..i0+R-1 of the DTW grid (pairs on the minor axis).
    col: [D, B] float32 column j.
    bounds: static ((start, stop), ...) dim slices, one per group.

  Returns:
    [R, G, B] float32 sum over the group's dims of (strip - col)^2 (exactly 0 for identical frames).
  """
  costs = []
  for lo, hi in bounds:
    acc = None
    for k in range(lo, hi):  # unrolled: one fused, vectorised loop over [R, B]
      diff = strip[:, k] - col[k][None]
      acc = diff * diff if acc is None else acc + diff * diff
    costs.append(acc)
  return jnp.stack(costs, axis=1)


def dtw_squared(p: jax.Array, g: jax.Array, bounds: tuple[tuple[int, int], ...], *,
                rows: int = DTW_ROWS) -> jax.Array:
  """Batched per-group squared DTW (min-path cumulative squared Euclidean cost).

  Strip-mined row recurrence with the pair axis minor (see the module docstring): an outer loop over
  strips of `rows` rows of p, an inner loop over the columns of g; each inner step computes the R x G x B
  costs of one column and runs the R-row chain D[i, j] = c[i, j] + min(D[i-1, j], D[i, j-1], D[i-1, j-1])
  unrolled, carrying the strip's previous column and handing its last row to the next strip.

  Args:
    p: [B, T1, D] float32.
    g: [B, T2, D] float32.
    bounds: static ((start, stop), ...) dim slices.
    rows: strip height R (rows of p per inner step).

  Returns:
    [G, B] float32; tslearn's dtw is the square root of this.
  """
  n_pairs, t1, _ = p.shape
  t2 = g.shape[1]
  strip_rows = max(1, min(rows, t1))
  n_strips = -(-t1 // strip_rows)
  n_groups = len(bounds)
  inf = jnp.float32(jnp.inf)
  # Rows past T1 (padding of the last strip) only feed rows below T1 - 1, never the result.
  pt = jnp.pad(jnp.transpose(p, (1, 2, 0)), ((0, n_strips * strip_rows - t1), (0, 0), (0, 0)))  # [T1', D, B]
  gt = jnp.transpose(g, (1, 2, 0))  # [T2, D, B]
  last_row = (t1 - 1) % strip_rows

  def strip(s, carry):
    # edge_in[0] = D[i0 - 1, -1] (0 above the first strip, else inf), edge_in[1 + j] = D[i0 - 1, j].
    edge_in, _ = carry
    rows_s = lax.dynamic_slice_in_dim(pt, s * strip_rows, strip_rows, 0)  # [R, D, B]
    edge_in = edge_in.at[0].set(jnp.where(s == 0, 0.0, inf))

    def column(j, carry):
      left, edge_out = carry  # left[r] = D[i0 + r, j - 1]
      costs = _strip_costs(rows_s, lax.dynamic_index_in_dim(gt, j, 0, keepdims=False), bounds)
      above = lax.dynamic_slice_in_dim(edge_in, j, 2, 0)
      diag, up = above[0], above[1]
      new = []
      for r in range(strip_rows):
        cur = costs[r] + jnp.minimum(jnp.minimum(up, left[r]), diag)
        diag, up = left[r], cur
        new.append(cur)
      return tuple(new), lax.dynamic_update_index_in_dim(edge_out, up, j + 1, 0)

    # A tuple carry (not a stacked array) keeps the unrolled chain in cheap elementwise fusions.
    left0 = tuple(jnp.full((n_groups, n_pairs), inf) for _ in range(strip_rows))
    left, edge_out = lax.fori_loop(0, t2, column, (left0, jnp.full_like(edge_in, inf)))
    return edge_out, left[last_row]

  edge0 = jnp.full((t2 + 1, n_groups, n_pairs), inf)
  _, result = lax.fori_loop(0, n_strips, strip, (edge0, jnp.zeros((n_groups, n_pairs), jnp.float32)))
  return result


def weighted_dtw(p: jax.Array, g: jax.Array, groups: Groups, *, rows: int = DTW_ROWS) -> jax.Array:
  """sum_g w_g * sqrt(dtw_sq_g(p, g)) for batches p [B, T1, D], g [B, T2, D] -> [B] (`rows`: strip height)."""
  p = jnp.asarray(p, jnp.float32)
  g = jnp.asarray(g, jnp.float32)
  bounds = tuple((lo, hi) for lo, hi, _ in groups)
  weights = jnp.asarray([w for _, _, w in groups], jnp.float32)
  sq = dtw_squared(p, g, bounds, rows=rows)
  return jnp.sum(weights[:, None] * jnp.sqrt(jnp.maximum(sq, 0.0)), axis=0)


def _pair_distances_impl(pred, listener, pair_item, pair_sample, pair_neighbour, *, groups, chunk, mesh):
  """Weighted DTW of pred[item, sample] vs listener[neighbour] for [n_dev * n_chunks * chunk] pairs."""

  def per_device(pred, listener, items, samples, nbrs):
    def one_chunk(idx):
      k, s, j = idx
      return weighted_dtw(pred[k, s], listener[j], groups)

    shape = items.shape
    idx = tuple(x.reshape(-1, chunk) for x in (items, samples, nbrs))
    return lax.map(one_chunk, idx).reshape(shape)

  spec = jax.sharding.PartitionSpec('pairs')
  rep = jax.sharding.PartitionSpec()
  fn = jax.shard_map(per_device, mesh=mesh, in_specs=(rep, rep, spec, spec, spec), out_specs=spec,
                     check_vma=False)
  return fn(pred, listener, pair_item, pair_sample, pair_neighbour)


@functools.lru_cache(maxsize=None)
def _pair_distances(vector_width: int):
  """`_pair_distances_impl` jitted with LLVM's preferred vector width (bits; 0 = XLA's default, 256)."""
  options = {'xla_cpu_prefer_vector_width': vector_width} if vector_width else None
  return jax.jit(_pair_distances_impl, static_argnames=('groups', 'chunk', 'mesh'), compiler_options=options)


def _pair_mesh() -> jax.sharding.Mesh:
  return jax.sharding.Mesh(np.array(jax.local_devices()), ('pairs',))


def _min_distances(pred: jax.Array, listener: jax.Array, adjacency: np.ndarray, groups: Groups,
                   chunk: int = DTW_CHUNK, vector_width: int = DTW_VECTOR_WIDTH) -> np.ndarray:
  """min over neighbours of the weighted DTW, per (item, sample) -> [N, S] float64 numpy."""
  n, s = pred.shape[:2]
  rows, cols = np.nonzero(adjacency)
  # Every valid (item, sample, neighbour) triple, padded with a mask to whole chunks on every device.
  items = np.repeat(rows, s)
  samples = np.tile(np.arange(s), rows.size)
  nbrs = np.repeat(cols, s)
  mesh = _pair_mesh()
  # Never batch more pairs than a device has: small workloads are not padded up to a full chunk.
  chunk = max(1, min(chunk, -(-items.size // mesh.size)))
  block = chunk * mesh.size
  total = -(-items.size // block) * block
  valid = np.arange(total) < items.size
  pad = total - items.size
  items, samples, nbrs = (np.concatenate([x, np.zeros(pad, x.dtype)]).astype(np.int32)
                          for x in (items, samples, nbrs))
  dist = _pair_distances(vector_width)(pred, listener, items, samples, nbrs, groups=groups, chunk=chunk, mesh=mesh)
  segment = np.where(valid, items * s + samples, n * s)  # padded pairs go to a dropped segment
  best = jax.ops.segment_min(dist, jnp.asarray(segment), num_segments=n * s + 1)[: n * s]
  return np.asarray(best, np.float64).reshape(n, s)


def fr_dist(pred, listener, neighbours, *, convention: str = 'react2023', groups: Groups | None = None,
            chunk: int = DTW_CHUNK, vector_width: int = DTW_VECTOR_WIDTH) -> float:
  """FRDist: weighted DTW to the closest appropriate real listener reaction (lower is better).

  Args:
    pred: [N, S, T, D] generated reactions.
    listener: [N, T', D] real listener reactions (T' may differ from T).
    neighbours: [N, N] 0/1 appropriateness matrix; every row needs at least one 1.
    convention: 'react2023' (sum over samples) or 'corrected' (mean over samples).
    groups: ((start, stop, weight), ...) dim groups; default `default_groups(D)`.
    chunk: DTW pairs evaluated together on each device (the vectorised axis; capped at the pairs per device).
    vector_width: SIMD width in bits that XLA:CPU's code generator should prefer for the DTW kernels
      (`xla_cpu_prefer_vector_width`, a per-jit compiler option); 0 keeps XLA's default (256). Results are
      identical for every width; 512 is faster on AVX-512 CPUs and harmless elsewhere.

  Returns:
    The metric as a Python float.
  """
  _check_convention(convention)
  if vector_width not in (0, 128, 256, 512):
    raise ValueError(f'vector_width must be 0 (XLA default), 128, 256 or 512, got {vector_width}')
  pred = _as_array(pred, 'pred', 4)
  listener = _as_array(listener, 'listener', 3)
  n, _, _, dim = pred.shape
  if listener.shape[0] != n or listener.shape[2] != dim:
    raise ValueError(f'listener must have shape [N, T, D] with N={n}, D={dim}, got {tuple(listener.shape)}')
  adjacency = _neighbour_rows(neighbours, n)
  groups = _check_groups(default_groups(dim) if groups is None else groups, dim)
  best = _min_distances(pred, listener, adjacency, groups, chunk, vector_width)
  per_item = best.sum(axis=1) if convention == 'react2023' else best.mean(axis=1)
  return float(per_item.mean())
