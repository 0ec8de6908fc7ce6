"""Benchmark the ViCo listener: training, whole-clip inference and streaming.

  python -m launch.bench --config=configs/vico_lstm.py:reference [--steps=50]

Prints one JSON line per figure, {"name": ..., "value": ..., "unit": ...}:
  train_frames_per_s   the trainer's real jitted, donated train step (make_train_step + the config's optimiser)
                       at the config's batch x window (reference: 16 x 90), frames = batch * window per step;
  infer_frames_per_s   whole-clip inference (jitted task.predict) on --clip_frames frames (default one 900-frame
                       clip, batch 1);
  stream_step_us       ListenerStream.push latency per frame for one stream (result fetched to the host), with
                       synchronous CPU dispatch unless --nosync_dispatch;
  streams_realtime     concurrent streams one process serves at --fps in real time, from the measured time of one
                       batched step over --num_streams streams (capacity = num_streams * (1/fps) / step time).
Timings are medians over repeats after a warm-up (compilation excluded). Training and whole-clip inference run
with JAX's default asynchronous dispatch, as `launch.train` runs them (the next step is dispatched while the
current one computes); the streaming figures run in a child process with synchronous dispatch (see
--sync_dispatch), the mode of a latency-bound real-time server.

With --against=torch the same process also times the reference model written in PyTorch
(`listen_jax.bridge.torch_reference.ReferenceListener`, holding the same weights; torch CPU with as many threads
as XLA uses) on the same shapes: an AdamW training step on the reference loss (batch x window, dropout on, packed
sequences as the reference trains) and whole-clip inference (no_grad, eval mode). JAX and torch repeats
alternate, each pair gives a ratio torch seconds / JAX seconds, and the medians are printed as
  train_speedup_vs_torch, infer_speedup_vs_torch   (> 1: listen_jax is faster),
plus torch_train_frames_per_s and torch_infer_frames_per_s. Only ratios from one run compare across machines.

It also prints the training roofline of this machine, measured in the same run:
  train_gflop_per_frame            matmul FLOPs of one training frame (forward + backward, counted from the
                                   config's shapes; the elementwise work is left out, so this is a lower bound);
  gemm_peak_gflops                 the best float32 GEMM rate XLA reaches here (a large square GEMM and the
                                   model's own largest GEMM, batch * window rows; the faster one);
  train_gemm_fraction, torch_train_gemm_fraction
                                   each implementation's training matmul rate as a fraction of that peak;
  train_roofline_speedup_vs_torch  the speedup over torch that an implementation running every training FLOP at
                                   the peak GEMM rate would reach: no kernel schedule can beat it without
                                   changing the arithmetic.
"""
import os
import subprocess
import sys
import time

from absl import app, flags
import numpy as np

from launch import config_cli, timing

FLAGS = flags.FLAGS
config_cli.define_config_file("config", "configs/vico_lstm.py:reference", "Model/training config.")
flags.DEFINE_integer("steps", 50, "Timed train steps per repeat.")
flags.DEFINE_integer("repeats", 3, "Repeats (median reported).")
flags.DEFINE_integer("clip_frames", 900, "Frames of the inference clip.")
flags.DEFINE_integer("num_streams", 1000, "Concurrent streams for the capacity figure.")
flags.DEFINE_float("fps", 30.0, "Real-time frame rate for the streaming figures.")
flags.DEFINE_integer("stream_frames", 1000, "Frames pushed per timed repeat of one stream.")
flags.DEFINE_enum("against", "", ["", "torch"], "Also time the PyTorch reference model side by side.")
flags.DEFINE_integer("pair_repeats", 7, "Alternating JAX/torch repeat pairs with --against=torch.")
flags.DEFINE_bool("sync_dispatch", True, "Streaming figures with synchronous CPU dispatch "
                  "(jax_cpu_enable_async_dispatch=False), as a latency-bound real-time server would run; they are "
                  "then timed in a child process, since the mode is fixed when the CPU client starts.")
flags.DEFINE_enum("only", "", ["", "stream"], "Time only these figures (internal: the streaming child process).")




def _batch(config, batch_size, frames, rng):
  m = config.model
  return {
      "audio": rng.normal(size=(batch_size, frames, m.audio_dim)).astype(np.float32),
      "speaker": rng.normal(size=(batch_size, frames, m.motion_dim)).astype(np.float32),
      "listener": rng.normal(size=(batch_size, frames, m.motion_dim)).astype(np.float32),
      "attitude": rng.integers(0, 3, size=(batch_size,)).astype(np.int32),
      "lengths": np.full((batch_size,), frames, np.int32),
      "clip_index": np.arange(batch_size, dtype=np.int32),
  }


def _train_flops_per_frame(config) -> float:
  """Matmul FLOPs of one training frame of the ViCo listener (forward, and the backward's input/weight grads)."""
  m = config.model
  mac, d_in = 0.0, 0.0  # forward multiply-adds; backward ones (weight grads always, input grads when needed)
  layers = [(m.audio_dim + m.motion_dim, m.fusion_dim, False)]  # the fusion input is data: no input grad
  for k in range(m.num_layers):
    layers += [(m.fusion_dim if k == 0 else m.hidden, 4 * m.hidden, True), (m.hidden, 4 * m.hidden, True)]
  layers.append((m.hidden, m.motion_dim, True))
  # The initial-state network runs once per window: its cost is spread over the window's frames.
  per_window = [(m.motion_dim, m.motion_dim, False), (m.motion_dim, 2 * m.num_layers * m.hidden, True)]
  for shapes, share in ((layers, 1.0), (per_window, 1.0 / config.window)):
    for fan_in, fan_out, needs_dx in shapes:
      mac += share * fan_in * fan_out
      d_in += share * fan_in * fan_out * (2 if needs_dx else 1)
  return 2.0 * (mac + d_in)


def _gemm_peak_gflops(rows: int, config) -> float:
  """Best float32 GEMM rate (GFLOP/s) of XLA here: a 1024^3 GEMM and the model's [rows, fusion] @ [fusion, 4H]."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top

  best = 0.0
  for m_, k_, n_ in ((1024, 1024, 1024), (rows, config.model.fusion_dim, 4 * config.model.hidden)):
    a = jnp.ones((m_, k_), jnp.float32)
    b = jnp.ones((k_, n_), jnp.float32)
    f = jax.jit(lambda x, y: x @ y)
    jax.block_until_ready(f(a, b))
    calls = max(5, int(2e9 / (2 * m_ * k_ * n_)))  # about 2 GFLOP per timed repeat
    def run(f=f, a=a, b=b, calls=calls):
      for _ in range(calls):
        out = f(a, b)
      jax.block_until_ready(out)
    seconds = _time_calls(run, 5) / calls
    best = max(best, 2.0 * m_ * k_ * n_ / seconds / 1e9)
  return best


def _time_calls(fn, calls: int) -> float:
  """Median seconds of `calls` calls of fn()."""
  times = []
  for _ in range(calls):
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
  return float(np.median(times))


def _torch_twin(config, params, batch, clip):
  """(train, infer) timers of the PyTorch reference model holding `params`, on the same shapes and threads."""
  import jax  # pylint: disable=g-import-not-at-top
  import torch  # pylint: disable=g-import-not-at-top
  from listen_jax.bridge import torch_reference  # pylint: disable=g-import-not-at-top

  m = config.model
  if m.get("use_attitude") or m.get("residual") or m.get("relative_speaker") or m.get("ablation"):
    raise app.UsageError("--against=torch needs the reference architecture: use configs/vico_lstm.py:reference")
  torch.set_num_threads(len(os.sched_getaffinity(0)))  # the cores XLA uses too (taskset narrows both)
  model = torch_reference.from_variables(jax.device_get(params), dropout=float(m.dropout))
  cfg = config.optimizer
  opt = torch.optim.AdamW(model.parameters(), lr=float(cfg.learning_rate), weight_decay=float(cfg.weight_decay))
  t = {k: torch.from_numpy(np.asarray(v)) for k, v in batch.items()}
  lengths = t["lengths"].long()
  c = {k: torch.from_numpy(np.asarray(v)) for k, v in jax.device_get(clip).items()}

  def train_step():
    opt.zero_grad(set_to_none=True)
    pred = model(t["audio"], t["speaker"], t["listener"][:, 0], lengths)
    torch_reference.reference_loss(pred, t["listener"], lengths).backward()
    opt.step()

  def infer():
    with torch.no_grad():
      model(c["audio"], c["speaker"], c["listener"][:, 0], c["lengths"].long())

  def train():  # mean seconds per step over --steps steps, as the JAX timer
    model.train()
    t0 = time.perf_counter()
    for _ in range(FLAGS.steps):
      train_step()
    return (time.perf_counter() - t0) / FLAGS.steps

  def infer_timed():
    model.eval()
    return _time_calls(infer, 5)

  for _ in range(3):  # warm-up: allocator, oneDNN primitive caches
    model.train()
    train_step()
    model.eval()
    infer()
  return train, infer_timed


def _stream_figures(config, rng, params=None):
  """Times ListenerStream: one stream's per-frame latency and the batched capacity (emits both figures)."""
  import jax  # pylint: disable=g-import-not-at-top
  from listen_jax import infer, tasks  # pylint: disable=g-import-not-at-top

  task = tasks.get_task(config)
  if params is None:  # timing does not depend on the weights' values
    params = task.init(jax.random.key(0), _batch(config, 1, config.window, rng))["params"]

  m = config.model
  stats = {"audio/mean": np.zeros(m.audio_dim), "audio/std": np.ones(m.audio_dim),
           "motion/mean": np.zeros(m.motion_dim), "motion/std": np.ones(m.motion_dim)}
  first = rng.normal(size=(m.motion_dim,)).astype(np.float32)
  attitude = 1 if m.get("use_attitude") else None
  stream = infer.ListenerStream(task.model, {"params": params}, stats, first, attitude=attitude)
  audio = rng.normal(size=(FLAGS.stream_frames, m.audio_dim)).astype(np.float32)
  speaker = rng.normal(size=(FLAGS.stream_frames, m.motion_dim)).astype(np.float32)
  for t in range(FLAGS.stream_frames // 2):  # warm-up: caches, branch predictors, CPU clocks
    np.asarray(stream.push(audio[t], speaker[t]))
  per_frame = []
  for _ in range(FLAGS.repeats + 2):
    t0 = time.perf_counter()
    for t in range(FLAGS.stream_frames):
      np.asarray(stream.push(audio[t], speaker[t]))
    per_frame.append((time.perf_counter() - t0) / FLAGS.stream_frames)
  timing.emit("stream_step_us", np.median(per_frame) * 1e6, "us")

  s = FLAGS.num_streams
  firsts = rng.normal(size=(s, m.motion_dim)).astype(np.float32)
  many = infer.ListenerStream(task.model, {"params": params}, stats, firsts,
                              attitude=np.ones((s,), np.int32) if attitude is not None else None)
  a_s = jax.device_put(rng.normal(size=(s, m.audio_dim)).astype(np.float32))
  v_s = jax.device_put(rng.normal(size=(s, m.motion_dim)).astype(np.float32))
  for _ in range(5):
    jax.block_until_ready(many.push(a_s, v_s))
  times = []
  for _ in range(50):
    t0 = time.perf_counter()
    jax.block_until_ready(many.push(a_s, v_s))
    times.append(time.perf_counter() - t0)
  step_s = float(np.median(times))
  timing.emit("streams_step_ms", step_s * 1e3, f"ms per step of {s} streams")
  timing.emit("streams_realtime", s * (1.0 / FLAGS.fps) / step_s, f"streams at {FLAGS.fps:g} fps")


def main(argv):
  del argv
  import jax  # pylint: disable=g-import-not-at-top
  if FLAGS.only == "stream":
    # Read when the CPU client is created, so it must be set before the first computation.
    jax.config.update("jax_cpu_enable_async_dispatch", not FLAGS.sync_dispatch)
    _stream_figures(FLAGS.config, np.random.default_rng(0))
    return
  from listen_jax import tasks  # pylint: disable=g-import-not-at-top
  from listen_jax.train import optim, trainer  # pylint: disable=g-import-not-at-top

  config = FLAGS.config
  rng = np.random.default_rng(0)
  task = tasks.get_task(config)
  batch = _batch(config, config.batch_size, config.window, rng)
  variables = task.init(jax.random.key(0), batch)
  tx, _ = optim.make_optimizer(config.optimizer, global_batch_size=config.batch_size, steps_per_epoch=1000,
                               total_steps=1000)
  state = trainer.TrainState(step=jax.numpy.zeros((), jax.numpy.int32), params=variables["params"],
                             opt_state=tx.init(variables["params"]))
  step = jax.jit(trainer.make_train_step(task, tx), donate_argnums=(0,))
  dev_batch = jax.device_put(batch)
  key = jax.random.key(1)
  state, metrics = step(state, dev_batch, key)
  jax.block_until_ready(metrics)
  clip = jax.device_put(_batch(config, 1, FLAGS.clip_frames, rng))
  predict = jax.jit(task.predict)
  jax.block_until_ready(predict(state.params, clip, key))
  frames = config.batch_size * config.window

  def jax_train():
    nonlocal state
    state, seconds = timing.time_train_step(step, state, dev_batch, key, steps=FLAGS.steps, repeats=1)
    return seconds

  def jax_infer():
    return _time_calls(lambda: jax.block_until_ready(predict(state.params, clip, key)), 5)

  if FLAGS.against == "torch":
    torch_train, torch_infer = _torch_twin(config, state.params, batch, clip)
    train_pairs = [(jax_train(), torch_train()) for _ in range(FLAGS.pair_repeats)]
    infer_pairs = [(jax_infer(), torch_infer()) for _ in range(FLAGS.pair_repeats)]
    train_s, infer_s = (float(np.median([j for j, _ in p])) for p in (train_pairs, infer_pairs))
  else:
    train_s = float(np.median([jax_train() for _ in range(FLAGS.repeats)]))
    infer_s = float(np.median([jax_infer() for _ in range(FLAGS.repeats)]))
  timing.emit("train_frames_per_s", frames / train_s, "frames/s")
  timing.emit("infer_frames_per_s", FLAGS.clip_frames / infer_s, "frames/s")
  if FLAGS.against == "torch":
    timing.emit("torch_train_frames_per_s", frames / np.median([t for _, t in train_pairs]), "frames/s")
    timing.emit("torch_infer_frames_per_s", FLAGS.clip_frames / np.median([t for _, t in infer_pairs]), "frames/s")
    timing.emit("train_speedup_vs_torch", np.median([t / j for j, t in train_pairs]), "x (median of paired ratios)")
    timing.emit("infer_speedup_vs_torch", np.median([t / j for j, t in infer_pairs]), "x (median of paired ratios)")
    flops = _train_flops_per_frame(config)
    peak = _gemm_peak_gflops(frames, config)
    torch_fps = frames / np.median([t for _, t in train_pairs])
    timing.emit("train_gflop_per_frame", flops / 1e9, "GFLOP (matmuls, forward + backward)")
    timing.emit("gemm_peak_gflops", peak, "GFLOP/s (float32 GEMM, XLA)")
    timing.emit("train_gemm_fraction", frames / train_s * flops / 1e9 / peak, "of the GEMM peak")
    timing.emit("torch_train_gemm_fraction", torch_fps * flops / 1e9 / peak, "of the GEMM peak")
    timing.emit("train_roofline_speedup_vs_torch", peak * 1e9 / flops / torch_fps,
                "x (every training FLOP at the GEMM peak)")
  if FLAGS.sync_dispatch:
    # A child process, so that its CPU client starts in synchronous dispatch mode.
    child = subprocess.run([sys.executable, "-m", "launch.bench", *sys.argv[1:], "--only=stream"], check=False,
                           stdout=subprocess.PIPE, text=True)
    sys.stdout.write(child.stdout)
    sys.stdout.flush()
    if child.returncode:
      raise RuntimeError(f"the streaming benchmark child process failed with exit status {child.returncode}")
  else:
    _stream_figures(config, rng, state.params)


if __name__ == "__main__":
  app.run(main, flags_parser=config_cli.parse_flags)
