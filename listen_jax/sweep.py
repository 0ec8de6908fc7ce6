"""Seed-sweep summaries: mean / std over seeds of per-seed evaluation tables, and the baseline-beating check.

Input (what `launch/sweep.py` collects per data size and seed):
  runs[size][seed] = {'react': W/eval/react.json ({split: {method: {metric: value}}}),
                      'fd': W/eval/fd.json ({split: {method: {attitude|'average': {group: value}}}}) or None}

Output (`summary.json`):
  {'metrics': [...], 'sizes': {size: {'seeds': [...],
      'react': {split: {method: {metric: {'mean', 'std', 'values': [per seed, in 'seeds' order]}}}},
      'fd': {split: {method: {group: {'mean', 'std', 'values'}}}}          (ViCo data only, FD 'average' row)
      'target': {split: {'pass': bool, 'checks': [{'name', 'pass', 'values' or 'model'/'baseline', ...}]}}}}}
`std` is the sample standard deviation over seeds (ddof = 1; 0 for one seed).

The target (REACT metrics, every split): on EVERY seed the model beats MeanSeq, MeanFr and Random on both FRCorr
(higher) and FRDist (lower); FRDiv > 0 on every seed; FRVar >= half of GT's on every seed. Beating Mime on FRDist
is reported as `stretch` and does not enter `pass`. With FD (ViCo data), the model must have a lower pooled FD
than each ViCo baseline on every group and seed (`fd_target`).
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Mapping, Sequence

METRICS = ("fr_corr", "fr_dist", "fr_div", "fr_var", "fr_dvs", "fr_syn")
METRIC_NAMES = {"fr_corr": "FRCorr", "fr_dist": "FRDist", "fr_div": "FRDiv", "fr_var": "FRVar", "fr_dvs": "FRDvs",
                "fr_syn": "FRSyn"}
REQUIRED_BASELINES = ("meanseq", "meanfr", "random")
FD_BASELINES = ("random", "simulation", "simulation_attitude", "mirroring")
FD_GROUPS = ("angle", "exp", "trans")


def mean_std(values: Sequence[float]) -> dict[str, Any]:
  """{'mean', 'std' (ddof 1, 0 for a single value), 'values'} of a list of floats."""
  vals = [float(v) for v in values]
  if not vals:
    raise ValueError("mean_std of no values")
  mean = sum(vals) / len(vals)
  std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1)) if len(vals) > 1 else 0.0
  return {"mean": mean, "std": std, "values": vals}


def _aggregate(tables: Sequence[Mapping[str, Mapping[str, Mapping[str, float]]]], keys: Sequence[str]):
  """Per-seed {split: {method: {key: v}}} -> {split: {method: {key: mean_std}}} over splits/methods in all seeds."""
  splits = [s for s in tables[0] if all(s in t for t in tables)]
  out = {}
  for split in splits:
    methods = [m for m in tables[0][split] if all(m in t[split] for t in tables)]
    out[split] = {m: {k: mean_std([t[split][m][k] for t in tables]) for k in keys} for m in methods}
  return out


def check_target(react: Mapping[str, Any]) -> dict[str, Any]:
  """The baseline-beating check of one size from its aggregated REACT table (see the module docstring)."""
  out = {}
  for split, methods in react.items():
    model = methods["model"]
    checks = []
    for base in REQUIRED_BASELINES:
      if base not in methods:
        continue
      for metric, higher in (("fr_corr", True), ("fr_dist", False)):
        m, b = model[metric]["values"], methods[base][metric]["values"]
        wins = [(x > y) if higher else (x < y) for x, y in zip(m, b)]
        checks.append({"name": f"{metric} vs {base}", "pass": all(wins), "wins": wins,
                       "margin": [(x - y) if higher else (y - x) for x, y in zip(m, b)]})
    div = model["fr_div"]["values"]
    checks.append({"name": "fr_div > 0", "pass": all(v > 0 for v in div), "values": div})
    if "gt" in methods:
      ratio = [v / g if g else math.inf for v, g in zip(model["fr_var"]["values"], methods["gt"]["fr_var"]["values"])]
      checks.append({"name": "fr_var >= 0.5 gt", "pass": all(r >= 0.5 for r in ratio), "ratio": ratio})
    stretch = None
    if "mime" in methods:
      wins = [x < y for x, y in zip(model["fr_dist"]["values"], methods["mime"]["fr_dist"]["values"])]
      stretch = {"name": "fr_dist vs mime", "pass": all(wins), "wins": wins}
    out[split] = {"pass": all(c["pass"] for c in checks), "checks": checks, "stretch": stretch}
  return out


def check_fd_target(fd: Mapping[str, Any]) -> dict[str, Any]:
  """Model FD below every ViCo baseline's, per group, on every seed (aggregated FD table of one size)."""
  out = {}
  for split, methods in fd.items():
    checks = []
    for base in FD_BASELINES:
      if base not in methods:
        continue
      for g in FD_GROUPS:
        m, b = methods["model"][g]["values"], methods[base][g]["values"]
        wins = [x < y for x, y in zip(m, b)]
        checks.append({"name": f"{g} vs {base}", "pass": all(wins), "wins": wins,
                       "margin": [y - x for x, y in zip(m, b)]})
    out[split] = {"pass": all(c["pass"] for c in checks), "checks": checks}
  return out


def summarize(runs: Mapping[Any, Mapping[Any, Mapping[str, Any]]], *, info: Mapping[str, Any] | None = None
              ) -> dict[str, Any]:
  """`summary.json` content from `runs[size][seed]` (see the module docstring)."""
  sizes = {}
  for size, by_seed in runs.items():
    seeds = sorted(by_seed, key=int)
    if not seeds:
      continue
    react = _aggregate([by_seed[s]["react"] for s in seeds], METRICS)
    entry = {"seeds": [int(s) for s in seeds], "react": react, "target": check_target(react)}
    fds = [by_seed[s].get("fd") for s in seeds]
    if all(fds):
      flat = [{split: {m: t["average"] for m, t in methods.items()} for split, methods in fd.items()} for fd in fds]
      entry["fd"] = _aggregate(flat, FD_GROUPS)
      entry["fd_target"] = check_fd_target(entry["fd"])
    sizes[str(size)] = entry
  return {**dict(info or {}), "metrics": list(METRICS), "sizes": sizes}


def _fmt(stat: Mapping[str, float], digits: int) -> str:
  return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def markdown(summary: Mapping[str, Any]) -> str:
  """`summary.md`: per size and split, one table of mean ± std over seeds, the per-seed values and the checks."""
  lines = ["# Seed sweep", ""]
  for key in ("config", "format"):
    if key in summary:
      lines.append(f"- {key}: `{summary[key]}`")
  lines += ["", "Mean ± std (ddof 1) over seeds. Higher is better for FRCorr, FRDiv, FRVar, FRDvs; lower for "
            "FRDist, FRSyn.", ""]
  for size, entry in summary["sizes"].items():
    seeds = entry["seeds"]
    for split, methods in entry["react"].items():
      target = entry["target"][split]
      lines += [f"## {size} clips, {split} (seeds {', '.join(map(str, seeds))}): target "
                f"{'PASS' if target['pass'] else 'FAIL'}", ""]
      lines.append("| method | " + " | ".join(METRIC_NAMES[m] for m in METRICS) + " |")
      lines.append("|---|" + "---|" * len(METRICS))
      for name, stats in methods.items():
        cells = [_fmt(stats[m], 4 if m in ("fr_div", "fr_var", "fr_dvs") else 3) for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
      lines += ["", "Per seed (FRCorr / FRDist):", ""]
      lines.append("| method | " + " | ".join(f"seed {s}" for s in seeds) + " |")
      lines.append("|---|" + "---|" * len(seeds))
      for name, stats in methods.items():
        cells = [f"{c:.3f} / {d:.2f}" for c, d in zip(stats["fr_corr"]["values"], stats["fr_dist"]["values"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
      lines += ["", "Checks:", ""]
      for c in target["checks"]:
        lines.append(f"- {c['name']}: {'pass' if c['pass'] else 'FAIL'}"
                     + (f" (margin per seed: {', '.join(f'{x:.3f}' for x in c['margin'])})" if "margin" in c else "")
                     + (f" (ratio per seed: {', '.join(f'{x:.2f}' for x in c['ratio'])})" if "ratio" in c else ""))
      if target.get("stretch"):
        st = target["stretch"]
        lines.append(f"- stretch, {st['name']}: {'pass' if st['pass'] else 'not met'} (wins per seed: "
                     f"{', '.join(map(str, st['wins']))})")
      lines.append("")
    for split, methods in entry.get("fd", {}).items():
      target = entry["fd_target"][split]
      lines += [f"## {size} clips, {split}: ViCo FD x100 (pooled over clips), target "
                f"{'PASS' if target['pass'] else 'FAIL'}", ""]
      lines.append("| method | " + " | ".join(FD_GROUPS) + " |")
      lines.append("|---|---|---|---|")
      for name, stats in methods.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(stats[g], 3) for g in FD_GROUPS) + " |")
      failed = [c["name"] for c in target["checks"] if not c["pass"]]
      lines += ["", f"Failed checks: {', '.join(failed) if failed else 'none'}", ""]
  return "\n".join(lines) + "\n"


def write_summary(out_dir: str, summary: Mapping[str, Any]) -> None:
  """Writes `out_dir/summary.json` and `out_dir/summary.md`."""
  os.makedirs(out_dir, exist_ok=True)
  with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as f:
    json.dump(summary, f, indent=2)
  with open(os.path.join(out_dir, "summary.md"), "w", encoding="utf-8") as f:
    f.write(markdown(summary))


__all__ = ["check_fd_target", "check_target", "markdown", "mean_std", "summarize", "write_summary"]
