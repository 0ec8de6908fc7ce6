"""Evaluate a training workdir.

  python -m launch.evaluate --workdir=W [--splits=test,ood] [--seed=0] [--anchor=reference|none]

ViCo models write W/eval/fd.json + fd.md + pose_curves.png (FD per attitude vs the Random / Simulation /
Simulation* / Mirroring baselines, ablations when W/ablations/<name>/ or --ablation flags point at checkpoints).
ReactFace writes W/eval/react.json + react.md (REACT metrics vs naive baselines); on ViCo data it also writes
W/eval/fd.json + fd.md (FD of its samples vs the ViCo baselines).
Logs a warning for each package (jax, flax, ...), the Python version or backend that differs from the run's
W/versions.json (written by the trainer).
"""
from absl import app, flags, logging

from launch import logs

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Training workdir.", required=True)
flags.DEFINE_list("splits", None, "Splits to evaluate (default: test,ood for ViCo; test for REACT).")
flags.DEFINE_integer("seed", 0, "Seed for baselines and sampling (evaluation is bit-reproducible per seed).")
flags.DEFINE_list("ablation", [], "name=workdir pairs for ablation models (audio_only, visual_only).")
flags.DEFINE_integer("batch_size", 16, "Clips per inference batch.")
flags.DEFINE_enum("anchor", "reference", ["reference", "none"], "ReactFace on ViCo data, FD: shift each sample so "
                  "its frame 0 is the listener's reference frame (as every ViCo baseline starts), or score as generated.")


def main(argv):
  del argv
  logs.quiet_library_info()
  from listen_jax import evaluation, versions  # pylint: disable=g-import-not-at-top

  config = evaluation.load_config(FLAGS.workdir)
  versions.warn_if_changed(FLAGS.workdir)
  if config.model_name == "vico_lstm":
    ablations = dict(a.split("=", 1) for a in FLAGS.ablation)
    res = evaluation.evaluate_vico(FLAGS.workdir, splits=FLAGS.splits or ("test", "ood"), seed=FLAGS.seed,
                                   ablation_workdirs=ablations, batch_size=FLAGS.batch_size)
  else:
    res = evaluation.evaluate_react(FLAGS.workdir, splits=FLAGS.splits, seed=FLAGS.seed)
    if str(config.dataset).startswith("vico"):  # a sampling model on ViCo data: also FD vs the ViCo baselines
      fd = evaluation.evaluate_react_fd(FLAGS.workdir, splits=FLAGS.splits or ("test", "ood"), seed=FLAGS.seed,
                                        anchor=FLAGS.anchor)
      for split, methods in fd.items():
        for method, table in methods.items():
          logging.info("FD %s %s %s", split, method, table.get("average", table))
  for split, methods in res.items():
    for method, table in methods.items():
      logging.info("%s %s %s", split, method, table.get("average", table))


if __name__ == "__main__":
  app.run(main)
