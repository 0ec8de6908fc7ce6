"""Static pose / expression curves of a clip (predicted vs true listener, speaker) as a PNG."""
from __future__ import annotations

import os

import numpy as np

from listen_jax import layouts
from listen_jax.viz.tracks import _check_coeffs


def plot_curves(pred, true=None, speaker=None, audio_env: np.ndarray | None = None, fps: float = 30.0,
                out_png: str = "curves.png", title: str | None = None) -> str:
  """Static plot of head rotation, translation and expression over time (prediction vs ground truth).

  Rows: speaker audio envelope (if given); listener head rotation in degrees (prediction solid, ground truth
  dashed); speaker head rotation (if given); listener translation; expression heat-maps [64, T] of the
  prediction and of the ground truth (if given), on a shared colour scale.

  Args:
    pred: [T, 73] predicted listener (raw ViCo order).
    true: optional [T', 73] ground-truth listener.
    speaker: optional [T', 73] speaker.
    audio_env: optional [T''] envelope (any length; drawn on the same time axis at `fps`).
    fps: frames per second of all arrays.
    out_png: output PNG path.
    title: figure title.

  Returns:
    `out_png`.
  """
  import matplotlib  # pylint: disable=g-import-not-at-top

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top

  pred = _check_coeffs(pred, "plot_curves: pred")
  true = None if true is None else _check_coeffs(true, "plot_curves: true")
  speaker = None if speaker is None else _check_coeffs(speaker, "plot_curves: speaker")
  split = layouts.VICO_DYNAMIC.split
  rows = (["audio"] if audio_env is not None else []) + ["angle"] + (["speaker"] if speaker is not None else [])
  rows += ["trans", "crop", "exp_pred"] + (["exp_true"] if true is not None else [])
  ratios = {"audio": 0.6, "angle": 1.0, "speaker": 0.8, "trans": 0.9, "crop": 0.8, "exp_pred": 1.2,
            "exp_true": 1.2}
  fig, axes = plt.subplots(len(rows), 1, figsize=(11, 1.7 * sum(ratios[r] for r in rows) + 0.6), sharex=True,
                           gridspec_kw={"height_ratios": [ratios[r] for r in rows]}, squeeze=False)
  axes = dict(zip(rows, axes[:, 0]))
  time = lambda n: np.arange(n) / fps
  colours = ("tab:blue", "tab:orange", "tab:green")
  if audio_env is not None:
    env = np.asarray(audio_env, np.float32).reshape(-1)
    axes["audio"].fill_between(time(len(env)), -env, env, color="slategray", lw=0)
    axes["audio"].set_ylabel("audio")
    axes["audio"].set_yticks([])

  def curves(ax, series, names, unit, scale=1.0):
    for k, name in enumerate(names):
      for x, style, tag in series:
        ax.plot(time(len(x)), x[:, k] * scale, style, color=colours[k], lw=1.2,
                label=f"{name}{tag}" if tag or len(series) == 1 else name)
    ax.set_ylabel(unit)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, ncol=len(names) * len(series), frameon=False)

  deg = 180.0 / np.pi
  series = [(split(pred)["angle"], "-", "")] + ([(split(true)["angle"], "--", " (true)")] if true is not None else [])
  curves(axes["angle"], series, ("pitch", "yaw", "roll"), "listener\nrotation (deg)", deg)
  if speaker is not None:
    curves(axes["speaker"], [(split(speaker)["angle"], "-", "")], ("pitch", "yaw", "roll"),
           "speaker\nrotation (deg)", deg)
  # Translation and crop offsets are shown relative to the median of the ground truth (or of the prediction),
  # so small motions are visible next to the large constant depth / pixel position.
  ref = true if true is not None else pred
  for row, group, names, unit in (("trans", "trans", ("x", "y", "z"), "translation\n- median"),
                                  ("crop", "crop", ("s", "tx", "ty"), "crop (px)\n- median")):
    centre = np.median(split(ref)[group], axis=0)
    series = [(split(pred)[group] - centre, "-", "")]
    if true is not None:
      series.append((split(true)[group] - centre, "--", " (true)"))
    if group == "crop":  # s is a unitless scale: only the pixel offsets tx, ty are plotted
      series = [(x[:, 1:], style, tag) for x, style, tag in series]
      names = names[1:]
    curves(axes[row], series, names, unit)
  exps = [split(pred)["exp"]] + ([split(true)["exp"]] if true is not None else [])
  vmax = max(float(np.percentile(np.abs(e), 99)) for e in exps) or 1.0
  for row, e, tag in zip(("exp_pred", "exp_true"), exps, ("predicted", "true")):
    im = axes[row].imshow(e.T, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest",
                          extent=(0, len(e) / fps, 63.5, -0.5))
    axes[row].set_ylabel(f"{tag}\nexpression")
    fig.colorbar(im, cax=axes[row].inset_axes((1.008, 0.0, 0.012, 1.0)))
  axes[rows[-1]].set_xlabel("time (s)")
  if title:
    fig.suptitle(title)
  fig.subplots_adjust(left=0.1, right=0.94, top=0.95 if title else 0.98, bottom=0.06, hspace=0.12)
  os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
  fig.savefig(out_png, dpi=100)
  plt.close(fig)
  return out_png
