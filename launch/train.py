"""Train any listen_jax model.

  python -m launch.train --config=configs/vico_lstm.py --workdir=runs/vico_lstm [--config.batch_size=32]
  python -m launch.train --config=configs/reactface.py:quick --workdir=runs/reactface

Rerunning with the same workdir resumes from the last complete checkpoint. `--multihost` initialises JAX's
distributed runtime first (no arguments needed under Slurm / Kubernetes / MPI / Cloud TPU; otherwise pass
--coordinator_address, --num_processes and --process_id).
"""
from absl import app, flags, logging

from launch import config_cli, logs

FLAGS = flags.FLAGS
config_cli.define_config_file("config", "configs/vico_lstm.py", "Training config file[:variant].",
                              lock_config=True)
flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and evaluation.", required=True)
flags.DEFINE_bool("multihost", False, "Call jax.distributed.initialize() before anything touches devices.")
flags.DEFINE_string("coordinator_address", None, "host:port of process 0 (multi-host without a cluster manager).")
flags.DEFINE_integer("num_processes", None, "Number of processes (multi-host without a cluster manager).")
flags.DEFINE_integer("process_id", None, "This process's id (multi-host without a cluster manager).")
flags.DEFINE_string("cpu_collectives", "gloo", "CPU collectives for multi-process CPU runs ('' to keep JAX's).")
flags.DEFINE_integer("num_cpu_devices", 0, "If > 0, simulate this many CPU devices (testing sharded code).")
flags.DEFINE_string("compilation_cache_dir", None, "Persistent XLA compilation cache (default: "
                    "$LISTEN_JAX_CACHE_DIR/jit when that is set; '' disables).")


def main(argv):
  del argv
  logs.quiet_library_info()
  import os  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top

  cache_dir = FLAGS.compilation_cache_dir
  if cache_dir is None and os.environ.get("LISTEN_JAX_CACHE_DIR"):
    cache_dir = os.path.join(os.environ["LISTEN_JAX_CACHE_DIR"], "jit")
  if cache_dir:
    jax.config.update("jax_compilation_cache_dir", cache_dir)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
  if FLAGS.num_cpu_devices:
    jax.config.update("jax_num_cpu_devices", FLAGS.num_cpu_devices)
  if FLAGS.multihost:
    kwargs = {k: v for k, v in dict(coordinator_address=FLAGS.coordinator_address,
                                    num_processes=FLAGS.num_processes, process_id=FLAGS.process_id).items()
              if v is not None}
    if FLAGS.cpu_collectives and jax.config.jax_platforms in (None, "", "cpu"):
      jax.config.update("jax_cpu_collectives_implementation", FLAGS.cpu_collectives)
    jax.distributed.initialize(**kwargs)
  from listen_jax.train import trainer  # pylint: disable=g-import-not-at-top

  logging.info("process %d/%d, %d local / %d global devices", jax.process_index(), jax.process_count(),
               jax.local_device_count(), jax.device_count())
  trainer.train_and_evaluate(FLAGS.config, FLAGS.workdir)


if __name__ == "__main__":
  app.run(main, flags_parser=config_cli.parse_flags)
