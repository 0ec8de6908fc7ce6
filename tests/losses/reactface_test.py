"""Tests of the ReactFace losses (masking, joint neighbour minimum, KL, diversity, smoothness) and its task."""
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from listen_jax.losses import reactface as rl
from listen_jax.tasks import reactface as task_lib


def test_smooth_l1_values():
  x = jnp.array([0.0, 0.5, 1.0, 3.0])
  np.testing.assert_allclose(rl.smooth_l1(x, 0.0), [0.0, 0.125, 0.5, 2.5])


def test_expression_pose_split_by_layout():
  exp, pose = rl.expression_pose_indices(58)
  np.testing.assert_array_equal(exp, np.arange(52))
  np.testing.assert_array_equal(pose, np.arange(52, 58))
  exp, pose = rl.expression_pose_indices(73)
  np.testing.assert_array_equal(exp, np.arange(3, 67))
  np.testing.assert_array_equal(pose, np.r_[0:3, 67:73])
  with pytest.raises(ValueError, match="motion_dim=10"):
    rl.expression_pose_indices(10)


def test_listener_reconstruction_weights_and_masks():
  pred = jnp.zeros((1, 4, 58))
  target = jnp.zeros((1, 4, 58)).at[0, :2, 0].set(0.5).at[0, :2, 55].set(1.0).at[0, 2:].set(100.0)
  loss, parts = rl.listener_reconstruction(pred, target, jnp.array([2]))  # frames 2, 3 are padding
  np.testing.assert_allclose(parts["expression"], 0.125 / 52, rtol=1e-6)
  np.testing.assert_allclose(parts["pose"], 0.5 / 6, rtol=1e-6)
  np.testing.assert_allclose(loss, 0.125 / 52 + 10 * 0.5 / 6, rtol=1e-6)


def test_appropriate_reconstruction_joint_min_over_valid_neighbours():
  t, d = 3, 58
  pred = jnp.zeros((2, t, d))
  nb = np.zeros((2, 4, t, d), np.float32)
  nb[0, 0, :, :52] = 2.0           # bad expression, perfect pose: cost 1.5
  nb[0, 1, :, 52:] = 0.4           # perfect expression, pose cost 10 * 0.08 = 0.8 -> the joint minimum
  nb[0, 2] = 0.0                   # perfect, but masked out
  nb[0, 3, :, :] = 0.2             # cost 0.02 + 10 * 0.02 = 0.22 ... but only after the valid frames
  nb[0, 3, :2] = 3.0               # within the valid frames it is bad
  nb[1] = 1e3                      # item 1 has no valid neighbour: weight 0
  mask = np.array([[1, 1, 0, 1], [0, 0, 0, 0]], bool)
  loss, metrics = rl.appropriate_reconstruction(pred, jnp.asarray(nb), jnp.asarray(mask), jnp.array([2, 3]))
  np.testing.assert_allclose(loss, 10 * 0.5 * 0.4 ** 2, rtol=1e-5)
  assert int(metrics["best"][0]) == 1
  np.testing.assert_allclose(metrics["expression"], 0.0, atol=1e-7)
  # Independent minima (reference code) would mix neighbour 1's expression with neighbour 0's pose (total 0).
  grad = jax.grad(lambda p: rl.appropriate_reconstruction(p, jnp.asarray(nb), jnp.asarray(mask),
                                                          jnp.array([2, 3]))[0])(pred)
  assert np.all(np.asarray(grad[1]) == 0) and np.all(np.asarray(grad[0, 2:]) == 0)


def test_emotion_term_joins_the_cost():
  pred = jnp.zeros((1, 2, 58))
  nb = jnp.zeros((1, 2, 2, 58))
  pe = jnp.zeros((1, 2, 25))
  ne = jnp.zeros((1, 2, 2, 25)).at[0, 0].set(1.0)  # neighbour 0 differs only in emotion
  nb = nb.at[0, 1, :, 0].set(0.1)
  loss, metrics = rl.appropriate_reconstruction(pred, nb, jnp.ones((1, 2), bool), jnp.array([2]), pred_emotion=pe,
                                                neighbour_emotion=ne)
  assert int(metrics["best"][0]) == 1 and "emotion" in metrics
  np.testing.assert_allclose(loss, 0.5 * 0.01 / 52, rtol=1e-5)


def test_pool_levels_keeps_movement_and_shares_the_level():
  nb = np.zeros((1, 3, 4, 2), np.float32)
  nb[0, 0, :, 0] = [1.0, 3.0, 100.0, 100.0]  # level 2 over the 2 valid frames (frames 2, 3 are padding)
  nb[0, 1, :, 0] = [4.0, 4.0, 0.0, 0.0]      # level 4
  nb[0, 2, :, 0] = 50.0                      # masked-out neighbour: does not enter the shared level (3)
  mask = jnp.array([[1, 1, 0]], bool)
  out = np.asarray(rl.pool_levels(jnp.asarray(nb), mask, jnp.array([2])))
  np.testing.assert_allclose(out[0, 0, :2, 0], [2.0, 4.0])  # movement kept, level 2 -> 3
  np.testing.assert_allclose(out[0, 1, :2, 0], [3.0, 3.0])
  np.testing.assert_allclose(out[..., 1], 0.0)
  half = np.asarray(rl.pool_levels(jnp.asarray(nb), mask, jnp.array([2]), 0.5))
  np.testing.assert_allclose(half[0, 1, :2, 0], [3.5, 3.5])
  np.testing.assert_array_equal(np.asarray(rl.pool_levels(jnp.asarray(nb), mask, jnp.array([2]), 0.0)), nb)


def test_pool_levels_toward_the_population_level_of_the_batch():
  # Item 0: neighbours at levels 2 and 4 (and a masked one at 50); item 1: one neighbour at level 9 and a
  # zero-length item 2 whose neighbours must not count. The batch's population level is (2 + 4 + 9) / 3 = 5.
  nb = np.zeros((3, 2, 4, 1), np.float32)
  nb[0, 0, :, 0] = [1.0, 3.0, 100.0, 100.0]
  nb[0, 1, :, 0] = [4.0, 4.0, 0.0, 0.0]
  nb[1, 0, :, 0] = [9.0, 9.0, 9.0, 9.0]
  nb[1, 1, :, 0] = 50.0
  nb[2, :, :, 0] = -70.0
  mask = jnp.array([[1, 1], [1, 0], [1, 1]], bool)
  lengths = jnp.array([2, 4, 0])
  out = np.asarray(rl.pool_levels(jnp.asarray(nb), mask, lengths, 1.0, "population"))
  np.testing.assert_allclose(out[0, 0, :2, 0], [4.0, 6.0])  # movement kept, level 2 -> 5
  np.testing.assert_allclose(out[0, 1, :2, 0], [5.0, 5.0])
  np.testing.assert_allclose(out[1, 0, :, 0], 5.0)
  # Per item ('neighbours') the same batch pools item 1 to its own only neighbour: unchanged.
  own = np.asarray(rl.pool_levels(jnp.asarray(nb), mask, lengths, 1.0, "neighbours"))
  np.testing.assert_allclose(own[1, 0, :, 0], 9.0)
  np.testing.assert_allclose(own[0, 1, :2, 0], [3.0, 3.0])
  with pytest.raises(ValueError, match="toward"):
    rl.pool_levels(jnp.asarray(nb), mask, lengths, 1.0, "dataset")


def test_level_target_is_validated():
  from configs import reactface as rf_config
  from listen_jax.tasks import reactface as rf_task
  config = rf_config.get_config("smoke")
  config.loss.level_target = "everyone"
  with pytest.raises(ValueError, match="level_target"):
    rf_task.loss_settings(config)
  config.loss.level_target = "population"
  config.loss.level_pool = 1.5
  with pytest.raises(ValueError, match="level_pool"):
    rf_task.loss_settings(config)


def test_level_pool_makes_the_level_a_neighbour_average():
  # Two neighbours with the same movement at levels -1 and +1: without pooling a flat prediction at either level
  # is a perfect fit; with full pooling only the shared level 0 is.
  t = 4
  move = np.array([0.0, 0.2, 0.0, -0.2], np.float32)
  nb = np.stack([move - 1.0, move + 1.0])[None, :, :, None] * np.ones((1, 1, 1, 58), np.float32)
  lengths, mask = jnp.array([t]), jnp.ones((1, 2), bool)
  at = lambda level: jnp.asarray(move + level)[None, :, None] * jnp.ones((1, 1, 58))  # noqa: E731
  raw = [float(rl.appropriate_reconstruction(at(v), jnp.asarray(nb), mask, lengths)[0]) for v in (-1.0, 0.0)]
  pooled = [float(rl.appropriate_reconstruction(at(v), jnp.asarray(nb), mask, lengths, level_pool=1.0)[0])
            for v in (-1.0, 0.0)]
  assert raw[0] == pytest.approx(0.0, abs=1e-7) and raw[1] > 0.1
  assert pooled[1] == pytest.approx(0.0, abs=1e-7) and pooled[0] > 0.1


def test_kl_divergence_masks_windows():
  mu = jnp.zeros((2, 3, 4)).at[:, 2].set(5.0)
  logvar = jnp.zeros((2, 3, 4))
  np.testing.assert_allclose(rl.kl_divergence(mu, logvar, jnp.array([8, 5]), 4), 0.0)  # window 2 starts at 8
  full = rl.kl_divergence(mu, logvar, jnp.array([12, 12]), 4)
  np.testing.assert_allclose(full, 12.5 / 3, rtol=1e-6)
  lv = jnp.full((1, 1, 2), jnp.log(2.0))
  np.testing.assert_allclose(rl.kl_divergence(jnp.zeros((1, 1, 2)), lv, jnp.array([1]), 4),
                             0.5 * (2.0 - 1.0 - np.log(2.0)), rtol=1e-6)


def test_diversity_rbf():
  y = jnp.zeros((2, 1, 4, 58))
  np.testing.assert_allclose(rl.diversity(y, jnp.array([4])), 1.0)
  y2 = y.at[1, 0, 0, :2].set(5.0).at[1, 0, 3].set(1e3)  # frame 3 is padding
  np.testing.assert_allclose(rl.diversity(y2, jnp.array([3])), np.exp(-50.0 / 100.0), rtol=1e-6)
  y3 = jnp.stack([y[0], y[0], y[0] + 1.0])  # pairs: d2 = 0, 232, 232 over 4 frames x 58 dims
  np.testing.assert_allclose(rl.diversity(y3, jnp.array([4]), scale=232.0), (1 + 2 * np.exp(-1.0)) / 3, rtol=1e-6)
  with pytest.raises(ValueError):
    rl.diversity(y[:1], jnp.array([4]))


def test_smoothness_second_order():
  t = jnp.arange(6, dtype=jnp.float32)[None, :, None]
  linear = jnp.broadcast_to(t, (1, 6, 58))
  np.testing.assert_allclose(rl.smoothness(linear, jnp.array([6])), 0.0, atol=1e-6)
  bump = jnp.zeros((1, 6, 58)).at[0, 2, 52:].set(0.5).at[0, 5].set(1e3)  # frame 5 is padding
  # accel on pose dims at t=1..3: 0.5, -1, 0.5 -> SL1 0.125, 0.5, 0.125 over 3 valid triples.
  np.testing.assert_allclose(rl.smoothness(bump, jnp.array([5])), 0.75 / 3, rtol=1e-6)
  bump_exp = jnp.zeros((1, 6, 58)).at[0, 2, :52].set(0.5)
  np.testing.assert_allclose(rl.smoothness(bump_exp, jnp.array([5])), 0.1 * 0.75 / 3, rtol=1e-6)


def test_speaker_reconstruction_masked():
  pred = jnp.zeros((2, 3, 58))
  target = jnp.zeros((2, 3, 58)).at[0, 2].set(9.0).at[1].set(0.5)
  np.testing.assert_allclose(rl.speaker_reconstruction(pred, target, jnp.array([2, 0])), 0.0)
  np.testing.assert_allclose(rl.speaker_reconstruction(pred, target, jnp.array([2, 3])), 0.125 / 2, rtol=1e-6)


# ------------------------------------------------------------------------------------------------- task


def _batch(b=2, w=8, k=3, emotion=True, d=58):
  r = np.random.RandomState(0)
  batch = {"speaker_audio": r.randn(b, 2 * w, 5).astype("f4"), "speaker_3dmm": r.randn(b, w, d).astype("f4"),
           "listener_3dmm": r.randn(b, w, d).astype("f4"), "neighbour_3dmm": r.randn(b, k, w, d).astype("f4"),
           "neighbour_mask": np.array([[1, 0, 1], [1, 1, 1]][:b], bool)[:, :k],
           "lengths": np.array([w, w - 3][:b], np.int32), "clip_index": np.arange(b, dtype=np.int32)}
  if emotion:
    batch.update(speaker_emotion=r.rand(b, w, 25).astype("f4"), listener_emotion=r.rand(b, w, 25).astype("f4"),
                 neighbour_emotion=r.rand(b, k, w, 25).astype("f4"))
  return batch


def _config(**loss):
  return ml_collections.ConfigDict({
      "model_name": "reactface",
      "model": {"feature_dim": 16, "num_heads": 2, "ffn_dim": 16, "period": 2, "window": 4, "latent_dim": 8,
                "vae_ffn_dim": 16, "vae_num_heads": 2, "vae_layers": 1, "decoder_latent_layers": 1,
                "speaker_layers": 1},
      "loss": loss})


def _params(task, batch):
  """Shapes from `task.init` (traced), values from NumPy: avoids compiling flax's threefry initialisers."""
  shapes = jax.eval_shape(task.init, jax.random.key(0), batch)["params"]
  r = np.random.RandomState(1)
  return jax.tree.map(lambda s: jnp.asarray(0.3 * r.randn(*s.shape), s.dtype), shapes)


def _compile(fn, *args):
  """jit + compile at XLA backend optimisation level 0 (halves CPU compile time of the window scan's gradient)."""
  return jax.jit(fn).lower(*args).compile(compiler_options={"xla_backend_optimization_level": 0})


def test_task_stage2_loss_gradients_and_predict():
  from listen_jax import tasks  # the registry resolves 'reactface' to this task

  task = tasks.get_task(_config(stage=2, num_samples=2))
  assert task.batch_format == "reaction" and task.model.motion_dim is None
  batch = _batch()
  params = _params(task, batch)
  assert params["speaker"]["recon_out"]["kernel"].shape == (16, 58)  # dims read from the batch
  loss_and_grad = _compile(jax.value_and_grad(lambda p, r: task.loss(p, batch, r, True), has_aux=True),
                           params, jax.random.key(3))
  (loss, metrics), grads = loss_and_grad(params, jax.random.key(3))
  assert np.isfinite(float(loss))
  assert all(np.all(np.isfinite(np.asarray(g))) for g in jax.tree.leaves(grads))
  assert float(optax_norm(grads)) > 0
  assert {"rec", "kl", "smooth", "speaker", "expression", "pose", "emotion", "div"} <= set(metrics)
  s = task_lib.loss_settings(_config(stage=2))
  expected = (metrics["rec"] + s["kl"] * metrics["kl"] + s["smooth"] * metrics["smooth"] + metrics["speaker"]
              + s["readout"] * metrics["readout"]
              + s["div"] * metrics["div"])
  np.testing.assert_allclose(loss, expected, rtol=1e-5)
  predict = _compile(task.predict, params, batch, jax.random.key(4))
  pred = predict(params, batch, jax.random.key(4))
  assert pred["motion"].shape == (2, 8, 58) and pred["emotion"].shape == (2, 8, 25)
  np.testing.assert_array_equal(pred["motion"], predict(params, batch, jax.random.key(4))["motion"])
  assert np.abs(pred["motion"] - predict(params, batch, jax.random.key(5))["motion"]).max() > 1e-5


def optax_norm(tree):
  return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


def test_task_stage1_uses_the_real_listener():
  task = task_lib.make_task(_config(stage=1))
  batch = _batch()
  params = _params(task, batch)
  loss_fn = _compile(lambda p, b, r: task.loss(p, b, r, False), params, batch, jax.random.key(3))
  loss, metrics = loss_fn(params, batch, jax.random.key(3))
  assert "div" not in metrics and np.isfinite(float(loss))
  s = task_lib.loss_settings(_config(stage=1))
  assert float(metrics["readout"]) > 0.0  # The emotion readout is fitted on the real listener's pairs.
  np.testing.assert_allclose(loss, metrics["rec"] + s["kl"] * metrics["kl"] + s["smooth"] * metrics["smooth"]
                             + metrics["speaker"] + s["readout"] * metrics["readout"], rtol=1e-5)
  # Neighbours do not enter stage 1; the listener does.
  moved = dict(batch, neighbour_3dmm=batch["neighbour_3dmm"] + 5.0)
  np.testing.assert_allclose(loss_fn(params, moved, jax.random.key(3))[0], loss, rtol=1e-6)
  moved = dict(batch, listener_3dmm=batch["listener_3dmm"] + 5.0)
  assert float(loss_fn(params, moved, jax.random.key(3))[0]) > float(loss) + 1.0


def test_task_vico_dims_and_config_errors():
  task = task_lib.make_task(_config())
  batch = _batch(emotion=False, d=73, k=1)
  shapes = jax.eval_shape(task.init, jax.random.key(0), batch)["params"]
  assert shapes["cell"]["motion_head"]["kernel"].shape == (16, 73) and "emotion_head" not in shapes["cell"]
  out = jax.eval_shape(task.predict, shapes, batch, jax.random.key(0))
  assert set(out) == {"motion"} and out["motion"].shape == (2, 8, 73)
  bad = _config()
  bad.model.motion_dim = 58
  with pytest.raises(ValueError, match="motion_dim"):
    jax.eval_shape(task_lib.make_task(bad).init, jax.random.key(0), batch)
  with pytest.raises(ValueError, match="unknown"):
    task_lib.make_task(_config(weight=1.0))


def test_motion_energy_compares_masked_temporal_std():
  lengths = jnp.array([4, 2, 1])
  target = jnp.zeros((3, 6, 2)).at[0, :4, 0].set(jnp.array([1.0, -1.0, 1.0, -1.0]))
  target = target.at[:, 4:].set(1e3)  # padding must be ignored
  # Item 0: target std [1, 0]; a flat prediction misses 1 on dim 0. Item 1: both flat. Item 2: one frame, ignored.
  pred = jnp.zeros((3, 6, 2)).at[1, :2, 1].set(jnp.array([2.0, 0.0])).at[2].set(5.0)
  np.testing.assert_allclose(rl.temporal_std(target, lengths)[0], [1.0, 0.0], atol=2e-3)
  # Item 0 gap mean(|0 - 1|, |0 - 0|) = 0.5; item 1 gap mean(0, |1 - 0|) = 0.5.
  np.testing.assert_allclose(rl.motion_energy(pred, target, lengths), 0.5, atol=2e-3)
  np.testing.assert_allclose(rl.motion_energy(target, target, lengths), 0.0, atol=1e-6)
