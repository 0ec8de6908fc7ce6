"""Tests of streaming listener inference."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from listen_jax.infer import ListenerStream
from listen_jax.models.lstm_listener import ListenerLSTM

T = 12


@pytest.fixture(scope="module")
def setup():
  r = np.random.default_rng(0)
  stats = {"audio/mean": r.normal(size=45), "audio/std": r.uniform(0.5, 2.0, 45),
           "motion/mean": r.normal(size=73), "motion/std": r.uniform(0.5, 2.0, 73)}
  stats = {k: v.astype(np.float32) for k, v in stats.items()}
  model = ListenerLSTM(use_attitude=True)
  params = jax.jit(ListenerLSTM().init)(jax.random.key(0), jnp.zeros((1, 2, 45)), jnp.zeros((1, 2, 73)),
                                        jnp.zeros((1, 73)), jnp.array([2]))["params"]
  embed = jnp.asarray(r.normal(size=(3, 384)) * 0.3, jnp.float32)
  variables = {"params": {**params, "attitude_embed": {"embedding": embed}}}
  return model, variables, stats, r


def _offline(model, variables, stats, audio, speaker, first, attitude):
  """Whole-sequence call on z-scored inputs, de-normalised: [S, T, 73] raw predictions of frames 1..T."""
  z = lambda x, g: (x - stats[f"{g}/mean"]) / stats[f"{g}/std"]
  out = jax.jit(model.apply)(variables, z(audio, "audio"), z(speaker, "motion"), z(first, "motion"),
                             jnp.full((audio.shape[0],), audio.shape[1]), jnp.asarray(attitude))
  return np.asarray(out) * stats["motion/std"] + stats["motion/mean"]


def test_single_stream_equals_offline(setup):
  model, variables, stats, r = setup
  audio = (r.normal(size=(1, T, 45)) * 3).astype(np.float32)
  speaker = (r.normal(size=(1, T, 73)) * 2).astype(np.float32)
  first = r.normal(size=(1, 73)).astype(np.float32)
  stream = ListenerStream(model, variables, stats, first[0], attitude=2)
  assert stream.single and stream.num_streams == 1
  outs = [stream.push(audio[0, t], speaker[0, t]) for t in range(T)]
  assert outs[0].shape == (73,)
  offline = _offline(model, variables, stats, audio, speaker, first, [2])
  np.testing.assert_allclose(np.stack(outs), offline[0], atol=1e-5, rtol=1e-5)
  # float64 host frames are accepted too.
  stream2 = ListenerStream(model, variables, stats, first[0].astype(np.float64), attitude=2)
  np.testing.assert_allclose(stream2.push(audio[0, 0].astype(np.float64), speaker[0, 0].astype(np.float64)),
                             offline[0, 0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("residual,relative", [(False, False), (True, False), (True, True)])
def test_concurrent_streams_equal_offline(setup, residual, relative):
  model, variables, stats, r = setup
  model = model.clone(residual=residual, relative_speaker=relative)
  streams = 3
  audio = r.normal(size=(streams, T, 45)).astype(np.float32)
  speaker = r.normal(size=(streams, T, 73)).astype(np.float32)
  first = r.normal(size=(streams, 73)).astype(np.float32)
  attitude = np.array([0, 2, 1])
  stream = ListenerStream(model, variables, stats, first, attitude=attitude)
  assert not stream.single and stream.carry.shape == (2, 2, streams, 96)
  outs = np.stack([np.asarray(stream.push(audio[:, t], speaker[:, t])) for t in range(T)], axis=1)
  np.testing.assert_allclose(outs, _offline(model, variables, stats, audio, speaker, first, attitude),
                             atol=1e-5, rtol=1e-5)
  # Streams are independent: a different attitude changes only that stream.
  other = ListenerStream(model, variables, stats, first, attitude=np.array([0, 2, 2]))
  frame = np.asarray(other.push(audio[:, 0], speaker[:, 0]))
  np.testing.assert_allclose(frame[:2], outs[:2, 0], atol=1e-5, rtol=1e-5)
  assert not np.allclose(frame[2], outs[2, 0])


def test_bad_inputs_raise(setup):
  model, variables, stats, _ = setup
  first = np.zeros(73, np.float32)
  stream = ListenerStream(model, variables, stats, first, attitude=0)
  with pytest.raises(ValueError, match="expected audio"):
    stream.push(np.zeros(44, np.float32), np.zeros(73, np.float32))
  with pytest.raises(ValueError, match="attitude"):
    ListenerStream(model, variables, stats, first)
  with pytest.raises(KeyError, match="motion/std"):
    ListenerStream(model, variables, {k: v for k, v in stats.items() if k != "motion/std"}, first, attitude=0)
  with pytest.raises(ValueError, match="first_frame"):
    ListenerStream(model, variables, stats, np.zeros((2, 3, 73)), attitude=0)


def test_residual_adds_the_reference_frame(setup):
  model, variables, stats, r = setup
  audio = r.normal(size=(2, 5, 45)).astype(np.float32)
  speaker = r.normal(size=(2, 5, 73)).astype(np.float32)
  init = r.normal(size=(2, 73)).astype(np.float32)
  lengths, att = jnp.array([5, 3]), jnp.array([0, 1])
  plain = jax.jit(model.apply)(variables, audio, speaker, init, lengths, att)
  res = jax.jit(model.clone(residual=True).apply)(variables, audio, speaker, init, lengths, att)
  np.testing.assert_allclose(res[0], plain[0] + init[0], atol=1e-6)
  np.testing.assert_allclose(res[1, :3], plain[1, :3] + init[1], atol=1e-6)
  np.testing.assert_array_equal(res[1, 3:], 0.0)  # Padded rows stay zero.


@pytest.mark.parametrize("dtype,num_layers,atol", [(jnp.float32, 3, 1e-5), (jnp.bfloat16, 2, 0.1)])
def test_other_architectures_and_dtypes_equal_offline(dtype, num_layers, atol):
  """Three layers (float32) and bfloat16 matmuls: the stream follows the offline call."""
  r = np.random.default_rng(3)
  stats = {"audio/mean": r.normal(size=45), "audio/std": r.uniform(0.5, 2.0, 45),
           "motion/mean": r.normal(size=73), "motion/std": r.uniform(0.5, 2.0, 73)}
  model = ListenerLSTM(num_layers=num_layers, hidden=16, fusion_dim=24, residual=True, relative_speaker=True,
                       dtype=dtype)
  variables = jax.jit(model.init)(jax.random.key(2), jnp.zeros((1, 2, 45)), jnp.zeros((1, 2, 73)),
                                  jnp.zeros((1, 73)), jnp.array([2]))
  audio = r.normal(size=(1, 6, 45)).astype(np.float32)
  speaker = r.normal(size=(1, 6, 73)).astype(np.float32)
  first = r.normal(size=(1, 73)).astype(np.float32)
  stream = ListenerStream(model, variables, stats, first[0])
  assert stream.carry.shape == (2, num_layers, 1, 16)
  outs = np.stack([np.asarray(stream.push(audio[0, t], speaker[0, t])) for t in range(6)])
  offline = _offline(model, variables, {k: v.astype(np.float32) for k, v in stats.items()}, audio, speaker, first,
                     [0])
  np.testing.assert_allclose(outs, offline[0], atol=atol, rtol=atol)
