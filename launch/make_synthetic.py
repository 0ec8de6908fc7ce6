r"""Writes a synthetic dyadic dataset in the real raw ViCo or REACT layout.

Usage:
  python -m launch.make_synthetic --format=vico --out=/tmp/vico_raw --num_clips=60 --seed=0 \
      --min_seconds=5 --max_seconds=10
  python -m launch.make_synthetic --format=react --out=/tmp/react_raw --num_clips=40 --seed=0
  python -m launch.make_synthetic --format=react --out=/tmp/react_real --num_clips=1000 --sample_rate=44100 \
      --min_seconds=30.04 --max_seconds=30.04 --udiva_fraction=0.35 --threedmm_singleton_axis   # real-like

Flags left unset take the format's defaults (ViCo: 30 fps, 4-10 s clips; REACT: 25 fps, 12 s clips; 16 kHz).
"""
import json

from absl import app
from absl import flags
from absl import logging

from listen_jax import synthetic

_FORMAT = flags.DEFINE_enum("format", None, ["vico", "react"], "Raw layout to write.", required=True)
_OUT = flags.DEFINE_string("out", None, "Output folder.", required=True)
_NUM_CLIPS = flags.DEFINE_integer("num_clips", None, "Clips (ViCo) or dyadic csv rows (REACT) over all splits.",
                                  required=True)
_SEED = flags.DEFINE_integer("seed", 0, "Random seed (same seed, same files).")
_FPS = flags.DEFINE_float("fps", None, "Video frame rate (default 30 for ViCo, 25 for REACT).")
_SAMPLE_RATE = flags.DEFINE_integer("sample_rate", None, "Audio sample rate in Hz (default 16000).")
_MIN_SECONDS = flags.DEFINE_float("min_seconds", None, "Shortest clip duration in seconds.")
_MAX_SECONDS = flags.DEFINE_float("max_seconds", None, "Longest clip duration in seconds.")
_SHORT_FRACTION = flags.DEFINE_float("short_fraction", None, "ViCo: fraction of 2-3 s clips (default 0.1).")
_NUM_STYLES = flags.DEFINE_integer("num_styles", None, "REACT: number of latent speaker styles (default 4).")
_SPLIT_RATIOS = flags.DEFINE_list("split_ratios", None,
                                  "Relative split sizes (ViCo train,test,ood 0.7,0.15,0.15; "
                                  "REACT train,val,test 0.6,0.2,0.2).")
_UDIVA_FRACTION = flags.DEFINE_float("udiva_fraction", None,
                                     "REACT: share of UDIVA sessions (5-level paths; default 0: NoXI, RECOLA).")
_SINGLETON_AXIS = flags.DEFINE_bool("threedmm_singleton_axis", None, "REACT: store 3DMM arrays as [T, 1, 58].")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  kwargs = dict(fps=_FPS.value, sample_rate=_SAMPLE_RATE.value, min_seconds=_MIN_SECONDS.value,
                max_seconds=_MAX_SECONDS.value)
  if _SPLIT_RATIOS.value is not None:
    kwargs["split_ratios"] = [float(x) for x in _SPLIT_RATIOS.value]
  if _FORMAT.value == "vico":
    kwargs["short_fraction"] = _SHORT_FRACTION.value
    make = synthetic.make_vico
  else:
    kwargs["num_styles"] = _NUM_STYLES.value
    kwargs["udiva_fraction"] = _UDIVA_FRACTION.value
    kwargs["threedmm_singleton_axis"] = _SINGLETON_AXIS.value
    make = synthetic.make_react
  kwargs = {k: v for k, v in kwargs.items() if v is not None}
  # With only one end of the duration range given, move the other default so the range stays valid.
  lo, hi = (4.0, 10.0) if _FORMAT.value == "vico" else (12.0, 12.0)
  if "min_seconds" in kwargs and "max_seconds" not in kwargs:
    kwargs["max_seconds"] = max(kwargs["min_seconds"], hi)
  if "max_seconds" in kwargs and "min_seconds" not in kwargs:
    kwargs["min_seconds"] = min(kwargs["max_seconds"], lo)
  result = make(_OUT.value, _NUM_CLIPS.value, _SEED.value, **kwargs)
  sizes = {split: len(v) if isinstance(v, list) else len(v["rows"]) for split, v in result.items()}
  logging.info("wrote synthetic %s data to %s: %s", _FORMAT.value, _OUT.value, json.dumps(sizes))
  print(json.dumps({"format": _FORMAT.value, "out": _OUT.value, "splits": sizes}))


if __name__ == "__main__":
  app.run(main)
