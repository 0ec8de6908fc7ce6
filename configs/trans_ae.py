"""Trans-AE: the REACT Trans-VAE baseline as a deterministic causal transformer autoencoder.

Train:    python -m launch.train --config=configs/trans_ae.py --workdir=W/baselines/trans_ae
          (`listen_jax.evaluation.evaluate_react(W)` then scores it as method `trans_ae` next to W's model)
Variants: configs/trans_ae.py:reference  (the reference Trans-VAE recipe: AdamW lr 1e-5, wd 5e-4, batch 4,
                                          256-frame crops, MSE loss, plain causal mask, absolute positions,
                                          50 epochs)
          configs/trans_ae.py:smoke      (tiny model, 20 steps on CPU, for tests)
          configs/trans_ae.py:quick      (a usable baseline on synthetic REACT data in ~2-3 min on 2 cores)
          configs/trans_ae.py:vico       (on the prepared ViCo dataset: 73-d motion, no emotion)
          configs/trans_ae.py:accel      (GPU/TPU: global batch 64, bf16 compute, lr scaled linearly from the
                                          recipe's batch with a 500-step warmup; float32 on the CPU fallback)
Options combine with commas, e.g. `:quick,vico`. Any field can be overridden: --config.loss.error=mse.
"""
import ml_collections

from configs import common


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  variants = common.parse_variants(arg, {'smoke', 'quick', 'reference', 'vico', 'accel'}, "configs/trans_ae.py")
  c = common.trainer_config("trans_ae", "react")
  c.num_neighbours = 1  # Appropriate-neighbour slots K (unused by the loss: it fits the real listener).
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
    c.optimizer.learning_rate = 1e-3
    c.optimizer.warmup_steps = 100
    c.log_every = 100
    c.checkpoint_every = 1000
    c.model.feature_dim = 64
    c.model.ffn_dim = 128
  if "vico" in variants:
    c.dataset = "vico/raw"
    c.num_neighbours = 1
  if "accel" in variants:  # after the recipe variants: scales whichever batch and lr they set
    common.apply_accel(c, batch_size=64)
  if "smoke" in variants:
    c.window = 16
    c.stride = 8
    c.min_window = 8
    c.batch_size = 4
    c.num_train_steps = 20
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
