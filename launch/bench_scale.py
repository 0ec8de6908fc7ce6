"""Training throughput against the global batch size, for both models (data parallel over the local devices).

  python -m launch.bench_scale [--models=vico_lstm,reactface,trans_ae] [--batch_sizes=8,16,32,64,128,256|config]
      [--variant=accel] [--accumulate_steps=1] [--compute_dtype=float32|bfloat16|auto] [--step_impl=jit|shard_map]
      [--num_devices=0]

`--variant=accel` times each model's large-batch accelerator recipe (configs/<model>.py:accel) at its own global
batch (`--batch_sizes=config`, the default with that variant) and compute dtype (bf16 on GPU/TPU, float32 on
the CPU fallback), on whatever devices this process has.

Each point times the trainer's real step (`trainer.make_train_step` + `optim.make_optimizer`, jitted with the
trainer's shardings: replicated state, batch split over the mesh's data axis, state donated) on random batches
in the pipeline's format (ViCo windows of --vico_window frames; REACT reaction windows of --react_window frames
with --num_neighbours neighbours). Frames = global batch x window per step. Timings are medians over --repeats
repeats of --steps steps after a warm-up step (compilation reported separately). Prints one JSON line per point
and a Markdown table at the end, with the machine's load average (timings on a shared machine are noisy).
"""
import json
import os
import time

from absl import app, flags
import numpy as np

from launch import timing

FLAGS = flags.FLAGS
MODELS = ("vico_lstm", "reactface", "trans_ae")
flags.DEFINE_list("models", ["vico_lstm", "reactface"], f"Models to benchmark (configs/<model>.py): {MODELS}.")
flags.DEFINE_list("batch_sizes", ["8", "16", "32", "64", "128", "256"],
                  "Global batch sizes; 'config' is each model's config batch_size (the default with --variant=accel).")
flags.DEFINE_string("variant", "", "Config variant for every model (e.g. 'smoke' for tiny models, 'accel').")
flags.DEFINE_integer("vico_window", 90, "ViCo training window (frames).")
flags.DEFINE_integer("react_window", 64, "ReactFace training window (frames).")
flags.DEFINE_integer("num_neighbours", 8, "REACT neighbour slots K.")
flags.DEFINE_integer("accumulate_steps", 1, "Gradient-accumulation micro-batches per step.")
flags.DEFINE_enum("compute_dtype", "", ["", "float32", "bfloat16", "auto"],
                  "Forward/backward dtype ('': the config's; 'auto': bf16 on GPU/TPU, float32 on CPU).")
flags.DEFINE_enum("step_impl", "jit", ["jit", "shard_map"], "Train-step implementation.")
flags.DEFINE_integer("num_devices", 0, "Devices on the data axis (0: all local devices).")
flags.DEFINE_integer("num_cpu_devices", 0, "If > 0, simulate this many CPU devices.")
flags.DEFINE_integer("steps", 5, "Timed steps per repeat.")
flags.DEFINE_integer("repeats", 3, "Repeats (median reported).")
flags.DEFINE_float("max_step_s", 60.0, "Stop a model's sweep once one step takes longer than this.")



def random_batch(model_name: str, config, batch_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
  """A batch in the pipeline's format for `model_name` (see WORKSPACE.md, 'Pipeline batches')."""
  w = config.window
  normal = lambda *shape: rng.normal(size=shape).astype(np.float32)  # noqa: E731
  if model_name == "vico_lstm":
    m = config.model
    return {"audio": normal(batch_size, w, m.audio_dim), "speaker": normal(batch_size, w, m.motion_dim),
            "listener": normal(batch_size, w, m.motion_dim),
            "attitude": rng.integers(0, 3, size=(batch_size,)).astype(np.int32),
            "lengths": np.full((batch_size,), w, np.int32), "clip_index": np.arange(batch_size, dtype=np.int32)}
  if model_name in ("reactface", "trans_ae"):
    k, d, e, f = config.num_neighbours, 58, 25, 80
    return {"speaker_audio": normal(batch_size, 2 * w, f), "speaker_3dmm": normal(batch_size, w, d),
            "listener_3dmm": normal(batch_size, w, d), "neighbour_3dmm": normal(batch_size, k, w, d),
            "neighbour_mask": np.ones((batch_size, k), np.bool_),
            "speaker_emotion": rng.uniform(size=(batch_size, w, e)).astype(np.float32),
            "listener_emotion": rng.uniform(size=(batch_size, w, e)).astype(np.float32),
            "neighbour_emotion": rng.uniform(size=(batch_size, k, w, e)).astype(np.float32),
            "lengths": np.full((batch_size,), w, np.int32), "clip_index": np.arange(batch_size, dtype=np.int32)}
  raise ValueError(f"--models: unknown model {model_name!r}; expected one of {', '.join(MODELS)}")


def model_config(model_name: str):
  import importlib  # pylint: disable=g-import-not-at-top
  config = importlib.import_module(f"configs.{model_name}").get_config(FLAGS.variant or None)
  config.window = FLAGS.vico_window if model_name == "vico_lstm" else FLAGS.react_window
  if model_name == "reactface":
    config.num_neighbours = FLAGS.num_neighbours
  return config


def batch_sizes(config) -> list[int]:
  """The global batch sizes of --batch_sizes ('config': the config's own batch_size)."""
  names = FLAGS.batch_sizes
  if FLAGS["batch_sizes"].using_default_value and "accel" in FLAGS.variant.split(","):
    names = ["config"]
  return [int(config.batch_size) if b == "config" else int(b) for b in names]


def measure(model_name: str, batch_size: int) -> dict:
  """Times one (model, global batch) point; returns its record."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from listen_jax import devices as devices_lib  # pylint: disable=g-import-not-at-top
  from listen_jax import tasks  # pylint: disable=g-import-not-at-top
  from listen_jax.train import optim, sharding, trainer  # pylint: disable=g-import-not-at-top

  config = model_config(model_name)
  compute_dtype = devices_lib.resolve_compute_dtype(FLAGS.compute_dtype or config.get("compute_dtype", "float32"))
  devices = jax.local_devices()[:FLAGS.num_devices] if FLAGS.num_devices else jax.local_devices()
  mesh = sharding.make_mesh(1, devices=devices)
  n_data = mesh.shape[sharding.DATA_AXIS]
  if batch_size % (n_data * FLAGS.accumulate_steps):
    raise ValueError(f"batch {batch_size} is not divisible by {n_data} devices x {FLAGS.accumulate_steps} "
                     "accumulation steps")
  task = tasks.get_task(config)
  rng = np.random.default_rng(0)
  host_batch = random_batch(model_name, config, batch_size, rng)
  tx, _ = optim.make_optimizer(config.optimizer, global_batch_size=batch_size, steps_per_epoch=1000,
                               total_steps=1000)

  def init(key):
    params = task.init(key, host_batch)["params"]
    return trainer.TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))

  replicated = sharding.replicated(mesh)
  state_sharding = jax.tree.map(lambda _: replicated, jax.eval_shape(init, jax.random.key(0)))
  state = jax.jit(init, out_shardings=state_sharding)(jax.random.key(0))
  num_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state.params))
  train_step = trainer.make_train_step(task, tx, accumulate_steps=FLAGS.accumulate_steps,
                                       compute_dtype=compute_dtype, impl=FLAGS.step_impl, mesh=mesh)
  step = jax.jit(train_step, in_shardings=(state_sharding, sharding.data_sharding(mesh), replicated),
                 out_shardings=(state_sharding, replicated), donate_argnums=(0,))
  batch = sharding.global_batch(host_batch, mesh)
  key = jax.random.key(1)
  t0 = time.perf_counter()
  state, metrics = step(state, batch, key)
  loss = float(jax.device_get(metrics["loss"]))
  compile_s = time.perf_counter() - t0
  state, step_s = timing.time_train_step(step, state, batch, key, steps=FLAGS.steps, repeats=FLAGS.repeats)
  return {"model": model_name, "variant": FLAGS.variant, "global_batch": batch_size, "window": config.window,
          "devices": n_data, "backend": devices_lib.backend(), "device_kind": devices[0].device_kind,
          "accumulate_steps": FLAGS.accumulate_steps, "compute_dtype": compute_dtype,
          "step_impl": FLAGS.step_impl, "params": num_params, "step_ms": step_s * 1e3,
          "frames_per_s": batch_size * config.window / step_s, "compile_s": compile_s,
          "first_loss": loss, "load_avg_1m": os.getloadavg()[0]}


def markdown_table(records: list[dict]) -> str:
  lines = ["| model | window | global batch | devices | dtype | step (ms) | frames/s | x vs first batch |",
           "|---|---:|---:|---:|---|---:|---:|---:|"]
  base: dict[str, float] = {}
  for r in records:
    base.setdefault(r["model"], r["frames_per_s"])
    lines.append(f"| {r['model']} | {r['window']} | {r['global_batch']} | {r['devices']} | {r['compute_dtype']} | "
                 f"{r['step_ms']:.1f} | "
                 f"{r['frames_per_s']:.0f} | {r['frames_per_s'] / base[r['model']]:.2f} |")
  return "\n".join(lines)


def main(argv):
  del argv
  import jax  # pylint: disable=g-import-not-at-top
  if FLAGS.num_cpu_devices:
    jax.config.update("jax_num_cpu_devices", FLAGS.num_cpu_devices)
  if os.environ.get("LISTEN_JAX_CACHE_DIR"):  # Persistent compilation cache (compile_s then reports a load).
    jax.config.update("jax_compilation_cache_dir", os.path.join(os.environ["LISTEN_JAX_CACHE_DIR"], "jit"))
  records = []
  for model_name in FLAGS.models:
    for batch_size in batch_sizes(model_config(model_name)):
      record = measure(model_name, batch_size)
      records.append(record)
      print(json.dumps(record), flush=True)
      if record["step_ms"] / 1e3 > FLAGS.max_step_s:
        print(json.dumps({"model": model_name, "stopped": f"step above --max_step_s={FLAGS.max_step_s}"}))
        break
  print()
  print(f"devices: {jax.local_device_count()} x {jax.devices()[0].device_kind}, variant "
        f"{FLAGS.variant or 'default'}, compute_dtype {FLAGS.compute_dtype or 'config'}, accumulate_steps {FLAGS.accumulate_steps}, step_impl {FLAGS.step_impl}, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
  print(markdown_table(records))


if __name__ == "__main__":
  app.run(main)
