"""Tests of the PyTorch reference listener (the twin `launch.bench --against=torch` times)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from listen_jax.bridge import torch_reference as tr  # noqa: E402
from listen_jax.bridge import torch_weights as tw  # noqa: E402
from listen_jax.models.lstm_listener import ListenerLSTM  # noqa: E402

B, T = 3, 7
LENGTHS = np.array([T, 5, 3], np.int64)
GROUPS = {"angle": (0, 3, 1.0), "exp": (3, 67, 0.001), "trans": (67, 70, 1.0), "crop": (70, 73, 1.0)}


def _inputs(seed=0):
  r = np.random.default_rng(seed)
  f = lambda *s: r.normal(size=s).astype(np.float32)  # noqa: E731
  return f(B, T, 45), f(B, T, 73), f(B, T, 73)


@pytest.fixture(scope="module")
def variables():
  audio, speaker, listener = _inputs()
  return jax.jit(ListenerLSTM().init)(jax.random.key(3), audio, speaker, listener[:, 0], jnp.asarray(LENGTHS))


def test_loads_the_bridge_export_strictly_with_the_reference_names(variables):
  model = tr.from_variables(variables)
  names = set(model.state_dict())
  assert {tw.TORCH_LSTM + f".weight_{a}_l{k}" for a in ("ih", "hh") for k in range(2)} <= names
  assert sum(p.numel() for p in model.parameters()) == 248_449
  # Strict: a state dict missing one tensor does not load.
  state = tw.vico_variables_to_torch(variables)
  state.pop(next(iter(state)))
  with pytest.raises(RuntimeError):
    tr.ReferenceListener().load_state_dict(state, strict=True)


def test_eval_forward_matches_listener_lstm_on_valid_rows(variables):
  audio, speaker, listener = _inputs()
  ours = np.asarray(ListenerLSTM().apply(variables, audio, speaker, listener[:, 0], jnp.asarray(LENGTHS)))
  model = tr.from_variables(variables).eval()
  with torch.no_grad():
    theirs = model(torch.from_numpy(audio), torch.from_numpy(speaker), torch.from_numpy(listener[:, 0]),
                   torch.from_numpy(LENGTHS)).numpy()
  assert theirs.shape == (B, T, 73)
  for b, n in enumerate(LENGTHS):
    np.testing.assert_allclose(theirs[b, :n], ours[b, :n], rtol=2e-5, atol=2e-5)
  # Dropout is active in train mode (the timed training step draws it).
  model.train()
  with torch.no_grad():
    dropped = model(torch.from_numpy(audio), torch.from_numpy(speaker), torch.from_numpy(listener[:, 0]),
                    torch.from_numpy(LENGTHS)).numpy()
  assert not np.allclose(dropped[0], theirs[0], atol=1e-4)


def _numpy_reference_loss(pred, listener, lengths):
  """The reference conventions restated: rows >= length - 1 zeroed, means over all rows (padding included)."""
  rows = (np.arange(T)[None, :] < (lengths[:, None] - 1)).astype(np.float64)[..., None]
  p = pred.astype(np.float64) * rows
  t = np.zeros_like(p)
  t[:, :-1] = listener[:, 1:] * rows[:, :-1]
  loss = 0.0
  for lo, hi, w in GROUPS.values():
    loss += np.linalg.norm(p[..., lo:hi] - t[..., lo:hi] + 1e-6, axis=-1).mean()
    dp, dt = np.diff(p[..., lo:hi], axis=1), np.diff(t[..., lo:hi], axis=1)
    loss += w * np.linalg.norm(dp - dt + 1e-6, axis=-1).mean()
  return loss


def test_reference_loss_follows_the_reference_conventions_and_backpropagates():
  r = np.random.default_rng(1)
  pred = torch.tensor(r.normal(size=(B, T, 73)).astype(np.float32), requires_grad=True)
  listener = r.normal(size=(B, T, 73)).astype(np.float32)
  loss = tr.reference_loss(pred, torch.from_numpy(listener), torch.from_numpy(LENGTHS))
  np.testing.assert_allclose(float(loss.detach()), _numpy_reference_loss(pred.detach().numpy(), listener, LENGTHS),
                             rtol=1e-5)
  loss.backward()
  grad = pred.grad.numpy()
  assert np.isfinite(grad).all()
  # Rows the reference zeroes (t >= length - 1) get no gradient; valid rows do.
  for b, n in enumerate(LENGTHS):
    assert np.all(grad[b, n - 1:] == 0.0) and np.all(np.abs(grad[b, :n - 1]).sum(-1) > 0)


def test_refuses_attitude_weights():
  audio, speaker, listener = _inputs()
  model = ListenerLSTM(use_attitude=True)
  v = jax.jit(model.init)(jax.random.key(0), audio, speaker, listener[:, 0], jnp.asarray(LENGTHS),
                          jnp.zeros((B,), jnp.int32))
  with pytest.raises(tw.TorchWeightsError, match="attitude"):
    tr.from_variables(v)
