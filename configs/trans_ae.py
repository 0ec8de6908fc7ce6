"""Trans-AE: the REACT Trans-VAE baseline as a deterministic causal transformer autoencoder.

Train:    python -m launch.train --config=configs/trans_ae.py --workdir=W/baselines/trans_ae
          (`listen_jax.evaluation.evaluate_react(W)` then scores it as method `trans_ae` next to W's model)
Variants: configs/trans_ae.py:reference  (the reference Trans-VAE recipe: AdamW lr 1e-5, wd 5e-4, batch 4,
                                          256-frame crops, MSE loss, plain causal mask, absolute positions,
                                          50 epochs)
          configs/trans_ae.py:smoke      (tiny model, 20 steps on CPU, for tests)
          configs/trans_ae.py:quick      (a usable baseline on synthetic REACT data in ~2-3 min on 2 cores)
          configs/trans_ae.py:vico       (on the prepared ViCo dataset: 73-d motion, no emotion)
Options combine with commas, e.g. `:quick,vico`. Any field can be overridden: --config.loss.error=mse.
"""
import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variants = set(filter(None, (arg or "").split(",")))
  unknown = variants - {"reference", "smoke", "quick", "vico"}
  if unknown:
    raise ValueError(f"unknown configs/trans_ae.py variants {sorted(unknown)}; use reference, smoke, quick, vico")
  c = ml_collections.ConfigDict()
  c.model_name = "trans_ae"  # Task/model registry key (listen_jax.tasks).
  c.data_dir = "runs/data"  # TFDS data_dir holding the prepared dataset.
  c.dataset = "react"  # Prepared dataset name[/config] ('react' or 'vico/raw').
  c.seed = 0  # Seeds parameter init, dropout and data order.

  # Data.
  c.window = 64  # Training crop length in frames.
  c.stride = 16  # Stride between crop starts.
  c.min_window = 0  # Shortest tail crop (0: window // 3).
  c.batch_size = 8  # Global batch size.
  c.num_neighbours = 1  # Appropriate-neighbour slots K per item (unused by the loss: it fits the real listener).
  c.worker_count = 0  # grain worker processes.

  # Schedule.
  c.num_epochs = 50  # Epochs over all training crops (used when num_train_steps == 0).
  c.num_train_steps = 0  # If > 0, overrides num_epochs.
  c.log_every = 25  # Steps between metric logs.
  c.checkpoint_every = 500  # Steps between checkpoints.
  c.max_to_keep = 3  # Checkpoints kept.
  c.keep_best_metric = ""  # If set, keep the best checkpoints by this logged metric.
  c.skip_nonfinite = False  # Skip (instead of stopping on) non-finite steps.

  # Parallelism and precision.
  c.num_devices = 0  # Devices to use (0: all).
  c.model_parallel = 1  # Devices on the mesh's model axis.
  c.accumulate_steps = 1  # Gradient accumulation micro-batches per step.
  c.compute_dtype = "float32"  # 'bfloat16' for bf16 compute with float32 master weights.
  c.step_impl = "jit"  # 'jit' | 'shard_map'.

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = "adamw"  # 'adamw' | 'adam'.
  c.optimizer.learning_rate = 5e-4  # Peak learning rate at base_batch_size.
  c.optimizer.base_batch_size = 0  # If > 0, lr scales linearly with batch_size / base_batch_size.
  c.optimizer.weight_decay = 5e-4  # AdamW weight decay (reference 5e-4).
  c.optimizer.b1 = 0.9  # Adam beta1.
  c.optimizer.b2 = 0.999  # Adam beta2.
  c.optimizer.eps = 1e-8  # Adam epsilon.
  c.optimizer.grad_clip = 1.0  # Global-norm clipping (0 disables).
  c.optimizer.schedule = "cosine"  # 'constant' | 'step' | 'cosine'.
  c.optimizer.warmup_steps = 100  # Linear warmup steps.
  c.optimizer.decay_every_epochs = 30  # Step schedule period (epochs).
  c.optimizer.decay_rate = 0.5  # Step schedule factor.
  c.optimizer.total_steps = 5_000  # Cosine schedule length.

  c.model = ml_collections.ConfigDict()
  c.model.feature_dim = 128  # Transformer width.
  c.model.num_heads = 4  # Attention heads (the reference: 4).
  c.model.ffn_dim = 256  # Feed-forward width.
  c.model.encoder_layers = 2  # Causal speaker-encoder blocks.
  c.model.decoder_layers = 2  # Decoder blocks (the reference: 2).
  c.model.dropout = 0.1  # Dropout.
  c.model.period = 8  # Frames per causal-bias step and period of the 'periodic' positions.
  c.model.bias = "alibi"  # 'alibi' (stepwise recency, 2^-h per head) | 'ones' | 'mask' (plain causal, reference).
  c.model.positions = "periodic"  # 'periodic' (t mod period) | 'absolute' (t, the reference).
  c.model.audio_pool = "concat"  # Log-mel pairs -> video rate: 'concat' | 'mean'.

  c.loss = ml_collections.ConfigDict()
  c.loss.error = "smooth_l1"  # 'smooth_l1' | 'mse' (the reference).
  c.loss.pose = 10.0  # Pose weight (reference 10).
  c.loss.emotion = 1.0  # Emotion weight (REACT only).

  c.eval = ml_collections.ConfigDict()
  c.eval.num_samples = 10  # "Samples" per speaker for generation and the REACT metrics (all identical).
  c.eval.convention = "react2023"  # REACT metric convention ('react2023' | 'corrected').

  if "reference" in variants:
    c.window = 256
    c.stride = 32
    c.batch_size = 4
    c.num_epochs = 50
    c.model.bias = "mask"
    c.model.positions = "absolute"
    c.loss.error = "mse"
    c.optimizer.learning_rate = 1e-5
    c.optimizer.schedule = "constant"
    c.optimizer.warmup_steps = 0
    c.optimizer.grad_clip = 0.0
  if "quick" in variants:
    c.num_train_steps = 2000
    c.optimizer.total_steps = 2000
    c.optimizer.learning_rate = 1e-3
    c.optimizer.warmup_steps = 100
    c.log_every = 100
    c.checkpoint_every = 1000
    c.model.feature_dim = 64
    c.model.ffn_dim = 128
  if "vico" in variants:
    c.dataset = "vico/raw"
    c.num_neighbours = 1
  if "smoke" in variants:
    c.window = 16
    c.stride = 8
    c.min_window = 8
    c.batch_size = 4
    c.num_train_steps = 20
    c.optimizer.total_steps = 20
    c.optimizer.warmup_steps = 2
    c.optimizer.learning_rate = 2e-3
    c.log_every = 10
    c.checkpoint_every = 10
    c.model.feature_dim = 16
    c.model.ffn_dim = 32
    c.model.num_heads = 2
    c.model.encoder_layers = 1
    c.model.decoder_layers = 1
    c.model.dropout = 0.0
    c.eval.num_samples = 3
  return c
