"""Trainer fields shared by every model config (`trainer_config` fills them; each config overrides a few)."""
import ml_collections


def parse_variants(arg: str | None, known: set[str], path: str) -> set[str]:
  """`'a,b'` -> {'a', 'b'}; unknown variant names raise naming the config file."""
  variants = set(filter(None, (arg or "").split(",")))
  unknown = variants - known
  if unknown:
    raise ValueError(f"unknown {path} variants {sorted(unknown)}; use {', '.join(sorted(known))}")
  return variants


def trainer_config(model_name: str, dataset: str) -> ml_collections.ConfigDict:
  """The fields `listen_jax.train.trainer` reads, with neutral defaults."""
  c = ml_collections.ConfigDict()
  c.model_name = model_name  # Task/model registry key (listen_jax.tasks).
  c.data_dir = "runs/data"  # TFDS data_dir holding the prepared dataset (launch.build_datasets --data_dir).
  c.dataset = dataset  # Prepared dataset name[/config] under data_dir ('vico/raw', 'react', ...).
  c.seed = 0  # Seeds parameter init, dropout/sampling and data order.

  # Data.
  c.window = 64  # Training window (crop) length in frames.
  c.stride = 16  # Stride between window starts.
  c.min_window = 0  # Shortest tail window (0: window // 3).
  c.batch_size = 8  # Global batch size (split over all devices and hosts).
  c.num_neighbours = 8  # Appropriate-neighbour slots K per item (reaction-format batches).
  c.worker_count = 0  # grain worker processes (0: in-process).

  # Schedule.
  c.num_epochs = 50  # Epochs over all training windows (used when num_train_steps == 0).
  c.num_train_steps = 0  # If > 0, overrides num_epochs.
  c.log_every = 25  # Steps between metric logs.
  c.checkpoint_every = 500  # Steps between checkpoints (and at the end / on SIGTERM).
  c.max_to_keep = 3  # Checkpoints kept.
  c.keep_best_metric = ""  # If set (e.g. 'loss'), also keep the best checkpoints by this logged metric.
  c.skip_nonfinite = False  # Skip (instead of stopping on) steps with a non-finite loss or gradient.

  # Parallelism and precision.
  c.num_devices = 0  # Devices to use (0: every device of every host).
  c.model_parallel = 1  # Devices on the mesh's model axis (data axis gets the rest).
  c.accumulate_steps = 1  # Gradient accumulation micro-batches per step (batch_size is the global total).
  c.compute_dtype = "float32"  # 'bfloat16' computes in bf16 with float32 master weights.
  c.step_impl = "jit"  # 'jit' (XLA partitions the global step) | 'shard_map' (per-device step + lax.pmean).

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = "adamw"  # 'adamw' | 'adam'.
  c.optimizer.learning_rate = 5e-4  # Peak learning rate at base_batch_size.
  c.optimizer.base_batch_size = 0  # If > 0, lr scales linearly with batch_size / base_batch_size.
  c.optimizer.weight_decay = 5e-4  # AdamW decoupled weight decay (all parameters).
  c.optimizer.b1 = 0.9  # Adam beta1.
  c.optimizer.b2 = 0.999  # Adam beta2.
  c.optimizer.eps = 1e-8  # Adam epsilon.
  c.optimizer.grad_clip = 1.0  # Global-norm clipping (0 disables).
  c.optimizer.schedule = "cosine"  # 'constant' | 'step' | 'cosine'.
  c.optimizer.warmup_steps = 100  # Linear warmup steps.
  c.optimizer.decay_every_epochs = 30  # Step schedule: decay period in epochs.
  c.optimizer.decay_rate = 0.5  # Step schedule: multiplicative decay.
  c.optimizer.total_steps = 0  # Cosine length (0: the run length; pin it to extend a run by num_train_steps).
  return c


def apply_accel(c: ml_collections.ConfigDict, *, batch_size: int, warmup_steps: int = 500) -> None:
  """The `:accel` variant: a large global batch on GPU/TPU with bf16 compute and linear LR scaling.

  The learning rate in `c.optimizer.learning_rate` stays the one tuned at the model's base batch
  (`c.batch_size` before this call): the trainer then uses lr * batch_size / base_batch_size, reached after a
  linear warmup. `num_epochs` keeps the data seen; step-based fields (`num_train_steps`) are left as they are.
  """
  c.optimizer.base_batch_size = c.batch_size  # Batch the learning rate was tuned at (linear scaling base).
  c.batch_size = batch_size  # Global batch over all devices and hosts (divisible by the data-parallel devices).
  c.compute_dtype = "auto"  # bfloat16 on GPU/TPU, float32 on the CPU fallback (listen_jax.devices).
  c.optimizer.warmup_steps = warmup_steps  # Linear warmup to the scaled learning rate.
