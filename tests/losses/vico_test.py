"""Tests of the masked ViCo listener losses."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from listen_jax.losses import vico

ANGLE, EXP, TRANS, CROP = slice(0, 3), slice(3, 67), slice(67, 70), slice(70, 73)


def _hand_case():
  """Two windows with zero predictions; the second has one valid row and no velocity pair.

  Window 0 (length 3): target row 1 = angle (3, 4, 0), exp[0] = 2; row 2 = trans (0, 0, 1); row 3 = padding.
  Window 1 (length 2): target row 1 = exp[5] = 4; rows 2, 3 = padding.
  """
  target = np.zeros((2, 4, 73), np.float32)
  target[0, 1, ANGLE] = [3, 4, 0]
  target[0, 1, EXP.start] = 2
  target[0, 2, TRANS] = [0, 0, 1]
  target[1, 1, EXP.start + 5] = 4
  target[0, 3] = 77.0  # garbage in padding
  target[1, 2:] = -5.0
  pred = np.zeros_like(target)
  pred[0, 2:] = 9.0  # rows >= length - 1 predict nothing
  pred[1, 1:] = -3.0
  return jnp.asarray(pred), jnp.asarray(target), jnp.array([3, 2])


def test_reference_loss_hand_computed():
  pred, target, lengths = _hand_case()
  loss, terms = vico.reference_loss(pred, target, lengths, eps=0.0)
  # Valid rows: (w0, t0), (w0, t1), (w1, t0) -> per-group norms angle (5, 0, 0), exp (2, 0, 4), trans (0, 1, 0).
  # One valid pair (w0: t0, t1): velocity = target row 1 - target row 2 -> angle 5, exp 2, trans 1.
  expected = {"angle": 5 / 3, "exp": 2.0, "trans": 1 / 3, "crop": 0.0,
              "angle_velocity": 5.0, "exp_velocity": 2.0, "trans_velocity": 1.0, "crop_velocity": 0.0}
  for key, value in expected.items():
    np.testing.assert_allclose(terms[key], value, rtol=1e-6, atol=1e-7, err_msg=key)
  np.testing.assert_allclose(loss, 5 / 3 + 2 + 1 / 3 + 5 + 0.001 * 2 + 1, rtol=1e-6)
  weighted, _ = vico.reference_loss(pred, target, lengths, weights={"exp": 0.5, "crop_velocity": 3.0}, eps=0.0)
  np.testing.assert_allclose(weighted, loss - 0.5 * 2.0, rtol=1e-6)


def test_reference_loss_default_eps_matches_pairwise_distance():
  pred, target, lengths = _hand_case()
  loss, terms = vico.reference_loss(pred, target, lengths)
  # ||d + 1e-6 * 1||: e.g. the crop norm of a zero residual is 1e-6 * sqrt(3).
  np.testing.assert_allclose(terms["crop"], 1e-6 * np.sqrt(3), rtol=1e-3)
  np.testing.assert_allclose(loss, 10.002, rtol=1e-5)


def test_paper_loss_hand_computed():
  pred, target, lengths = _hand_case()
  loss, terms = vico.paper_loss(pred, target, lengths)
  # exp norms per valid row (2, 0, 4); pose (angle, trans, crop) norms (5, 1, 0); one pair: exp 2,
  # pose |(3, 4, 0, 0, 0, -1, 0, 0, 0)| = sqrt(26).
  np.testing.assert_allclose(terms["gen_exp"], 2.0, rtol=1e-6)
  np.testing.assert_allclose(terms["gen_pose"], 2.0, rtol=1e-6)
  np.testing.assert_allclose(terms["mot_exp"], 2.0, rtol=1e-6)
  np.testing.assert_allclose(terms["mot_pose"], np.sqrt(26), rtol=1e-6)
  np.testing.assert_allclose(loss, 4.0 + 0.1 * 2.0 + 1e-4 * np.sqrt(26), rtol=1e-6)
  strict, strict_terms = vico.paper_loss(pred, target, lengths, w1=1.0, w2=1.0, include_crop=False)
  np.testing.assert_allclose(strict_terms["gen_pose"], 2.0, rtol=1e-6)
  np.testing.assert_allclose(strict, 4.0 + 2.0 + np.sqrt(26), rtol=1e-6)


@pytest.mark.parametrize("loss_fn", [vico.reference_loss, vico.paper_loss])
def test_padding_invariance(loss_fn):
  r = np.random.default_rng(0)
  batch, time = 3, 7
  pred = jnp.asarray(r.normal(size=(batch, time, 73)), jnp.float32)
  target = jnp.asarray(r.normal(size=(batch, time, 73)), jnp.float32)
  lengths = jnp.array([7, 4, 1])
  loss_and_grad = jax.jit(jax.value_and_grad(lambda p, t: loss_fn(p, t, lengths)[0]))
  loss, grad = loss_and_grad(pred, target)
  assert np.isfinite(loss)
  # Padding of 5 more steps, garbage (inf/NaN/huge) beyond `lengths` in both pred and target.
  garbage = np.full((batch, time + 5, 73), np.nan, np.float32)
  garbage[:, ::2] = 1e30
  valid = np.arange(time + 5)[None, :] < np.asarray(lengths)[:, None]
  big_pred = np.where(valid[..., None], np.pad(np.asarray(pred), ((0, 0), (0, 5), (0, 0))), garbage)
  big_target = np.where(valid[..., None], np.pad(np.asarray(target), ((0, 0), (0, 5), (0, 0))), -garbage)
  # The last valid prediction row (t = length - 1) predicts nothing: garbage there too.
  big_pred[1, 3] = np.inf
  loss2, grad2 = loss_and_grad(jnp.asarray(big_pred), jnp.asarray(big_target))
  np.testing.assert_allclose(loss2, loss, rtol=1e-6)
  grad2 = np.asarray(grad2)
  assert np.isfinite(grad2).all()
  np.testing.assert_allclose(grad2[:, :time][valid[:, :time]], np.asarray(grad)[valid[:, :time]], rtol=1e-5,
                             atol=1e-7)
  assert not grad2[~valid].any() and not grad2[1, 3].any()


def test_finite_gradient_at_zero_and_row_mean():
  r = np.random.default_rng(1)
  target = jnp.asarray(r.normal(size=(1, 5, 73)), jnp.float32)
  pred = jnp.concatenate([target[:, 1:], jnp.zeros_like(target[:, :1])], axis=1)  # perfect predictions
  for fn in (vico.reference_loss, vico.paper_loss):
    grad = jax.grad(lambda p, fn=fn: fn(p, target, jnp.array([5]), eps=0.0)[0])(pred)
    assert np.isfinite(grad).all()
  # The mean is over valid rows: duplicating a window leaves it unchanged.
  pred2 = jnp.asarray(r.normal(size=(2, 5, 73)), jnp.float32)
  target2 = jnp.asarray(r.normal(size=(2, 5, 73)), jnp.float32)
  full, _ = vico.reference_loss(pred2[:1], target2[:1], jnp.array([5]))
  dup = jnp.concatenate([pred2[:1], pred2[:1]]), jnp.concatenate([target2[:1], target2[:1]])
  both, _ = vico.reference_loss(*dup, jnp.array([5, 5]))
  np.testing.assert_allclose(both, full, rtol=1e-6)


def test_bad_shapes_and_weights_raise():
  pred, target, lengths = _hand_case()
  with pytest.raises(ValueError, match="does not match"):
    vico.reference_loss(pred, target[:, :3], lengths)
  with pytest.raises(ValueError, match="lengths"):
    vico.paper_loss(pred, target, lengths[:1])
  with pytest.raises(ValueError, match="unknown weight"):
    vico.reference_loss(pred, target, lengths, weights={"expression": 1.0})


def _tiny_task(**overrides):
  from configs import vico_lstm as vico_config  # pylint: disable=g-import-not-at-top
  from listen_jax.tasks import vico_lstm as vico_task  # pylint: disable=g-import-not-at-top
  config = vico_config.get_config("smoke")
  config.model.dropout = 0.0
  for key, value in overrides.items():
    config[key] = value
  return vico_task.make_task(config)


def _tiny_batch(seed=0, batch=3, time=12):
  rng = np.random.default_rng(seed)
  return {"audio": rng.normal(size=(batch, time, 45)).astype(np.float32),
          "speaker": rng.normal(size=(batch, time, 73)).astype(np.float32),
          "listener": rng.normal(size=(batch, time, 73)).astype(np.float32),
          "attitude": np.array([0, 1, 2][:batch], np.int32), "lengths": np.array([12, 9, 5][:batch], np.int32)}


def test_identity_augment_shifts_reference_and_targets_together():
  """With an initial state that ignores the frame, the offset cancels exactly (residual model)."""
  task = _tiny_task(identity_augment=1.0)
  batch = _tiny_batch()
  params = task.init(jax.random.key(0), batch)["params"]
  rng = jax.random.key(3)
  # Augmentation is training-only: eval loss equals the un-augmented task's loss.
  plain = _tiny_task(identity_augment=0.0)
  np.testing.assert_allclose(task.loss(params, batch, rng, False)[0], plain.loss(params, batch, rng, False)[0],
                             rtol=1e-6)
  # The frame reaches the state only through `init_state`: zero its kernel and the state no longer depends on
  # the (shifted) reference frame, so the shift must cancel between prediction (residual) and targets.
  blind = jax.tree_util.tree_map(lambda x: x, params)
  blind["init_state"] = dict(blind["init_state"], kernel=jnp.zeros_like(blind["init_state"]["kernel"]))
  aug, _ = task.loss(blind, batch, rng, True)
  ref, _ = plain.loss(blind, batch, rng, True)
  np.testing.assert_allclose(aug, ref, rtol=1e-5)
  # With the real weights the state sees the shifted frame, so the training loss changes.
  assert abs(float(task.loss(params, batch, rng, True)[0]) - float(plain.loss(params, batch, rng, True)[0])) > 1e-4


def test_identity_augment_bad_settings_raise():
  with pytest.raises(ValueError, match="identity_augment"):
    _tiny_task(identity_augment=-1.0)
  from configs import vico_lstm as vico_config  # pylint: disable=g-import-not-at-top
  from listen_jax.tasks import vico_lstm as vico_task  # pylint: disable=g-import-not-at-top
  config = vico_config.get_config("smoke")
  config.model.residual = False
  config.identity_augment = 0.5
  with pytest.raises(ValueError, match="residual"):
    vico_task.make_task(config)
  assert vico_config.get_config("reference").identity_augment == 0.0
