"""Import PyTorch checkpoints into a listen_jax workdir (params-only orbax checkpoint at step 0).

  python -m launch.import_torch --kind=vico --checkpoint=path/to/Epoch_500.bin --workdir=runs/vico_ref \
      [--config=configs/vico_lstm.py:reference] [--allow_pickle]

The evaluator and launch/generate.py can then restore `runs/vico_ref` like a trained run. The torch key names
accepted and exported are documented in `listen_jax/bridge/torch_weights.py`. `--kind=reactface` is not
supported (see the same docstring for which ReactFace parameters could map and why they are not imported).
"""
from absl import app, flags, logging

from launch import config_cli

FLAGS = flags.FLAGS
flags.DEFINE_enum("kind", "vico", ["vico", "reactface"], "Which reference model the checkpoint belongs to.")
flags.DEFINE_string("checkpoint", None, "torch checkpoint file (state dict or a dict holding one).", required=True)
flags.DEFINE_string("workdir", None, "Run directory to write `checkpoints/0` into.", required=True)
config_cli.define_config_file("config", "configs/vico_lstm.py:reference",
                              "Config the imported weights will be used with (model_name, model dims, "
                              "use_attitude).", lock_config=False)
flags.DEFINE_bool("allow_pickle", False, "Allow full unpickling if the safe torch loader refuses the file.")


def main(argv):
  del argv
  if FLAGS.kind == "reactface":
    raise app.UsageError("--kind=reactface is not supported: the reference ReactFace depends on wav2vec2 and a "
                         "video encoder that listen_jax does not implement; see listen_jax/bridge/torch_weights.py")
  from listen_jax.bridge import torch_weights  # pylint: disable=g-import-not-at-top

  path = torch_weights.import_vico_checkpoint(FLAGS.checkpoint, FLAGS.workdir, FLAGS.config,
                                              allow_pickle=FLAGS.allow_pickle)
  logging.info("wrote %s", path)
  print(f"imported {FLAGS.checkpoint} -> {path}")


if __name__ == "__main__":
  app.run(main, flags_parser=config_cli.parse_flags)
