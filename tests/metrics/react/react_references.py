"""Slow, obvious NumPy references of the official REACT code (loops, np.corrcoef, O(T^2) DP, np.argmax),
shared by the REACT metric tests (imported by them; not a test module)."""
import numpy as np

GROUPS25 = ((0, 15, 1 / 15), (15, 17, 1.0), (17, 25, 1 / 8))


def ref_corrcoef_clean(x, y):
  with np.errstate(all='ignore'):
    r = np.corrcoef(x.astype(np.float64), y.astype(np.float64))[0, 1]
  return float(np.clip(np.nan_to_num(r), -1, 1))


def ref_ccc(gt, pr, convention='react2023'):
  vals, keep = [], []
  for d in range(gt.shape[1]):
    x, y = gt[:, d], pr[:, d]
    r = ref_corrcoef_clean(x, y)
    ccc = 2 * r * x.std() * y.std() / (x.var() + y.var() + (x.mean() - y.mean()) ** 2 + 1e-8)
    vals.append(ccc)
    keep.append(x.max() != x.min())
  vals, keep = np.array(vals), np.array(keep)
  if convention == 'react2023':
    return vals.mean()
  return vals[keep].mean() if keep.any() else 0.0


def ref_fr_corr(pred, listener, adj, convention='react2023'):
  per_item = []
  for k in range(pred.shape[0]):
    best = [max(ref_ccc(listener[j], pred[k, s], convention) for j in np.flatnonzero(adj[k] == 1))
            for s in range(pred.shape[1])]
    per_item.append(np.sum(best) if convention == 'react2023' else np.mean(best))
  return float(np.mean(per_item))


def ref_dtw(a, b):
  a, b = a.astype(np.float64), b.astype(np.float64)
  acc = np.full((len(a) + 1, len(b) + 1), np.inf)
  acc[0, 0] = 0.0
  for i in range(1, len(a) + 1):
    for j in range(1, len(b) + 1):
      cost = np.sum((a[i - 1] - b[j - 1]) ** 2)
      acc[i, j] = cost + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
  return np.sqrt(acc[-1, -1])


def ref_weighted_dtw(a, b, groups):
  return sum(w * ref_dtw(a[:, lo:hi], b[:, lo:hi]) for lo, hi, w in groups)


def ref_fr_dist(pred, listener, adj, groups, convention='react2023'):
  per_item = []
  for k in range(pred.shape[0]):
    best = [min(ref_weighted_dtw(pred[k, s], listener[j], groups) for j in np.flatnonzero(adj[k] == 1))
            for s in range(pred.shape[1])]
    per_item.append(np.sum(best) if convention == 'react2023' else np.mean(best))
  return float(np.mean(per_item))


def ref_s_mse(pred):
  n, s = pred.shape[:2]
  if s == 1:
    return 0.0
  out = []
  for k in range(n):
    x = pred[k].reshape(s, -1).astype(np.float64)
    tot = sum(np.sum((x[a] - x[b]) ** 2) for a in range(s) for b in range(s) if a != b)
    out.append(tot / (s * (s - 1) * x.shape[1]))
  return float(np.mean(out))


def ref_fr_dvs(pred):
  n, s = pred.shape[:2]
  tot = 0.0
  for i in range(s):
    x = pred[:, i].reshape(n, -1).astype(np.float64)
    tot += sum(np.sum((x[a] - x[b]) ** 2) for a in range(n) for b in range(n) if a != b)
  return tot / (n * (n - 1) * s) / (pred.shape[2] * pred.shape[3])


def ref_fr_var(pred):
  return float(np.var(pred.astype(np.float64), axis=2, ddof=1).mean())


def ref_tlcc_offset(x, y, max_lag=49):
  """Official crosscorr with the plain np.corrcoef, then np.argmax (first NaN wins)."""
  corrs = []
  for lag in range(-max_lag, max_lag + 1):
    if lag > 0:
      xs, ys = x[lag:], y[:-lag]
    elif lag < 0:
      xs, ys = x[:lag], y[-lag:]
    else:
      xs, ys = x, y
    with np.errstate(all='ignore'):
      r = [np.corrcoef(xs[:, d].astype(np.float64), ys[:, d].astype(np.float64))[0, 1]
           for d in range(x.shape[1])]
    corrs.append(np.mean(r))
  return abs(max_lag - int(np.argmax(np.array(corrs))))


def ref_fr_syn(pred, speaker, max_lag=49):
  return float(np.mean([ref_tlcc_offset(pred[k, 0], speaker[k], max_lag) for k in range(pred.shape[0])]))


def _adjacency(n, rng, p=0.5):
  adj = (rng.random((n, n)) < p).astype(np.float64)
  np.fill_diagonal(adj, 1.0)
  return adj
