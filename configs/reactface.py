"""ReactFace: causal transformer VAE with the floor-step alignment bias.

Train:    python -m launch.train --config=configs/reactface.py --workdir=runs/reactface
Variants: configs/reactface.py:reference  (the reference recipe: AdamW lr 2e-5, wd 5e-4, batch 8, 256-frame
                                           crops, VAE window 64, kl 1e-5, div 100, smooth 10, 200 epochs)
          configs/reactface.py:smoke      (tiny model, a few dozen steps on CPU, for tests)
          configs/reactface.py:quick      (a meaningful result on synthetic REACT data in ~10 min on 2 cores)
          configs/reactface.py:vico       (on the prepared ViCo dataset: 73-d motion, no emotion)
          configs/reactface.py:stage1     (paper stage 1: reconstruction against the real listener)
Options combine with commas, e.g. `:quick,stage1`. Any field can be overridden: --config.loss.kl=1e-5.
"""
import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variants = set(filter(None, (arg or "").split(",")))
  unknown = variants - {"reference", "smoke", "quick", "vico", "stage1"}
  if unknown:
    raise ValueError(f"unknown configs/reactface.py variants {sorted(unknown)}")
  c = ml_collections.ConfigDict()
  c.model_name = "reactface"  # Task/model registry key (listen_jax.tasks).
  c.data_dir = "runs/data"  # TFDS data_dir holding the prepared dataset.
  c.dataset = "react"  # Prepared dataset name[/config] ('react' or 'vico/raw').
  c.seed = 0  # Seeds parameter init, sampling noise and data order.

  # Data.
  c.window = 64  # Training crop length in frames.
  c.stride = 16  # Stride between crop starts.
  c.min_window = 0  # Shortest tail crop (0: window // 3).
  c.batch_size = 8  # Global batch size.
  c.num_neighbours = 8  # Appropriate-neighbour slots K per item (padded with a mask).
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
  c.model.num_heads = 8  # Attention heads.
  c.model.ffn_dim = 256  # Feed-forward width.
  c.model.period = 8  # Alignment-bias period p.
  c.model.window = 8  # Frames per VAE window (online step size).
  c.model.momentum = 0.9  # Latent momentum a in z = a*z_prev + (1-a)*z.
  c.model.latent_dim = 128  # VAE latent width.
  c.model.slopes = "alibi"  # 'alibi' (m_h = 2^-h, the reference) | 'ones' (the paper).
  c.model.dropout = 0.1  # Dropout.
  c.model.max_len = 800  # Streaming cache length (frames the online encoder keeps; exact up to this).
  c.model.speaker_layers = 2  # Speaker-encoder blocks.
  c.model.audio_context = 5  # Causal audio-encoder context (log-mel frames).
  c.model.vae_layers = 2  # Interaction-VAE encoder layers.
  c.model.vae_num_heads = 4  # Interaction-VAE heads.
  c.model.vae_ffn_dim = 256  # Interaction-VAE feed-forward width.
  c.model.decoder_latent_layers = 2  # Decoder blocks attending to the latents.
  c.model.include_current_frame = True  # Frame t hears its own audio frames 2t, 2t+1.

  c.loss = ml_collections.ConfigDict()
  c.loss.stage = 2  # 1: reconstruction vs real listener; 2: appropriate reconstruction + diversity.
  c.loss.kl = 1e-4  # KL weight.
  c.loss.div = 100.0  # Diversity weight (stage 2).
  c.loss.div_scale = 100.0  # RBF kernel scale of the diversity loss.
  c.loss.smooth = 10.0  # Second-order smoothness weight.
  c.loss.smooth_expression = 0.1  # Expression share of the smoothness term.
  c.loss.speaker = 1.0  # Speaker-3DMM reconstruction weight.
  c.loss.pose = 10.0  # Pose weight inside the reconstruction cost.
  c.loss.emotion = 1.0  # Emotion weight inside the reconstruction cost.
  c.loss.num_samples = 2  # Samples per step for the diversity term.

  c.eval = ml_collections.ConfigDict()
  c.eval.num_samples = 10  # Samples per speaker for generation and the REACT metrics.
  c.eval.convention = "react2023"  # REACT metric convention ('react2023' | 'corrected').

  if "reference" in variants:
    c.window = 256
    c.stride = 32
    c.batch_size = 8
    c.num_epochs = 200
    c.model.window = 64
    c.loss.kl = 1e-5
    c.optimizer.learning_rate = 2e-5
    c.optimizer.schedule = "constant"
    c.optimizer.warmup_steps = 0
    c.optimizer.grad_clip = 0.0
  if "quick" in variants:
    c.num_train_steps = 1500
    c.optimizer.total_steps = 1500
    c.model.feature_dim = 64
    c.model.ffn_dim = 128
    c.model.latent_dim = 64
    c.model.vae_ffn_dim = 128
    c.model.num_heads = 4
  if "vico" in variants:
    c.dataset = "vico/raw"
    c.num_neighbours = 1
  if "stage1" in variants:
    c.loss.stage = 1
  if "smoke" in variants:
    c.window = 16
    c.stride = 8
    c.min_window = 8
    c.batch_size = 4
    c.num_train_steps = 20
    c.optimizer.total_steps = 20
    c.optimizer.warmup_steps = 2
    c.log_every = 10
    c.checkpoint_every = 10
    c.num_neighbours = 4
    c.model.feature_dim = 32
    c.model.ffn_dim = 32
    c.model.latent_dim = 16
    c.model.num_heads = 4
    c.model.vae_num_heads = 2
    c.model.vae_ffn_dim = 32
    c.model.speaker_layers = 1
    c.model.vae_layers = 1
    c.model.decoder_latent_layers = 1
    c.model.max_len = 128
    c.eval.num_samples = 3
  return c
