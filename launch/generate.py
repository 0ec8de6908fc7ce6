"""Generate listener predictions for every clip of a split.

  python -m launch.generate --workdir=W --split=test --out=DIR [--raw_dir=RAW] [--num_samples=10]

ViCo models write per clip (raw units, frame 0 = the given reference frame):
  DIR/{uuid}.npy            [T, 73] predicted listener (ViCo order angle|exp|trans|crop)
  DIR/{uuid}.speaker.npy    [T, 73] the speaker's motion (for side-by-side previews)
  DIR/{uuid}.listener_gt.npy [T, 73] the true listener motion (for preview curves)
  DIR/{uuid}.listener.mat   Deep3DFaceRecon layout: coeff [T, 257] (listener id/tex/gamma), transform_params [T, 5]
  DIR/{uuid}.wav            the speaker audio, when --raw_dir points at the raw ViCo layout
  DIR/manifest.json         clip list with attitude and fps
ReactFace writes DIR/motion.npy [N, S, T, D] and DIR/emotion.npy [N, S, T, 25] (when the data has emotion) in the
split's item order, plus DIR/items.json.
"""
import json
import os
import shutil

from absl import app, flags, logging

from launch import logs
import numpy as np

FLAGS = flags.FLAGS
flags.DEFINE_string("workdir", None, "Training workdir.", required=True)
flags.DEFINE_string("split", "test", "Split to generate.")
flags.DEFINE_string("out", None, "Output directory.", required=True)
flags.DEFINE_string("raw_dir", None, "Raw ViCo layout (copies audios/{uuid}.wav next to the predictions).")
flags.DEFINE_integer("num_samples", 10, "Samples per speaker (sampling models).")
flags.DEFINE_integer("seed", 0, "Sampling seed.")
flags.DEFINE_integer("batch_size", 16, "Clips per inference batch.")


def _text(x) -> str:
  return x.decode() if isinstance(x, bytes) else str(x)


def generate_vico(workdir, split, out, raw_dir=None, batch_size=16, seed=0):
  import scipy.io  # pylint: disable=g-import-not-at-top
  from listen_jax import evaluation, layouts  # pylint: disable=g-import-not-at-top
  from listen_jax.data import pipeline  # pylint: disable=g-import-not-at-top

  config, task, params, _ = evaluation.load_run(workdir)
  source = pipeline.open_split(config.data_dir, config.dataset, split)
  preds = evaluation.predict_vico(task, params, source, batch_size=batch_size, rng_seed=seed)
  os.makedirs(out, exist_ok=True)
  manifest = []
  for pos in source.order:
    ex = source[pos]
    uuid = _text(ex["uuid"])
    pred = preds[pos].astype(np.float32)
    np.save(os.path.join(out, f"{uuid}.npy"), pred)
    np.save(os.path.join(out, f"{uuid}.speaker.npy"), np.asarray(ex["speaker"], np.float32))
    np.save(os.path.join(out, f"{uuid}.listener_gt.npy"), np.asarray(ex["listener"], np.float32))
    static = np.broadcast_to(np.asarray(ex["listener_static"], np.float32), (len(pred), 187))
    coeff, tp = layouts.vico_to_bfm(pred, static, image_size=tuple(np.asarray(ex["image_size"]).tolist()))
    scipy.io.savemat(os.path.join(out, f"{uuid}.listener.mat"),
                     {"coeff": coeff.astype(np.float32), "transform_params": tp.astype(np.float64)})
    if raw_dir:
      wav = os.path.join(raw_dir, "audios", f"{uuid}.wav")
      if os.path.exists(wav):
        shutil.copyfile(wav, os.path.join(out, f"{uuid}.wav"))
    manifest.append({"uuid": uuid, "index": int(ex["index"]), "attitude": int(ex["attitude"]),
                     "frames": int(len(pred))})
  with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
    json.dump({"fps": 30, "split": split, "clips": manifest}, f, indent=2)
  logging.info("wrote %d clips to %s", len(manifest), out)


def main(argv):
  del argv
  logs.quiet_library_info()
  from listen_jax import evaluation  # pylint: disable=g-import-not-at-top

  config = evaluation.load_config(FLAGS.workdir)
  if config.model_name == "vico_lstm":
    generate_vico(FLAGS.workdir, FLAGS.split, FLAGS.out, FLAGS.raw_dir, FLAGS.batch_size, FLAGS.seed)
  else:
    evaluation.generate_reactions(FLAGS.workdir, FLAGS.split, FLAGS.out, num_samples=FLAGS.num_samples,
                                  seed=FLAGS.seed, batch_size=FLAGS.batch_size)


if __name__ == "__main__":
  app.run(main)
