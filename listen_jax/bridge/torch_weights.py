"""PyTorch <-> JAX weights of the ViCo listener LSTM (`listen_jax.models.lstm_listener.ListenerLSTM`).

Torch key names this module EXPORTS are those of the reference `ListenerGenerator` state dict (vico_reference
§4.1), so an exported dict loads strictly into the reference module:

| torch key                                   | shape        | JAX parameter                |
|---------------------------------------------|--------------|------------------------------|
| `fusion.layernorm_driven.{weight,bias}`     | [118]        | `input_norm/{scale,bias}`    |
| `fusion.fusion.0.{weight,bias}`             | [192,118]    | `fusion/{kernel.T,bias}`     |
| `fusion.layernorm_init.{weight,bias}`       | [73]         | `init_norm/{scale,bias}`     |
| `fusion.get_initial_state.0.{weight,bias}`  | [73,73]      | `init_hidden/{kernel.T,bias}`|
| `fusion.get_initial_state.2.{weight,bias}`  | [384,73]     | `init_state/{kernel.T,bias}` |
| `fusion.lstm_layers.weight_ih_l{k}`         | [384,in]     | `lstm_l{k}/w_ih.T`           |
| `fusion.lstm_layers.weight_hh_l{k}`         | [384,96]     | `lstm_l{k}/w_hh.T`           |
| `dynam_3dmm_fc.{weight,bias}`               | [73,96]      | `head/{kernel.T,bias}`       |
| `attitude_embed.weight` (ours only)         | [3,384]      | `attitude_embed/embedding`   |

`attitude_embed.weight` has no counterpart in the reference model; drop it (or load with strict=False) before
loading an attitude model's export into the reference module.

IMPORTING does not rely on names: keys are stripped of `module.` prefixes, grouped by module (the key without
its last component) and each module's role is identified from its parameter shapes and from how the shapes chain
(LSTM input width = fusion output width, head input width = LSTM hidden width, ...). Any state dict of the same
architecture therefore maps, whatever its attribute names, e.g. `init_mlp.{0,1,3}`, `head`, `out`. LSTM biases
(`bias_ih_l{k}`, `bias_hh_l{k}`) are accepted only when all zero, because the model is bias-free.

ReactFace (documented, not implemented): the reference ReactFace model uses a fine-tuned wav2vec2 speaker audio
encoder and a Conv3d video encoder that `listen_jax.models.reactface` does not have, so only the parts that sit
on top of 128-d speaker features could map, one `nn.TransformerDecoderLayer` ("DecL") at a time: packed
`self_attn.in_proj_{weight,bias}` [384,128] / [384] (q, k, v blocks), `self_attn.out_proj`,
`multihead_attn.*` (cross-attention), `linear1` [256,128], `linear2` [128,256], `norm{1,2,3}`. Candidates:
`past_motion_linear` (58->128), `transformer_fusion_plm2sa`, `transformer_fusion_plm2sm` (1 DecL each),
`interaction_VAE` (Linear 128->128, `mu_token`/`logvar_token`, 2 `TransformerEncoderLayer`s with packed
4-head attention and FFN 1024), `listener_reaction_decoder` (2 DecL + `fusion_decode1/2` + Linear 128->58) and
the SpeakFormer decoder stack `speaker_reaction_decoder.{dec1,dec2,dec3}` with its `Linear(768->128)` audio map.
Those DecL weights are only meaningful together with the wav2vec2/video features they were trained on, so a
converted ReactFace checkpoint would not reproduce the reference outputs without those encoders.
"""
from __future__ import annotations

import collections
import os
from typing import Any, Mapping

import numpy as np

# The reference ListenerGenerator's names (see the module docstring); `{k}` is the LSTM layer.
TORCH_INPUT_NORM = "fusion.layernorm_driven"
TORCH_FUSION = "fusion.fusion.0"
TORCH_INIT_NORM = "fusion.layernorm_init"
TORCH_INIT_HIDDEN = "fusion.get_initial_state.0"
TORCH_INIT_STATE = "fusion.get_initial_state.2"
TORCH_LSTM = "fusion.lstm_layers"
TORCH_HEAD = "dynam_3dmm_fc"
TORCH_ATTITUDE = "attitude_embed"


class TorchWeightsError(ValueError):
  """A torch checkpoint / state dict that does not fit the ViCo listener LSTM."""


def _to_numpy(x: Any) -> np.ndarray:
  """torch.Tensor / jax.Array / np.ndarray -> np.ndarray (no copy for CPU tensors and numpy)."""
  if hasattr(x, "detach"):  # torch.Tensor
    return x.detach().cpu().numpy()
  return np.asarray(x)


def strip_module_prefix(state_dict: Mapping[str, Any]) -> dict[str, Any]:
  """Removes any leading `module.` (DataParallel/DDP) prefixes from every key."""
  out = {}
  for key, value in state_dict.items():
    while key.startswith("module."):
      key = key[len("module."):]
    if key in out:
      raise TorchWeightsError(f"key {key!r} appears twice after stripping 'module.' prefixes")
    out[key] = value
  return out


def _is_tensor_dict(obj: Any) -> bool:
  return (isinstance(obj, Mapping) and len(obj) > 0
          and all(isinstance(k, str) and hasattr(v, "shape") for k, v in obj.items()))


def extract_state_dict(obj: Any, where: str = "checkpoint") -> dict[str, Any]:
  """Finds the state dict in a loaded checkpoint: the dict itself, or one nested under a usual key.

  Args:
    obj: what `torch.load` returned: a state dict, or a dict holding one (e.g. under `state_dict`, `model`).
    where: name of the source for error messages.

  Returns:
    The state dict (key -> tensor), `module.` prefixes stripped.
  """
  if _is_tensor_dict(obj):
    return strip_module_prefix(obj)
  if isinstance(obj, Mapping):
    for key in ("state_dict", "model_state_dict", "model", "net", "generator", "params", "module"):
      if key in obj and _is_tensor_dict(obj[key]):
        return strip_module_prefix(obj[key])
    nested = [k for k, v in obj.items() if _is_tensor_dict(v)]
    if len(nested) == 1:
      return strip_module_prefix(obj[nested[0]])
    raise TorchWeightsError(f"{where}: no state dict found; top-level keys are {sorted(map(str, obj))[:20]} "
                            f"(tensor dicts under: {nested})")
  raise TorchWeightsError(f"{where}: expected a state dict (str -> tensor) or a dict holding one, "
                          f"got {type(obj).__name__}")


def load_torch_checkpoint(path: str, allow_pickle: bool = False) -> dict[str, Any]:
  """Loads a torch checkpoint file (e.g. the reference `Epoch_NNN.bin`) and returns its state dict.

  Args:
    path: file written by `torch.save` of a state dict or of a dict containing one.
    allow_pickle: if the safe loader (`weights_only=True`) refuses the file (it holds non-tensor objects such as
      numpy arrays), retry with full unpickling. Only for files you trust.

  Returns:
    State dict (key -> torch.Tensor) with `module.` prefixes stripped.
  """
  import torch  # pylint: disable=g-import-not-at-top

  if not os.path.isfile(path):
    raise FileNotFoundError(f"torch checkpoint {path} does not exist")
  try:
    obj = torch.load(path, map_location="cpu", weights_only=True)
  except Exception as e:  # pylint: disable=broad-except
    if not allow_pickle:
      raise TorchWeightsError(f"{path}: torch.load(weights_only=True) refused the file ({type(e).__name__}: "
                              f"{str(e)[:200]}); if you trust it, pass allow_pickle=True") from e
    obj = torch.load(path, map_location="cpu", weights_only=False)
  return extract_state_dict(obj, where=path)


# -- torch -> JAX --------------------------------------------------------------------------------------------------


def _group_by_module(state_dict: Mapping[str, Any]) -> dict[str, dict[str, np.ndarray]]:
  modules: dict[str, dict[str, np.ndarray]] = collections.defaultdict(dict)
  for key, value in state_dict.items():
    prefix, _, leaf = key.rpartition(".")
    modules[prefix][leaf] = _to_numpy(value)
  return dict(modules)


def _describe(modules: Mapping[str, Mapping[str, np.ndarray]]) -> str:
  return "; ".join(f"{m or '<root>'}: " + ", ".join(f"{k}{list(v.shape)}" for k, v in sorted(p.items()))
                   for m, p in sorted(modules.items()))


def vico_variables_from_torch(state_dict: Mapping[str, Any]) -> dict[str, Any]:
  """Converts a torch ViCo listener state dict to ListenerLSTM variables.

  Module roles are found from shapes (see the module docstring), so attribute names do not matter.

  Args:
    state_dict: key -> torch.Tensor / np.ndarray (float32), optionally `module.`-prefixed.

  Returns:
    `{'params': {...}}` with NumPy float32 leaves named as ListenerLSTM expects (`attitude_embed` only when the
    state dict has an embedding [num_attitudes, 2 * num_layers * hidden]).
  """
  modules = _group_by_module(strip_module_prefix(state_dict))
  what = _describe(modules)

  # LSTM: the module holding weight_ih_l0.
  lstm_names = [m for m, p in modules.items() if "weight_ih_l0" in p]
  if len(lstm_names) != 1:
    raise TorchWeightsError(f"expected exactly one nn.LSTM (weight_ih_l0), found {len(lstm_names)}: {what}")
  lstm = modules.pop(lstm_names[0])
  num_layers = sum(1 for k in lstm if k.startswith("weight_ih_l"))
  expected = {f"weight_{a}_l{k}" for a in ("ih", "hh") for k in range(num_layers)}
  biases = {k for k in lstm if k.startswith("bias_")}
  unknown = set(lstm) - expected - biases
  if unknown or not expected <= set(lstm):
    raise TorchWeightsError(f"LSTM {lstm_names[0]!r}: expected keys {sorted(expected)} (unidirectional, no "
                            f"projections), found {sorted(lstm)}")
  for b in sorted(biases):
    if np.any(lstm[b] != 0):
      raise TorchWeightsError(f"LSTM {lstm_names[0]!r} has non-zero {b}; ListenerLSTM is bias-free (bias=False)")
  hidden = lstm["weight_hh_l0"].shape[1]
  fusion_dim = lstm["weight_ih_l0"].shape[1]
  state_dim = 2 * num_layers * hidden
  params: dict[str, Any] = {}
  for k in range(num_layers):
    w_ih, w_hh = lstm[f"weight_ih_l{k}"], lstm[f"weight_hh_l{k}"]
    in_k = fusion_dim if k == 0 else hidden
    if w_ih.shape != (4 * hidden, in_k) or w_hh.shape != (4 * hidden, hidden):
      raise TorchWeightsError(f"LSTM layer {k}: weight_ih {list(w_ih.shape)} / weight_hh {list(w_hh.shape)}, "
                              f"expected [{4 * hidden}, {in_k}] / [{4 * hidden}, {hidden}]")
    params[f"lstm_l{k}"] = {"w_ih": np.ascontiguousarray(w_ih.T), "w_hh": np.ascontiguousarray(w_hh.T)}

  norms = {m: p for m, p in modules.items() if p.get("weight") is not None and p["weight"].ndim == 1}
  mats = {m: p for m, p in modules.items() if m not in norms}

  def take(candidates: list[str], role: str) -> dict[str, np.ndarray]:
    if len(candidates) != 1:
      raise TorchWeightsError(f"cannot identify the {role}: {len(candidates)} candidates {candidates}; "
                              f"modules: {what}")
    return modules.pop(candidates[0])

  def linear(p: Mapping[str, np.ndarray], role: str) -> dict[str, np.ndarray]:
    if set(p) != {"weight", "bias"}:
      raise TorchWeightsError(f"{role}: expected weight and bias, found {sorted(p)}")
    return {"kernel": np.ascontiguousarray(p["weight"].T), "bias": p["bias"]}

  def layer_norm(p: Mapping[str, np.ndarray], role: str) -> dict[str, np.ndarray]:
    if set(p) != {"weight", "bias"}:
      raise TorchWeightsError(f"{role}: expected an affine LayerNorm (weight, bias), found {sorted(p)}")
    return {"scale": p["weight"], "bias": p["bias"]}

  def shape(m: str) -> tuple[int, ...]:
    return tuple(mats[m]["weight"].shape)

  fusion = linear(take([m for m in mats if shape(m)[0] == fusion_dim and "bias" in mats[m]], "fusion Linear "
                       f"(out {fusion_dim})"), "fusion")
  in_dim = fusion["kernel"].shape[0]
  head = linear(take([m for m in mats if m in modules and len(shape(m)) == 2 and shape(m)[1] == hidden
                      and "bias" in mats[m]], f"output Linear (in {hidden})"), "head")
  motion_dim = head["kernel"].shape[1]
  init_state = linear(take([m for m in mats if m in modules and shape(m) == (state_dim, motion_dim)],
                           f"init-state Linear [{state_dim}, {motion_dim}]"), "init_state")
  init_hidden = linear(take([m for m in mats if m in modules and shape(m) == (motion_dim, motion_dim)],
                            f"init hidden Linear [{motion_dim}, {motion_dim}]"), "init_hidden")
  input_norm = layer_norm(take([m for m in norms if norms[m]["weight"].shape == (in_dim,)],
                               f"input LayerNorm ({in_dim})"), "input_norm")
  init_norm = layer_norm(take([m for m in norms if m in modules and norms[m]["weight"].shape == (motion_dim,)],
                              f"init LayerNorm ({motion_dim})"), "init_norm")
  params.update(input_norm=input_norm, fusion=fusion, init_norm=init_norm, init_hidden=init_hidden,
                init_state=init_state, head=head)
  embeds = [m for m in modules if set(modules[m]) == {"weight"} and modules[m]["weight"].ndim == 2
            and modules[m]["weight"].shape[1] == state_dim]
  if embeds:
    params["attitude_embed"] = {"embedding": take(embeds, "attitude embedding")["weight"]}
  if modules:
    raise TorchWeightsError(f"unused entries in the state dict: {_describe(modules)}")
  if in_dim <= motion_dim:
    raise TorchWeightsError(f"input width {in_dim} must be audio + motion ({motion_dim}) wide")
  params = {k: {n: np.asarray(a, np.float32) for n, a in v.items()} for k, v in params.items()}
  return {"params": params}


def vico_hparams_from_variables(variables: Mapping[str, Any]) -> dict[str, Any]:
  """ListenerLSTM constructor arguments implied by a parameter tree (audio/motion/fusion dims, hidden, layers)."""
  p = variables.get("params", variables)
  motion_dim = int(np.shape(p["head"]["kernel"])[1])
  num_layers = sum(1 for k in p if k.startswith("lstm_l"))
  out = dict(audio_dim=int(np.shape(p["fusion"]["kernel"])[0]) - motion_dim, motion_dim=motion_dim,
             fusion_dim=int(np.shape(p["fusion"]["kernel"])[1]), hidden=int(np.shape(p["lstm_l0"]["w_hh"])[0]),
             num_layers=num_layers, use_attitude="attitude_embed" in p)
  if "attitude_embed" in p:
    out["num_attitudes"] = int(np.shape(p["attitude_embed"]["embedding"])[0])
  return out


# -- JAX -> torch --------------------------------------------------------------------------------------------------


def vico_variables_to_torch(variables: Mapping[str, Any], as_numpy: bool = False) -> dict[str, Any]:
  """Converts ListenerLSTM variables to a state dict with the reference torch names (module docstring table).

  Args:
    variables: `{'params': ...}` or the params tree itself (NumPy or JAX leaves).
    as_numpy: return np.ndarray values instead of torch.Tensor (no torch needed).

  Returns:
    key -> torch.Tensor (float32, contiguous, CPU) or np.ndarray.
  """
  p = variables.get("params", variables)
  missing = [k for k in ("input_norm", "fusion", "init_norm", "init_hidden", "init_state", "head", "lstm_l0")
             if k not in p]
  if missing:
    raise TorchWeightsError(f"ListenerLSTM params lack {missing}; found {sorted(p)}")
  arr = lambda x: np.asarray(x, dtype=np.float32)
  out: dict[str, np.ndarray] = {}

  def linear(name: str, torch_name: str) -> None:
    out[f"{torch_name}.weight"] = np.ascontiguousarray(arr(p[name]["kernel"]).T)
    out[f"{torch_name}.bias"] = arr(p[name]["bias"])

  def layer_norm(name: str, torch_name: str) -> None:
    out[f"{torch_name}.weight"] = arr(p[name]["scale"])
    out[f"{torch_name}.bias"] = arr(p[name]["bias"])

  layer_norm("input_norm", TORCH_INPUT_NORM)
  linear("fusion", TORCH_FUSION)
  layer_norm("init_norm", TORCH_INIT_NORM)
  linear("init_hidden", TORCH_INIT_HIDDEN)
  linear("init_state", TORCH_INIT_STATE)
  k = 0
  while f"lstm_l{k}" in p:
    out[f"{TORCH_LSTM}.weight_ih_l{k}"] = np.ascontiguousarray(arr(p[f"lstm_l{k}"]["w_ih"]).T)
    out[f"{TORCH_LSTM}.weight_hh_l{k}"] = np.ascontiguousarray(arr(p[f"lstm_l{k}"]["w_hh"]).T)
    k += 1
  linear("head", TORCH_HEAD)
  if "attitude_embed" in p:
    out[f"{TORCH_ATTITUDE}.weight"] = arr(p["attitude_embed"]["embedding"])
  unknown = set(p) - {"input_norm", "fusion", "init_norm", "init_hidden", "init_state", "head", "attitude_embed"}
  unknown -= {f"lstm_l{i}" for i in range(k)}
  if unknown:
    raise TorchWeightsError(f"ListenerLSTM params have entries with no torch mapping: {sorted(unknown)}")
  if as_numpy:
    return out
  import torch  # pylint: disable=g-import-not-at-top

  # Own, writable copies: arrays fetched from JAX are read-only views torch must not write through.
  return {key: torch.from_numpy(np.array(value)) for key, value in out.items()}


# -- import into a workdir -----------------------------------------------------------------------------------------


def _check_against_config(hparams: Mapping[str, Any], config: Any, where: str) -> None:
  model_cfg = getattr(config, "model", None)
  if model_cfg is None:
    return
  wrong = []
  for key in ("audio_dim", "motion_dim", "fusion_dim", "hidden", "num_layers"):
    want = getattr(model_cfg, key, None) if not isinstance(model_cfg, Mapping) else model_cfg.get(key)
    if want is not None and int(want) != hparams[key]:
      wrong.append(f"{key}: checkpoint {hparams[key]} vs config {want}")
  if wrong:
    raise TorchWeightsError(f"{where} does not match config.model: " + "; ".join(wrong))


def import_vico_checkpoint(checkpoint_path: str, workdir: str, config: Any = None,
                           allow_pickle: bool = False) -> str:
  """Converts a reference torch ViCo listener checkpoint into a params-only orbax checkpoint under `workdir`.

  If `config.model.use_attitude` is set and the checkpoint has no attitude embedding (reference checkpoints never
  do), a zero embedding is added: the model then behaves exactly as the reference one until fine-tuned.

  Args:
    checkpoint_path: torch file (e.g. `Epoch_500.bin`).
    workdir: run directory; the checkpoint goes to `workdir/checkpoints/0`.
    config: the training config (`configs/vico_lstm.py`), used for `model_name` and to check the dimensions;
      None checks nothing and records `model_name='vico_lstm'`.
    allow_pickle: see `load_torch_checkpoint`.

  Returns:
    Path of the written checkpoint step directory.
  """
  from listen_jax.train import checkpointing  # pylint: disable=g-import-not-at-top

  variables = vico_variables_from_torch(load_torch_checkpoint(checkpoint_path, allow_pickle=allow_pickle))
  params = variables["params"]
  hparams = vico_hparams_from_variables(variables)
  _check_against_config(hparams, config, checkpoint_path)
  model_cfg = getattr(config, "model", None)
  use_attitude = bool(getattr(model_cfg, "use_attitude", False)) if model_cfg is not None else False
  if use_attitude and "attitude_embed" not in params:
    state_dim = 2 * hparams["num_layers"] * hparams["hidden"]
    params["attitude_embed"] = {"embedding": np.zeros((3, state_dim), np.float32)}
  elif not use_attitude and config is not None and "attitude_embed" in params:
    raise TorchWeightsError(f"{checkpoint_path} has an attitude embedding but config.model.use_attitude is False")
  model_name = getattr(config, "model_name", None) or "vico_lstm"
  return checkpointing.save_imported_params(workdir, params, model_name)
