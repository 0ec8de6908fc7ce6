"""Tests of the ViCo listener LSTM (and its trainer task)."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from listen_jax.models import lstm_listener as ll
from listen_jax.models.lstm_listener import ListenerLSTM

B, T = 3, 6


def _jit_apply(model):
  """model.apply under one jit (eager apply compiles every primitive separately: slow)."""
  return jax.jit(model.apply, static_argnames=("deterministic", "method", "mutable"))


def _inputs(seed=0, batch=B, time=T):
  r = np.random.default_rng(seed)
  f = lambda *s: jnp.asarray(r.normal(size=s), jnp.float32)
  return f(batch, time, 45), f(batch, time, 73), f(batch, 73), jnp.array([time, 4, 2][:batch], jnp.int32)


@pytest.fixture(scope="module")
def model_and_vars():
  model = ListenerLSTM()
  audio, speaker, init, lengths = _inputs()
  return model, jax.jit(model.init)(jax.random.key(0), audio, speaker, init, lengths)


def test_parameter_count_and_names(model_and_vars):
  _, variables = model_and_vars
  params = variables["params"]
  assert sum(x.size for x in jax.tree.leaves(params)) == 248_449
  shapes = jax.tree.map(jnp.shape, params)
  assert shapes == {
      "input_norm": {"scale": (118,), "bias": (118,)},
      "fusion": {"kernel": (118, 192), "bias": (192,)},
      "init_norm": {"scale": (73,), "bias": (73,)},
      "init_hidden": {"kernel": (73, 73), "bias": (73,)},
      "init_state": {"kernel": (73, 384), "bias": (384,)},
      "lstm_l0": {"w_ih": (192, 384), "w_hh": (96, 384)},
      "lstm_l1": {"w_ih": (96, 384), "w_hh": (96, 384)},
      "head": {"kernel": (96, 73), "bias": (73,)},
  }
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(params))


def test_matches_torch_reference(model_and_vars):
  """Same weights in torch (LayerNorm, Linear, bias-free nn.LSTM, packed sequences) give the same outputs."""
  torch = pytest.importorskip("torch")
  model, variables = model_and_vars
  p = jax.tree.map(lambda x: torch.tensor(np.asarray(x)), variables["params"])
  audio, speaker, init, lengths = _inputs(1)
  ours = np.asarray(_jit_apply(model)(variables, audio, speaker, init, lengths))

  def linear(x, d):
    return x @ d["kernel"] + d["bias"]

  def layer_norm(x, d):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], d["scale"], d["bias"], eps=1e-5)

  lstm = torch.nn.LSTM(192, 96, num_layers=2, bias=False, batch_first=True, dropout=0.1).eval()
  with torch.no_grad():
    for k in range(2):
      getattr(lstm, f"weight_ih_l{k}").copy_(p[f"lstm_l{k}"]["w_ih"].T)
      getattr(lstm, f"weight_hh_l{k}").copy_(p[f"lstm_l{k}"]["w_hh"].T)
    x = torch.cat([torch.tensor(np.asarray(audio)), torch.tensor(np.asarray(speaker))], -1)
    x = torch.tanh(linear(layer_norm(x, p["input_norm"]), p["fusion"]))
    state = linear(torch.tanh(linear(layer_norm(torch.tensor(np.asarray(init)), p["init_norm"]),
                                     p["init_hidden"])), p["init_state"])
    state = state.reshape(B, 2, 2, 96).permute(1, 2, 0, 3).contiguous()
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(np.asarray(lengths)), batch_first=True,
                                                     enforce_sorted=False)
    out, _ = lstm(packed, (state[0], state[1]))
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=T)
    ref = linear(out, p["head"]).numpy()
  for b, n in enumerate(np.asarray(lengths)):
    np.testing.assert_allclose(ours[b, :n], ref[b, :n], atol=1e-5)
    np.testing.assert_array_equal(ours[b, n:], 0.0)


def test_step_equals_sequence(model_and_vars):
  model, variables = model_and_vars
  audio, speaker, init, _ = _inputs(2)
  apply = _jit_apply(model)
  full = apply(variables, audio, speaker, init, jnp.full((B,), T))
  carry = apply(variables, init, method=ListenerLSTM.initial_carry)
  assert carry.shape == (2, 2, B, 96)
  step = jax.jit(lambda c, a, s: model.apply(variables, c, a, s, method=ListenerLSTM.step))
  outs = []
  for t in range(T):
    carry, out = step(carry, audio[:, t], speaker[:, t])
    outs.append(out)
  np.testing.assert_allclose(np.stack(outs, 1), full, atol=1e-5)


def test_padding_does_not_change_valid_outputs(model_and_vars):
  model, variables = model_and_vars
  audio, speaker, init, lengths = _inputs(3)
  apply = _jit_apply(model)
  out = apply(variables, audio, speaker, init, lengths)
  # Garbage beyond `lengths` and extra padded steps change nothing.
  pad = lambda x: jnp.concatenate([x, 1e3 * jnp.ones_like(x[:, :3])], axis=1)
  valid = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
  noisy_audio = jnp.where(valid[..., None], audio, -50.0)
  out2 = apply(variables, pad(noisy_audio), pad(speaker), init, lengths)
  np.testing.assert_allclose(out2[:, :T], out, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(out2)[~np.pad(valid, ((0, 0), (0, 3)))], 0.0)
  # A sequence alone, unpadded, gives the same rows.
  b, n = 1, int(lengths[1])
  alone = apply(variables, audio[b:b + 1, :n], speaker[b:b + 1, :n], init[b:b + 1], jnp.array([n]))
  np.testing.assert_allclose(out[b, :n], alone[0], atol=1e-5)


def test_custom_backward_matches_autodiff():
  r = np.random.default_rng(4)
  f = lambda *s: jnp.asarray(r.normal(size=s), jnp.float32)
  x, h0, c0, w_ih, w_hh = f(5, 2, 6), f(2, 8), f(2, 8), 0.3 * f(6, 4 * 8), 0.3 * f(8, 4 * 8)
  valid = jnp.asarray(np.arange(5)[:, None, None] < np.array([5, 3])[None, :, None], jnp.float32)
  weights = f(5, 2, 8)

  def loss(fn, x, h, c, wi, wh):
    return jnp.sum(jnp.sin(fn(x, valid, h, c, wi, wh, 1) * weights))

  def plain(x, v, h, c, wi, wh, u):  # autodiff through the forward scan
    return ll._scan_forward(jnp.einsum("tbi,ik->tbk", x, wi), v, h, c, wh, u, keep_residuals=False)

  args = (x, h0, c0, w_ih, w_hh)
  ours = jax.grad(loss, argnums=(1, 2, 3, 4, 5))(ll.run_lstm_layer, *args)
  ref = jax.grad(loss, argnums=(1, 2, 3, 4, 5))(plain, *args)
  for a, b in zip(ours, ref):
    assert np.abs(np.asarray(b)).sum() > 0
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
  np.testing.assert_allclose(plain(x, valid, h0, c0, w_ih, w_hh, 1), ll.run_lstm_layer(*args[:1], valid, *args[1:], 1),
                             atol=1e-6)


@pytest.mark.parametrize("num_layers", [1, 3])
def test_inference_path_equals_masked_training_path(num_layers):
  """Deterministic calls (unmasked layer scans, any unroll) equal the masked per-layer scans."""
  model = ListenerLSTM(num_layers=num_layers, hidden=16, fusion_dim=24, dropout=0.0)
  audio, speaker, init, _ = _inputs(11, batch=3, time=7)
  lengths = jnp.array([7, 4, 0])
  valid = np.arange(7)[None, :] < np.asarray(lengths)[:, None]
  audio = jnp.where(valid[..., None], audio, jnp.nan)  # Garbage (even NaN) beyond `lengths` must not leak.
  variables = jax.jit(model.init)(jax.random.key(1), audio, speaker, init, lengths)
  apply = _jit_apply(model)
  ref = apply(variables, audio, speaker, init, lengths, deterministic=False)  # Masked training scans.
  assert np.isfinite(ref).all()
  for unroll in (1, 2):
    out = _jit_apply(model.clone(infer_unroll=unroll))(variables, audio, speaker, init, lengths)
    np.testing.assert_allclose(out, ref, atol=1e-5, err_msg=f"unroll {unroll}")
    np.testing.assert_array_equal(np.asarray(out)[~valid], 0.0)


def test_inference_stack_gradients_are_the_masked_ones():
  r = np.random.default_rng(12)
  f = lambda *s: jnp.asarray(r.normal(size=s), jnp.float32)
  hidden, num_layers = 8, 3
  x, h0, c0 = f(6, 2, 5), f(num_layers, 2, hidden), f(num_layers, 2, hidden)
  w_ih = tuple(0.3 * f(5 if k == 0 else hidden, 4 * hidden) for k in range(num_layers))
  w_hh = tuple(0.3 * f(hidden, 4 * hidden) for _ in range(num_layers))
  valid = jnp.asarray(np.arange(6)[:, None, None] < np.array([6, 3])[None, :, None], jnp.float32)
  weights = f(6, 2, hidden)

  def loss(fn, *args):
    return jnp.sum(jnp.sin(fn(*args) * weights))

  ours_fn = lambda x, h, c, wi, wh: ll.run_lstm_stack(x, valid, h, c, wi, wh, 1)
  ref_fn = lambda x, h, c, wi, wh: ll._layers_masked(x, valid, h, c, wi, wh, 1)
  args = (x, h0, c0, w_ih, w_hh)
  np.testing.assert_allclose(ours_fn(*args), ref_fn(*args), atol=1e-5)
  ours = jax.jit(jax.grad(lambda *a: loss(ours_fn, *a), argnums=(0, 1, 2, 3, 4)))(*args)
  ref = jax.jit(jax.grad(lambda *a: loss(ref_fn, *a), argnums=(0, 1, 2, 3, 4)))(*args)
  for a, b in zip(jax.tree.leaves(ours), jax.tree.leaves(ref)):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
  assert np.abs(np.asarray(ours[0])).sum() > 0


def test_dropout_masks_differ_per_step(model_and_vars):
  model, variables = model_and_vars
  model = model.clone(dropout=0.5)
  audio, speaker, init, lengths = _inputs(5)
  apply = _jit_apply(model)
  out, state = apply(variables, audio, speaker, init, lengths, deterministic=False,
                     rngs={"dropout": jax.random.key(7)}, mutable=("intermediates",))
  (keep,) = state["intermediates"]["dropout_keep_l1"]
  assert keep.shape == (T, B, 96)
  keep = np.asarray(keep)
  assert all((keep[t] != keep[t + 1]).any() for t in range(T - 1))
  assert 0.35 < keep.mean() < 0.65
  other, _ = apply(variables, audio, speaker, init, lengths, deterministic=False,
                   rngs={"dropout": jax.random.key(8)}, mutable=("intermediates",))
  assert not np.allclose(out, other)


def test_attitude_embedding(model_and_vars):
  model = ListenerLSTM(use_attitude=True)
  _, variables = model_and_vars
  audio, speaker, init, lengths = _inputs(6)
  attitude = jnp.array([0, 1, 2])
  shapes = jax.eval_shape(model.init, jax.random.key(0), audio, speaker, init, lengths, attitude)
  assert shapes["params"]["attitude_embed"]["embedding"].shape == (3, 384)
  assert sum(x.size for x in jax.tree.leaves(shapes)) == 248_449 + 3 * 384
  # Zero-initialised (checked on the task's init in test_task_config_options): it starts as the reference
  # model; a non-zero row changes only its attitude's output.
  apply = _jit_apply(model)
  params = {**variables["params"], "attitude_embed": {"embedding": jnp.zeros((3, 384))}}
  base = apply({"params": params}, audio, speaker, init, lengths, attitude)
  np.testing.assert_allclose(base, _jit_apply(ListenerLSTM())(variables, audio, speaker, init, lengths), atol=1e-6)
  params["attitude_embed"] = {"embedding": jnp.zeros((3, 384)).at[2].set(0.5)}
  moved = apply({"params": params}, audio, speaker, init, lengths, attitude)
  np.testing.assert_allclose(moved[:2], base[:2], atol=1e-6)
  assert not np.allclose(moved[2, :2], base[2, :2])
  with pytest.raises(ValueError, match="attitude"):
    model.apply({"params": params}, audio, speaker, init, lengths)


def test_bfloat16_compute_keeps_float32_params(model_and_vars):
  model = ListenerLSTM(dtype=jnp.bfloat16)
  _, variables = model_and_vars
  audio, speaker, init, lengths = _inputs(7)
  shapes = jax.eval_shape(model.init, jax.random.key(0), audio, speaker, init, lengths)
  assert all(x.dtype == jnp.float32 for x in jax.tree.leaves(shapes))
  out = _jit_apply(model)(variables, audio, speaker, init, lengths)
  ref = _jit_apply(ListenerLSTM())(variables, audio, speaker, init, lengths)
  assert out.dtype == jnp.float32
  np.testing.assert_allclose(out, ref, atol=0.1)


def test_bad_input_width_raises(model_and_vars):
  model, variables = model_and_vars
  audio, speaker, init, lengths = _inputs()
  with pytest.raises(ValueError, match="audio last axis"):
    model.apply(variables, audio[..., :44], speaker, init, lengths)


# -- task ---------------------------------------------------------------------------------------------------


def _config(**model):
  config = ml_collections.ConfigDict()
  config.model_name = "vico_lstm"
  config.model = ml_collections.ConfigDict({"ablation": None, **model})
  config.loss = ml_collections.ConfigDict({"name": "reference"})
  return config


def _batch(seed=0):
  audio, speaker, _, lengths = _inputs(seed)
  listener = jnp.asarray(np.random.default_rng(seed + 1).normal(size=(B, T, 73)), jnp.float32)
  return {"audio": np.asarray(audio), "speaker": np.asarray(speaker), "listener": np.asarray(listener),
          "attitude": np.array([0, 1, 2], np.int32), "lengths": np.asarray(lengths),
          "clip_index": np.arange(B, dtype=np.int32)}


def test_task_loss_predict_and_ablations():
  from listen_jax.tasks import get_task  # pylint: disable=g-import-not-at-top
  from listen_jax.losses import vico as vico_losses  # pylint: disable=g-import-not-at-top

  batch = _batch()
  task = get_task(_config())
  assert task.batch_format == "vico"
  params = jax.jit(task.init)(jax.random.key(0), batch)["params"]
  predict = jax.jit(task.predict)
  pred = predict(params, batch, jax.random.key(1))["listener"]
  assert pred.shape == (B, T, 73)
  np.testing.assert_array_equal(np.asarray(pred)[1, 4:], 0.0)  # beyond lengths
  loss, metrics = jax.jit(task.loss, static_argnums=3)(params, batch, jax.random.key(2), False)
  ref, _ = vico_losses.reference_loss(pred, jnp.asarray(batch["listener"]), jnp.asarray(batch["lengths"]))
  np.testing.assert_allclose(loss, ref, rtol=1e-6)
  assert set(metrics) >= {"loss", "exp", "exp_velocity"}
  train_loss, grads = jax.jit(jax.value_and_grad(lambda p: task.loss(p, batch, jax.random.key(3), True)[0]))(params)
  assert np.isfinite(train_loss) and not np.isclose(train_loss, loss)  # dropout is on
  assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))

  for ablation, zeroed in (("audio_only", "speaker"), ("visual_only", "audio")):
    ablated = jax.jit(get_task(_config(ablation=ablation)).predict)(params, batch, None)["listener"]
    np.testing.assert_allclose(ablated, predict(params, {**batch, zeroed: np.zeros_like(batch[zeroed])}, None)[
        "listener"], atol=1e-6)
    assert not np.allclose(ablated, pred)


def test_task_config_options():
  from listen_jax.tasks import get_task  # pylint: disable=g-import-not-at-top

  batch = _batch(1)
  config = _config(use_attitude=True, hidden=16, dtype="float32")
  config.loss = ml_collections.ConfigDict({"name": "paper", "w1": 0.2, "w2": 1e-3})
  task = get_task(config)
  assert task.model.use_attitude and task.model.hidden == 16
  params = jax.jit(task.init)(jax.random.key(0), batch)["params"]
  np.testing.assert_array_equal(params["attitude_embed"]["embedding"], 0.0)
  loss, metrics = jax.jit(task.loss, static_argnums=3)(params, batch, jax.random.key(1), True)
  np.testing.assert_allclose(loss, metrics["gen"] + 0.2 * metrics["mot_exp"] + 1e-3 * metrics["mot_pose"],
                             rtol=1e-6)
  with pytest.raises(ValueError, match="ablation"):
    get_task(_config(ablation="mute"))
  with pytest.raises(ValueError, match="unknown ListenerLSTM fields"):
    get_task(_config(hiden=3))
  bad = _config()
  bad.loss.name = "l1"
  with pytest.raises(ValueError, match="loss.name"):
    get_task(bad)
