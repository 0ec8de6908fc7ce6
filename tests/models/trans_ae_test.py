"""Tests of the Trans-AE baseline: shapes, strict per-frame causality, loss masking, task predict, smoke training."""
import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import trans_ae as trans_ae_config
from listen_jax import tasks
from listen_jax.models import trans_ae
from listen_jax.models.trans_ae import TransAE
from listen_jax.train import trainer

F = 6  # log-mel bins
T = 10  # frames per test clip


def tiny(motion_dim, emotion_dim, **kw):
  return TransAE(feature_dim=16, num_heads=2, ffn_dim=32, period=3, dropout=0.0, motion_dim=motion_dim,
                 emotion_dim=emotion_dim, **kw)


def inputs(b, t, d, e, seed=0):
  r = np.random.RandomState(seed)
  audio = jnp.asarray(r.randn(b, 2 * t, F), jnp.float32)
  motion = jnp.asarray(r.randn(b, t, d), jnp.float32)
  emotion = jnp.asarray(r.rand(b, t, e), jnp.float32) if e else None
  return audio, motion, emotion


def random_params(init_fn, *args):
  """Variables with `init_fn`'s shapes filled from NumPy (skips compiling flax's threefry initialisers, which
  dominates test time on CPU)."""
  shapes = jax.eval_shape(init_fn, jax.random.key(0), *args)
  r = np.random.RandomState(123)

  def fill(path, s):
    if jax.tree_util.keystr(path).endswith("['scale']"):
      return jnp.asarray(1.0 + 0.1 * r.randn(*s.shape), s.dtype)
    fan_in = int(np.prod(s.shape[:-1])) if len(s.shape) > 1 else 10
    return jnp.asarray(r.randn(*s.shape) / np.sqrt(fan_in), s.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


def reaction_batch(b, t, d, e, lengths, seed=0):
  audio, motion, emotion = inputs(b, t, d, e, seed)
  r = np.random.RandomState(seed + 100)
  batch = {"speaker_audio": audio, "speaker_3dmm": motion, "listener_3dmm": jnp.asarray(r.randn(b, t, d)),
           "lengths": jnp.asarray(lengths, jnp.int32), "clip_index": jnp.arange(b, dtype=jnp.int32)}
  if e:
    batch["speaker_emotion"] = emotion
    batch["listener_emotion"] = jnp.asarray(r.rand(b, t, e), jnp.float32)
  return batch


@pytest.mark.parametrize("bias,positions,pool", [("alibi", "periodic", "concat"), ("mask", "absolute", "mean")])
def test_react_shapes_and_emotion_ranges(bias, positions, pool):
  model = tiny(58, 25, bias=bias, positions=positions, audio_pool=pool)
  args = inputs(2, T, 58, 25)
  params = random_params(model.init, *args)
  out = jax.jit(model.apply)(params, *args)
  assert set(out) == {"motion", "emotion"}
  assert out["motion"].shape == (2, T, 58) and out["emotion"].shape == (2, T, 25)
  emo = np.asarray(out["emotion"])
  assert np.all((emo[..., :15] > 0) & (emo[..., :15] < 1)) and np.all(np.abs(emo[..., 15:17]) < 1)
  np.testing.assert_allclose(emo[..., 17:].sum(-1), 1.0, atol=1e-5)
  assert np.all(np.isfinite(np.asarray(out["motion"])))


def test_vico_shapes_without_emotion():
  model = tiny(73, 0)
  audio, motion, _ = inputs(3, T, 73, 0)
  params = random_params(model.init, audio, motion)
  out = jax.jit(model.apply)(params, audio, motion)
  assert set(out) == {"motion"} and out["motion"].shape == (3, T, 73)


def test_bad_shapes_are_clear_errors():
  model = tiny(58, 25)
  audio, motion, emotion = inputs(1, T, 58, 25)
  with pytest.raises(ValueError, match="speaker_audio"):
    model.init(jax.random.key(0), audio[:, :-1], motion, emotion)
  with pytest.raises(ValueError, match="speaker_emotion"):
    model.init(jax.random.key(0), audio, motion, None)
  with pytest.raises(ValueError, match="bias"):
    tiny(58, 25, bias="future").init(jax.random.key(0), audio, motion, emotion)


@pytest.mark.parametrize("bias", ["alibi", "mask"])
def test_strictly_causal(bias):
  """Changing speaker inputs from frame t on leaves every output before t unchanged (and changes frame t)."""
  model = tiny(58, 25, bias=bias)
  audio, motion, emotion = inputs(2, T, 58, 25)
  params = random_params(model.init, audio, motion, emotion)
  apply = jax.jit(model.apply)
  base = apply(params, audio, motion, emotion)
  r = np.random.RandomState(7)
  for t in (0, 4, T - 1):
    cases = {
        "audio": (audio.at[:, 2 * t:].add(r.randn(2, 2 * (T - t), F)), motion, emotion),
        "3dmm": (audio, motion.at[:, t:].add(r.randn(2, T - t, 58)), emotion),
        "emotion": (audio, motion, emotion.at[:, t:].add(r.rand(2, T - t, 25))),
    }
    for name, args in cases.items():
      out = apply(params, *args)
      for key in ("motion", "emotion"):
        np.testing.assert_allclose(out[key][:, :t], base[key][:, :t], atol=1e-5, err_msg=f"{name} t={t} {key}")
        assert np.abs(np.asarray(out[key][:, t:] - base[key][:, t:])).max() > 1e-6, (name, t, key)


def test_causal_bias_forms():
  alibi = np.asarray(trans_ae.causal_bias(2, 5, 2, "alibi"))
  assert alibi.shape == (2, 5, 5)
  np.testing.assert_allclose(alibi[0, 4, :], [-1.0, -0.5, -0.5, 0.0, 0.0])  # -2^-1 * floor((4 - j) / 2)
  assert np.all(np.isneginf(alibi[:, np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]]))
  mask = np.asarray(trans_ae.causal_bias(2, 5, 2, "mask"))
  np.testing.assert_array_equal(mask[0], np.where(np.tril(np.ones((5, 5))) > 0, 0.0, -np.inf))
  x = jnp.arange(2 * 8 * 3, dtype=jnp.float32).reshape(2, 8, 3)
  np.testing.assert_array_equal(trans_ae.pool_audio(x, "concat")[:, 1], np.concatenate([x[:, 2], x[:, 3]], -1))
  np.testing.assert_allclose(trans_ae.pool_audio(x, "mean")[:, 1], (x[:, 2] + x[:, 3]) / 2)


def _task(**loss):
  c = ml_collections.ConfigDict({"model_name": "trans_ae",
                                 "model": {"feature_dim": 16, "num_heads": 2, "ffn_dim": 32, "period": 3},
                                 "loss": loss})
  return tasks.get_task(c)


LENGTHS = [6, 0, T]  # a partial clip, an empty padding row, a full clip


@pytest.fixture(scope="module")
def react_task():
  """Tiny task on a REACT-shaped batch; one jitted predict serves every test."""
  task = _task()
  batch = reaction_batch(3, T, 58, 25, LENGTHS)
  params = random_params(task.init, batch)["params"]
  return task, params, batch, jax.jit(task.predict)


@pytest.mark.parametrize("error", ["smooth_l1", "mse"])
def test_loss_ignores_padding_beyond_lengths(react_task, error):
  _, params, batch, predict = react_task
  task = _task(error=error, pose=10.0, emotion=2.0)
  assert task.batch_format == "reaction"
  loss_fn = jax.jit(lambda p, b: task.loss(p, b, jax.random.key(1), False))
  loss, metrics = loss_fn(params, batch)
  assert set(metrics) == {"rec", "expression", "pose", "emotion"}
  # The value by hand: per valid item exp + 10 pose + 2 emotion masked means; the empty row is left out.
  pred = predict(params, batch, jax.random.key(2))
  err = {"smooth_l1": lambda d: np.where(np.abs(d) < 1, 0.5 * d * d, np.abs(d) - 0.5), "mse": np.square}[error]
  expected = []
  for i, n in enumerate(LENGTHS):
    if n:
      m = err(np.asarray(pred["motion"][i, :n]) - np.asarray(batch["listener_3dmm"][i, :n]))
      e = err(np.asarray(pred["emotion"][i, :n]) - np.asarray(batch["listener_emotion"][i, :n]))
      expected.append(m[:, :52].mean() + 10.0 * m[:, 52:].mean() + 2.0 * e.mean())
  np.testing.assert_allclose(float(loss), np.mean(expected), rtol=1e-5)
  # Garbage in every padded frame (targets and speaker inputs, the empty row entirely) changes nothing.
  r = np.random.RandomState(3)
  valid = np.arange(T)[None, :] < np.asarray(LENGTHS)[:, None]
  padded = dict(batch)
  for key in ("speaker_3dmm", "listener_3dmm", "speaker_emotion", "listener_emotion"):
    x = np.asarray(batch[key])
    padded[key] = jnp.asarray(np.where(valid[..., None], x, 50.0 * r.randn(*x.shape)), jnp.float32)
  audio_valid = np.repeat(valid, 2, axis=1)[..., None]
  padded["speaker_audio"] = jnp.asarray(np.where(audio_valid, batch["speaker_audio"],
                                                 9.0 * r.randn(*batch["speaker_audio"].shape)), jnp.float32)
  loss2, metrics2 = loss_fn(params, padded)
  np.testing.assert_allclose(float(loss2), float(loss), rtol=1e-6)
  for k in metrics:
    np.testing.assert_allclose(float(metrics2[k]), float(metrics[k]), rtol=1e-6)
  # Changing a valid target frame does change it.
  moved = dict(batch, listener_3dmm=batch["listener_3dmm"].at[0, 2].add(1.0))
  assert abs(float(loss_fn(params, moved)[0]) - float(loss)) > 1e-6


def test_predict_is_deterministic(react_task):
  _, params, batch, predict = react_task
  a = predict(params, batch, jax.random.key(1))
  b = predict(params, batch, jax.random.key(2))
  assert set(a) == {"motion", "emotion"}
  assert a["motion"].shape == (3, T, 58) and a["emotion"].shape == (3, T, 25)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])


def test_vico_task_predicts_motion_only():
  task = _task()
  batch = reaction_batch(2, T, 73, 0, [T, 5])
  params = random_params(task.init, batch)["params"]
  out = jax.eval_shape(task.predict, params, batch, jax.random.key(0))
  assert set(out) == {"motion"} and out["motion"].shape == (2, T, 73)
  loss, metrics = jax.eval_shape(lambda p: task.loss(p, batch, jax.random.key(0), True), params)
  assert loss.shape == () and set(metrics) == {"rec", "expression", "pose"}


def test_config_variants():
  for arg in ("", "smoke", "quick", "reference", "quick,vico"):
    c = trans_ae_config.get_config(arg)
    assert c.model_name == "trans_ae"
    tasks.get_task(c)  # every variant builds
  assert trans_ae_config.get_config("quick,vico").dataset == "vico/raw"
  with pytest.raises(ValueError, match="variants"):
    trans_ae_config.get_config("huge")


def test_smoke_training_learns(react_data_dir, tmp_path):
  c = trans_ae_config.get_config("smoke")
  c.data_dir = react_data_dir
  w = str(tmp_path / "w")
  last = trainer.train_and_evaluate(c, w)
  with open(os.path.join(w, "metrics.jsonl"), encoding="utf-8") as f:
    records = [json.loads(line) for line in f]
  assert [r["step"] for r in records] == [10, 20]
  assert all(np.isfinite(r["loss"]) and np.isfinite(r["emotion"]) for r in records)
  assert records[-1]["loss"] < records[0]["loss"]
  assert last["loss"] == pytest.approx(records[-1]["loss"])
  assert os.path.isdir(os.path.join(w, "checkpoints"))
