"""ViCo listener LSTM.

Train:    python -m launch.train --config=configs/vico_lstm.py --workdir=runs/vico_lstm
Variants: configs/vico_lstm.py:reference  (the reference recipe: no attitude, AdamW wd 0.05, lr 2e-3, step decay
                                           x0.5 every 30 epochs, batch 16, windows of 90 frames at stride 1)
          configs/vico_lstm.py:smoke      (tiny model, a few dozen steps on CPU, for tests)
          configs/vico_lstm.py:quick      (the quickstart recipe on synthetic data)
          configs/vico_lstm.py:accel      (GPU/TPU: global batch 256, bf16 compute, lr scaled linearly from
                                           batch 16 with a 500-step warmup; float32 on the CPU fallback)
Options combine with commas, e.g. `:reference,smoke`. Any field can be overridden: --config.batch_size=32.
"""
import ml_collections

from configs import common


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variants = common.parse_variants(arg, {'smoke', 'quick', 'reference', 'accel'}, "configs/vico_lstm.py")
  c = common.trainer_config("vico_lstm", "vico/raw")
  c.window = 90  # Training window length in frames (row 0 is the listener reference frame).
  c.stride = 1  # Stride between window starts (the reference: 1).
  c.min_window = 30  # Shortest tail window (the reference: window // 3).
  c.batch_size = 16  # Global batch size.
  c.num_neighbours = 1  # Unused by this model (reaction-format batches only).
  c.num_epochs = 20  # Epochs over all training windows (used when num_train_steps == 0).
  c.log_every = 50  # Steps between metric logs.
  c.optimizer.learning_rate = 2e-3  # Peak learning rate (the reference: 2e-3).
  c.optimizer.weight_decay = 0.05  # AdamW weight decay (the reference: 0.05).
  c.model = ml_collections.ConfigDict()
  c.model.audio_dim = 45  # Audio feature width.
  c.model.motion_dim = 73  # ViCo dynamic 3DMM width.
  c.model.fusion_dim = 192  # Fused input projection width.
  c.model.hidden = 96  # LSTM hidden width.
  c.model.num_layers = 2  # LSTM layers.
  c.model.dropout = 0.1  # Dropout between LSTM layers.
  c.model.use_attitude = True  # Attitude embedding added to the initial state (the paper's conditioning).
  c.model.residual = True  # Predict the displacement from the reference frame (keeps identity exact).
  c.model.relative_speaker = True  # Speaker motion relative to its first frame (identity-invariant input).
  c.model.ablation = ""  # '' | 'audio_only' | 'visual_only' (Table 5 ablations).
  c.model.scan_unroll = 1  # Unroll factor of the LSTM time scans in training (speed only).
  c.model.infer_unroll = 1  # Unroll factor of the inference scans (speed only).

  # Training-only random constant offset (z-space std) of each listener window: hides the listener's identity
  # from the initial-state network so it cannot learn per-person behaviour that fails on unseen people (ood).
  c.identity_augment = 1.0

  c.loss = ml_collections.ConfigDict()
  c.loss.name = "reference"  # 'reference' (group norms + velocity) | 'paper' (Eq. 4-6).

  if "reference" in variants:
    c.model.use_attitude = False
    c.model.residual = False
    c.model.relative_speaker = False
    c.identity_augment = 0.0
    c.optimizer.grad_clip = 0.0
    c.optimizer.schedule = "step"
    c.optimizer.warmup_steps = 0
    c.stride = 1
    c.window = 90
    c.batch_size = 16
    c.num_epochs = 500
  if "quick" in variants:
    c.stride = 2
    c.batch_size = 32
    c.num_train_steps = 2000
    c.log_every = 50
    c.checkpoint_every = 500
  if "accel" in variants:  # after the recipe variants: scales whichever batch and lr they set
    common.apply_accel(c, batch_size=256)
  if "smoke" in variants:
    c.window = 30
    c.min_window = 10
    c.stride = 5
    c.batch_size = 8
    c.num_train_steps = 30
    c.optimizer.warmup_steps = 5
    c.log_every = 10
    c.checkpoint_every = 15
    c.model.fusion_dim = 32
    c.model.hidden = 16
  return c
