"""Tests of the torch <-> JAX ViCo listener weight bridge."""
import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from listen_jax.bridge import torch_weights as tw  # noqa: E402

# The reference ListenerGenerator's state-dict keys (vico_reference §4.1) and its parameter count.
REFERENCE_KEYS = {
    "fusion.layernorm_driven.weight", "fusion.layernorm_driven.bias",
    "fusion.fusion.0.weight", "fusion.fusion.0.bias",
    "fusion.layernorm_init.weight", "fusion.layernorm_init.bias",
    "fusion.get_initial_state.0.weight", "fusion.get_initial_state.0.bias",
    "fusion.get_initial_state.2.weight", "fusion.get_initial_state.2.bias",
    "fusion.lstm_layers.weight_ih_l0", "fusion.lstm_layers.weight_hh_l0",
    "fusion.lstm_layers.weight_ih_l1", "fusion.lstm_layers.weight_hh_l1",
    "dynam_3dmm_fc.weight", "dynam_3dmm_fc.bias",
}
REFERENCE_PARAM_COUNT = 248_449


class TorchListenerTwin(nn.Module):
  """The ViCo listener architecture written directly in torch (attribute names deliberately unlike ours)."""

  def __init__(self, audio_dim=45, motion_dim=73, fusion_dim=192, hidden=96, num_layers=2):
    super().__init__()
    self.num_layers, self.hidden = num_layers, hidden
    self.in_ln = nn.LayerNorm(audio_dim + motion_dim)
    self.proj = nn.Linear(audio_dim + motion_dim, fusion_dim)
    self.init_mlp = nn.Sequential(nn.LayerNorm(motion_dim), nn.Linear(motion_dim, motion_dim), nn.Tanh(),
                                  nn.Linear(motion_dim, 2 * num_layers * hidden))
    self.rnn = nn.LSTM(fusion_dim, hidden, num_layers=num_layers, bias=False, batch_first=True, dropout=0.1)
    self.out = nn.Linear(hidden, motion_dim)

  def forward(self, audio, speaker, init):
    x = torch.tanh(self.proj(self.in_ln(torch.cat([audio, speaker], dim=-1))))
    state = self.init_mlp(init).view(-1, 2, self.num_layers, self.hidden).permute(1, 2, 0, 3).contiguous()
    y, _ = self.rnn(x, (state[0], state[1]))
    return self.out(y)


def _twin(seed=0, **kw):
  torch.manual_seed(seed)
  twin = TorchListenerTwin(**kw).eval()
  with torch.no_grad():  # make the LayerNorm affines non-trivial so a scale/bias swap would show
    for m in (twin.in_ln, twin.init_mlp[0]):
      m.weight.uniform_(0.5, 1.5)
      m.bias.uniform_(-0.3, 0.3)
  return twin


def test_round_trip_is_bitwise_exact():
  variables = tw.vico_variables_from_torch(_twin().state_dict())
  exported = tw.vico_variables_to_torch(variables)
  assert set(exported) == REFERENCE_KEYS
  assert sum(v.numel() for v in exported.values()) == REFERENCE_PARAM_COUNT
  back = tw.vico_variables_from_torch(exported)
  flat_a = jax.tree_util.tree_flatten_with_path(variables)[0]
  flat_b = jax.tree_util.tree_flatten_with_path(back)[0]
  assert [p for p, _ in flat_a] == [p for p, _ in flat_b]
  for (path, a), (_, b) in zip(flat_a, flat_b):
    assert a.dtype == b.dtype == np.float32, path
    np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))
  # Torch weights are exactly the transposes of the JAX kernels.
  p = variables["params"]
  np.testing.assert_array_equal(exported["fusion.lstm_layers.weight_ih_l1"].numpy(), p["lstm_l1"]["w_ih"].T)
  np.testing.assert_array_equal(exported["dynam_3dmm_fc.weight"].numpy(), p["head"]["kernel"].T)


def test_jax_model_matches_torch_twin():
  lstm_listener = pytest.importorskip("listen_jax.models.lstm_listener")
  twin = _twin(seed=1)
  variables = tw.vico_variables_from_torch(twin.state_dict())
  assert tw.vico_hparams_from_variables(variables) == dict(audio_dim=45, motion_dim=73, fusion_dim=192, hidden=96,
                                                           num_layers=2, use_attitude=False)
  rng = np.random.default_rng(0)
  batch, time = 3, 17
  audio = rng.normal(size=(batch, time, 45)).astype(np.float32)
  speaker = rng.normal(size=(batch, time, 73)).astype(np.float32)
  init = rng.normal(size=(batch, 73)).astype(np.float32)
  with torch.no_grad():
    want = twin(torch.from_numpy(audio), torch.from_numpy(speaker), torch.from_numpy(init)).numpy()
  model = lstm_listener.ListenerLSTM()
  got = model.apply(variables, audio, speaker, init, np.full((batch,), time, np.int32))
  np.testing.assert_allclose(np.asarray(got), want, atol=1e-5, rtol=0)
  assert np.abs(want).max() > 0.05  # the comparison is not between near-zero outputs


def test_converted_weights_load_into_a_model_of_other_dims():
  lstm_listener = pytest.importorskip("listen_jax.models.lstm_listener")
  twin = _twin(seed=2, fusion_dim=32, hidden=16, num_layers=3)
  variables = tw.vico_variables_from_torch(twin.state_dict())
  hp = tw.vico_hparams_from_variables(variables)
  assert (hp["fusion_dim"], hp["hidden"], hp["num_layers"]) == (32, 16, 3)
  model = lstm_listener.ListenerLSTM(fusion_dim=32, hidden=16, num_layers=3)
  x = np.zeros((1, 4, 45), np.float32), np.zeros((1, 4, 73), np.float32), np.zeros((1, 73), np.float32)
  expect = jax.eval_shape(lambda: model.init(jax.random.key(0), *x, np.array([4])))
  assert jax.tree.map(np.shape, expect) == jax.tree.map(np.shape, variables)


def test_prefixed_and_wrapped_checkpoint_file(tmp_path):
  sd = _twin().state_dict()
  path = tmp_path / "Epoch_003.bin"
  torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in sd.items()}}, path)
  loaded = tw.load_torch_checkpoint(str(path))
  assert set(loaded) == set(sd)
  a = tw.vico_variables_from_torch(loaded)
  b = tw.vico_variables_from_torch(sd)
  np.testing.assert_array_equal(a["params"]["fusion"]["kernel"], b["params"]["fusion"]["kernel"])
  with pytest.raises(FileNotFoundError):
    tw.load_torch_checkpoint(str(tmp_path / "missing.bin"))


def test_attitude_embedding_round_trip():
  variables = tw.vico_variables_from_torch(_twin().state_dict())
  emb = np.arange(3 * 384, dtype=np.float32).reshape(3, 384)
  variables["params"]["attitude_embed"] = {"embedding": emb}
  exported = tw.vico_variables_to_torch(variables, as_numpy=True)
  assert set(exported) == REFERENCE_KEYS | {"attitude_embed.weight"}
  back = tw.vico_variables_from_torch(exported)
  np.testing.assert_array_equal(back["params"]["attitude_embed"]["embedding"], emb)
  assert tw.vico_hparams_from_variables(back)["use_attitude"]


def test_bad_state_dicts_raise():
  sd = dict(_twin().state_dict())
  with pytest.raises(tw.TorchWeightsError, match="nn.LSTM"):
    tw.vico_variables_from_torch({k: v for k, v in sd.items() if "rnn" not in k})
  with pytest.raises(tw.TorchWeightsError, match="bias_ih_l0"):
    tw.vico_variables_from_torch({**sd, "rnn.bias_ih_l0": torch.ones(384)})
  # Zero LSTM biases are harmless and accepted.
  tw.vico_variables_from_torch({**sd, "rnn.bias_ih_l0": torch.zeros(384)})
  with pytest.raises(tw.TorchWeightsError, match="unused"):
    tw.vico_variables_from_torch({**sd, "extra.weight": torch.zeros(5, 7)})
  with pytest.raises(tw.TorchWeightsError, match="init LayerNorm"):
    tw.vico_variables_from_torch({k: v for k, v in sd.items() if not k.startswith("init_mlp.0.")})


def test_import_vico_checkpoint_writes_restorable_params(tmp_path):
  checkpointing = pytest.importorskip("listen_jax.train.checkpointing")
  if not hasattr(checkpointing, "save_imported_params"):
    pytest.skip("listen_jax.train.checkpointing.save_imported_params is not written yet")
  import ml_collections  # pylint: disable=g-import-not-at-top

  sd = _twin(seed=3).state_dict()
  path = tmp_path / "Epoch_500.bin"
  torch.save(sd, path)
  config = ml_collections.ConfigDict(dict(model_name="vico_lstm", model=dict(
      audio_dim=45, motion_dim=73, fusion_dim=192, hidden=96, num_layers=2, use_attitude=True)))
  tw.import_vico_checkpoint(str(path), str(tmp_path / "run"), config)
  params, meta, step = checkpointing.restore_params(str(tmp_path / "run"))
  assert step == 0 and meta["model_name"] == "vico_lstm"
  np.testing.assert_array_equal(np.asarray(params["lstm_l0"]["w_hh"]), sd["rnn.weight_hh_l0"].numpy().T)
  np.testing.assert_array_equal(np.asarray(params["attitude_embed"]["embedding"]), np.zeros((3, 384), np.float32))
  config.model.hidden = 64
  with pytest.raises(tw.TorchWeightsError, match="hidden"):
    tw.import_vico_checkpoint(str(path), str(tmp_path / "run2"), config)
