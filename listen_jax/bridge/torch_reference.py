"""The reference ViCo listener (`ListenerGenerator`) and its training loss, written in PyTorch.

A twin of the reference architecture with the reference state-dict names (`torch_weights.TORCH_*`), so
`torch_weights.vico_variables_to_torch` output loads into it with `strict=True` and a checkpoint of either side
runs on the other. It exists to compare against: parity tests of `ListenerLSTM`, and the side-by-side speed
figures of `python -m launch.bench --against=torch` (same weights, same shapes, same threads).

  concat(audio [45], speaker [73]) -> LayerNorm -> Linear 192 + tanh -> nn.LSTM(192, 96, 2 layers, bias-free,
  dropout 0.1 between layers), started from the listener's first frame through LayerNorm -> Linear 73 -> tanh
  -> Linear 384 read as [batch, {h, c}, layer, hidden] -> Linear 73.

Like the reference, the LSTM runs over a `pack_padded_sequence` when `lengths` are given, and the loss keeps the
reference's conventions (rows from `lengths - 1` on are zeroed, padded rows stay in the denominators).
Requires torch (the `bridge` extra); importing this module imports torch.
"""
from __future__ import annotations

import torch
from torch import nn

from listen_jax.bridge import torch_weights

# Per-frame group slices of the 73-d ViCo dynamic layout (angle 3, exp 64, trans 3, crop 3).
_GROUPS = {"angle": slice(0, 3), "exp": slice(3, 67), "trans": slice(67, 70), "crop": slice(70, 73)}
_VELOCITY_WEIGHTS = {"angle": 1.0, "exp": 0.001, "trans": 1.0, "crop": 1.0}


class _Fusion(nn.Module):
  """The reference `fusion` submodule: input fusion, initial state and the LSTM."""

  def __init__(self, in_dim: int, motion_dim: int, fusion_dim: int, hidden: int, num_layers: int,
               dropout: float):
    super().__init__()
    self.layernorm_driven = nn.LayerNorm(in_dim)
    self.fusion = nn.Sequential(nn.Linear(in_dim, fusion_dim), nn.Tanh())
    self.layernorm_init = nn.LayerNorm(motion_dim)
    self.get_initial_state = nn.Sequential(nn.Linear(motion_dim, motion_dim), nn.Tanh(),
                                           nn.Linear(motion_dim, 2 * num_layers * hidden))
    self.lstm_layers = nn.LSTM(fusion_dim, hidden, num_layers=num_layers, bias=False, batch_first=True,
                               dropout=dropout)


class ReferenceListener(nn.Module):
  """PyTorch ViCo listener with the reference parameter names (see the module docstring).

  `forward(audio [B, T, 45], speaker [B, T, 73], init [B, 73], lengths [B] int64 or None) -> [B, T, 73]`:
  row t predicts listener frame t + 1 (z-space); rows at or after `lengths` are 0 when `lengths` is given.
  """

  def __init__(self, audio_dim: int = 45, motion_dim: int = 73, fusion_dim: int = 192, hidden: int = 96,
               num_layers: int = 2, dropout: float = 0.1):
    super().__init__()
    self.num_layers, self.hidden = num_layers, hidden
    self.fusion = _Fusion(audio_dim + motion_dim, motion_dim, fusion_dim, hidden, num_layers, dropout)
    self.dynam_3dmm_fc = nn.Linear(hidden, motion_dim)
    names = {name for name, _ in self.named_parameters()}
    expected = {torch_weights.TORCH_LSTM + f".weight_{a}_l{k}" for a in ("ih", "hh") for k in range(num_layers)}
    assert expected <= names, (expected, names)  # the names the bridge exports

  def initial_state(self, init: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, 73] listener frame 0 -> (h0, c0), each [num_layers, B, hidden]."""
    f = self.fusion
    v = f.get_initial_state(f.layernorm_init(init))
    v = v.view(-1, 2, self.num_layers, self.hidden).permute(1, 2, 0, 3).contiguous()
    return v[0], v[1]

  def forward(self, audio: torch.Tensor, speaker: torch.Tensor, init: torch.Tensor,
              lengths: torch.Tensor | None = None) -> torch.Tensor:
    f = self.fusion
    x = f.fusion(f.layernorm_driven(torch.cat([audio, speaker], dim=-1)))
    state = self.initial_state(init)
    if lengths is None:
      y, _ = f.lstm_layers(x, state)
    else:
      packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
      y, _ = f.lstm_layers(packed, state)
      y, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
    return self.dynam_3dmm_fc(y)


def reference_loss(pred: torch.Tensor, listener: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
  """The reference training loss (group distances + velocities) with the reference's padding conventions.

  Args:
    pred: [B, T, 73] model output (row t predicts listener frame t + 1).
    listener: [B, T, 73] listener window; row 0 is the init frame, rows 1.. the targets.
    lengths: [B] int64 valid frames per window.

  Returns:
    scalar loss: sum over groups of mean ||pred_g - tgt_g + 1e-6|| plus the weighted mean velocity distances,
    means over all B * T (resp. B * (T - 1)) rows, padding included, as the reference computes them.
  """
  time = pred.shape[1]
  rows = torch.arange(time, device=pred.device)[None, :] < (lengths[:, None] - 1)
  pred = pred * rows[..., None].to(pred.dtype)
  target = torch.zeros_like(pred)
  target[:, :-1] = listener[:, 1:] * rows[:, :-1, None].to(pred.dtype)
  loss = pred.new_zeros(())
  for name, cols in _GROUPS.items():
    p, t = pred[..., cols].reshape(-1, cols.stop - cols.start), target[..., cols].reshape(-1, cols.stop - cols.start)
    loss = loss + nn.functional.pairwise_distance(p, t).mean()
    dp = (pred[:, 1:, cols] - pred[:, :-1, cols]).reshape(p.shape[0] - pred.shape[0], -1)
    dt = (target[:, 1:, cols] - target[:, :-1, cols]).reshape(dp.shape)
    loss = loss + _VELOCITY_WEIGHTS[name] * nn.functional.pairwise_distance(dp, dt).mean()
  return loss


def from_variables(variables, dropout: float = 0.1) -> ReferenceListener:
  """A `ReferenceListener` holding the weights of ListenerLSTM `variables` (strict load; no attitude)."""
  hparams = torch_weights.vico_hparams_from_variables(variables)
  if hparams.pop("use_attitude"):
    raise torch_weights.TorchWeightsError("the reference listener has no attitude embedding")
  hparams.pop("num_attitudes", None)
  model = ReferenceListener(dropout=dropout, **hparams)
  model.load_state_dict(torch_weights.vico_variables_to_torch(variables), strict=True)
  return model
