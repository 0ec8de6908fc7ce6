"""Tests of the causal ReactFace model: shapes, strict per-frame causality, online == offline."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from listen_jax.models import reactface
from listen_jax.models.reactface.emotion import emit_aus
from listen_jax.models.reactface import ReactFace

W = 4  # frames per window
L = 8  # latent dim
F = 6  # log-mel bins
T = 10  # frames per test clip: not a multiple of the window (3 windows, the last one padded)


def tiny(motion_dim, emotion_dim, **kw):
  return ReactFace(feature_dim=16, num_heads=2, ffn_dim=32, period=2, window=W, latent_dim=L,
                   motion_dim=motion_dim, emotion_dim=emotion_dim, audio_dim=F, max_len=16, vae_ffn_dim=32,
                   vae_num_heads=2, vae_layers=1, decoder_latent_layers=1, **kw)


def inputs(b, t, d, e, seed=0):
  r = np.random.RandomState(seed)
  audio = jnp.asarray(r.randn(b, 2 * t, F), jnp.float32)
  motion = jnp.asarray(r.randn(b, t, d), jnp.float32)
  emotion = jnp.asarray(r.rand(b, t, e), jnp.float32) if e else None
  noise = jnp.asarray(r.randn(b, -(-t // W), L), jnp.float32)
  return audio, motion, emotion, noise


def random_params(model, *args, **kwargs):
  """Parameters with the model's shapes filled from NumPy (skips compiling flax's threefry initialisers, which
  dominates test time on CPU; every parameter, including the zero-initialised speaker head, is non-trivial)."""
  shapes = jax.eval_shape(functools.partial(model.init, **kwargs), jax.random.key(0), *args)
  r = np.random.RandomState(123)

  def fill(path, s):
    name = jax.tree_util.keystr(path)
    if name.endswith("['scale']"):
      return jnp.asarray(1.0 + 0.1 * r.randn(*s.shape), s.dtype)
    fan_in = int(np.prod(s.shape[:-1])) if len(s.shape) > 1 else 10
    return jnp.asarray(r.randn(*s.shape) / np.sqrt(fan_in), s.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


@pytest.fixture(scope="module")
def react():
  """Tiny REACT model; `apply` draws two samples (noise [2, B, nW, L]) so one compiled graph serves every test.

  Its emotion head reads 3 frames, so causality and online == offline also cover the readout history that
  crosses window boundaries.
  """
  model = tiny(58, 25, readout_context=3)
  audio, motion, emotion, noise = inputs(2, T, 58, 25)
  params = random_params(model, audio, motion, emotion, noise=noise)
  apply = jax.jit(lambda p, a, m, e, n: model.apply(p, a, m, e, noise=n, num_samples=2))
  return model, params, apply


def two_noises(noise, seed):
  return jnp.stack([noise, jnp.asarray(np.random.RandomState(seed).randn(*noise.shape), jnp.float32)])


def test_react_shapes_any_length(react):
  model, params, apply = react
  audio, motion, emotion, noise = inputs(2, T, 58, 25, seed=1)
  out = apply(params, audio, motion, emotion, two_noises(noise, 11))
  assert out["motion"].shape == (2, 2, T, 58) and out["emotion"].shape == (2, 2, T, 25)
  assert out["mu"].shape == out["logvar"].shape == (2, 2, 3, L)
  assert out["speaker_recon"].shape == (2, T, 58)
  emo = np.asarray(out["emotion"])
  assert np.all((emo[..., :15] > 0) & (emo[..., :15] < 1)) and np.all(np.abs(emo[..., 15:17]) < 1)
  np.testing.assert_allclose(emo[..., 17:].sum(-1), 1.0, atol=1e-5)
  assert np.all(np.isfinite(np.asarray(out["motion"])))
  assert np.abs(out["motion"][0] - out["motion"][1]).max() > 1e-4  # samples differ with the noise
  np.testing.assert_array_equal(out["mu"][0, :, 0], out["mu"][1, :, 0])  # window 0 has no past to differ on
  single = jax.eval_shape(lambda: model.apply(params, audio, motion, emotion, noise=noise))
  assert single["motion"].shape == (2, T, 58) and single["mu"].shape == (2, 3, L)
  drawn = jax.eval_shape(lambda k: model.apply(params, audio, motion, emotion, num_samples=3, rngs={"sample": k}),
                         jax.random.key(1))
  assert drawn["motion"].shape == (3, 2, T, 58) and drawn["speaker_recon"].shape == (2, T, 58)
  with pytest.raises(ValueError, match="speaker_audio"):
    model.apply(params, audio[:, :-1], motion, emotion, noise=noise)
  with pytest.raises(ValueError, match="noise"):
    jax.eval_shape(lambda: model.apply(params, audio, motion, emotion, noise=noise[:, :2]))


def test_vico_shapes_without_emotion():
  model = tiny(73, 0)
  audio, motion, _, noise = inputs(3, 7, 73, 0)
  out, params = jax.eval_shape(lambda: model.init_with_output(jax.random.key(1), audio, motion, noise=noise))
  assert out["motion"].shape == (3, 7, 73) and "emotion" not in out
  assert out["mu"].shape == (3, 2, L) and out["speaker_recon"].shape == (3, 7, 73)
  assert "emotion_head" not in params["params"]["cell"]


@pytest.mark.parametrize("t", [6, 8])  # inside window 1 (frames 4..7) and on the window-2 boundary
def test_strictly_causal_per_frame(react, t):
  _, params, apply = react
  audio, motion, emotion, noise = inputs(2, T, 58, 25, seed=2)
  noise = two_noises(noise, 12)
  base = apply(params, audio, motion, emotion, noise)
  r = np.random.RandomState(3)
  audio2 = audio.at[:, 2 * t:].set(jnp.asarray(r.randn(2, 2 * (T - t), F), jnp.float32))
  motion2 = motion.at[:, t:].set(jnp.asarray(r.randn(2, T - t, 58), jnp.float32))
  emotion2 = emotion.at[:, t:].set(jnp.asarray(r.rand(2, T - t, 25), jnp.float32))
  out = apply(params, audio2, motion2, emotion2, noise)
  for key in ("motion", "emotion", "speaker_recon"):
    np.testing.assert_allclose(out[key][..., :t, :], base[key][..., :t, :], atol=1e-5, err_msg=key)
    assert np.abs(out[key][..., t, :] - base[key][..., t, :]).max() > 1e-5, key  # frame t reads its own inputs
  seen = np.arange(3) * W <= t  # window i's latent reads only speaker frames < i * W
  np.testing.assert_allclose(out["mu"][:, :, seen], base["mu"][:, :, seen], atol=1e-5)
  np.testing.assert_allclose(out["logvar"][:, :, seen], base["logvar"][:, :, seen], atol=1e-5)
  if not seen.all():  # a later window's latent reads the perturbed frames
    assert np.abs(out["mu"][:, :, ~seen] - base["mu"][:, :, ~seen]).max() > 1e-5


def online_rollout(model, params, audio, motion, emotion, noise):
  """lax.scan of `ReactFace.step` over windows (end-padded) -> outputs trimmed to T."""
  b, t = motion.shape[:2]
  nw = noise.shape[1]
  pad = nw * W - t
  padt = lambda x, n: jnp.pad(x, ((0, 0), (0, n), (0, 0)))  # noqa: E731
  split = lambda x, n: x.reshape(b, nw, n, x.shape[-1]).swapaxes(0, 1)  # noqa: E731
  xs = (split(padt(audio, 2 * pad), 2 * W), split(padt(motion, pad), W),
        None if emotion is None else split(padt(emotion, pad), W), noise.swapaxes(0, 1))

  def body(carry, x):
    a, m, e, n = x
    return model.apply(params, carry, a, m, e, n, method=ReactFace.step)

  _, outs = jax.lax.scan(body, model.init_carry(b), xs)
  frames = lambda x: x.swapaxes(0, 1).reshape(b, nw * W, x.shape[-1])[:, :t]  # noqa: E731
  res = {"motion": frames(outs["motion"]), "mu": outs["mu"].swapaxes(0, 1), "logvar": outs["logvar"].swapaxes(0, 1)}
  if "emotion" in outs:
    res["emotion"] = frames(outs["emotion"])
  return res


def test_online_rollout_equals_offline(react):
  """Window-by-window streaming (lax.scan over `step`, fixed noise) equals each offline sample to 1e-5."""
  model, params, apply = react
  audio, motion, emotion, noise = inputs(2, T, 58, 25, seed=4)
  noise = two_noises(noise, 13)
  offline = apply(params, audio, motion, emotion, noise)
  rollout = jax.jit(functools.partial(online_rollout, model))
  for i in range(2):
    online = rollout(params, audio, motion, emotion, noise[i])
    for key in ("motion", "emotion", "mu", "logvar"):
      np.testing.assert_allclose(online[key], offline[key][i], atol=1e-5, err_msg=f"{key} sample {i}")


def test_emotion_from_features_reads_decoder_features():
  """'features' feeds concat(3DMM, decoder features) to the emotion head; unknown sources raise."""
  audio, motion, emotion, noise = inputs(2, 7, 58, 25)
  shapes = {}
  for source in reactface.EMOTION_SOURCES:
    out, params = jax.eval_shape(lambda m=tiny(58, 25, emotion_from=source): m.init_with_output(
        jax.random.key(1), audio, motion, emotion, noise=noise))
    assert out["emotion"].shape == (2, 7, 25)
    shapes[source] = params["params"]["cell"]["emotion_readout"]["emotion_hidden"]["kernel"].shape
  assert shapes["motion"] == (58, 16) and shapes["features"] == (58 + 16, 16)
  with pytest.raises(ValueError, match="emotion_from='face'"):
    tiny(58, 25, emotion_from="face").init(jax.random.key(1), audio, motion, emotion, noise=noise)


@pytest.mark.parametrize("kw, match", [(dict(readout_context=W + 2), "readout_context=6"),
                                       (dict(readout_context=0), "readout_context=0"),
                                       (dict(readout_context=2, emotion_from="features"), "needs emotion_from")])
def test_bad_readout_context_raises(kw, match):
  audio, motion, emotion, noise = inputs(1, 4, 58, 25)
  with pytest.raises(ValueError, match=match):
    jax.eval_shape(lambda: tiny(58, 25, **kw).init(jax.random.key(1), audio, motion, emotion, noise=noise))


def test_emotion_readout_context_is_causal_and_chunkable():
  """A 4-frame readout: frame t reads frames t-3..t; chunks with their history equal the whole-sequence call, a
  missing history repeats the first frame, and the readout sees motion (a still face differs from a moving one)."""
  head = reactface.EmotionReadout(8, 25, context=4)
  x = jnp.asarray(np.random.RandomState(0).randn(2, 12, 5), jnp.float32)
  params = head.init(jax.random.key(0), x)
  whole = head.apply(params, x)
  chunks = [head.apply(params, x[:, :5])] + [head.apply(params, x[:, a:a + 4], x[:, a - 3:a]) for a in (5, 9)]
  np.testing.assert_allclose(np.concatenate(chunks[:1] + [c[:, :4] for c in chunks[1:]], axis=1)[:, :12], whole,
                             atol=1e-6)
  rest = jnp.repeat(x[:, :1], 3, axis=1)
  np.testing.assert_allclose(head.apply(params, x, rest), whole, atol=1e-6)
  late = x.at[:, 7:].add(1.0)
  np.testing.assert_allclose(head.apply(params, late)[:, :7], whole[:, :7], atol=1e-6)
  still = jnp.repeat(x[:, 6:7], 12, axis=1)
  moving = still.at[:, 3].add(2.0)  # one moved frame changes the readout of frames 3..6 only
  diff = np.abs(np.asarray(head.apply(params, moving) - head.apply(params, still))).max(axis=(0, 2))
  assert (diff[3:7] > 1e-4).all() and (diff[:3] < 1e-6).all() and (diff[7:] < 1e-6).all()
  with pytest.raises(ValueError, match="history has 2 frames"):
    head.apply(params, x, x[:, :2])


def test_binary_aus_at_inference_online_equals_offline(react):
  """au_output='binary' emits AU occurrences 1[p > 0.5] at inference (offline and online alike), leaves valence,
  arousal and expressions as they are, and keeps probabilities in training (deterministic=False)."""
  prob_model, params, apply = react
  model = tiny(58, 25, readout_context=3, au_output="binary")
  audio, motion, emotion, noise = inputs(2, T, 58, 25, seed=5)
  probs = apply(params, audio, motion, emotion, two_noises(noise, 14))["emotion"][0]
  binary = jax.jit(lambda p, a, m, e, n: model.apply(p, a, m, e, noise=n))(params, audio, motion, emotion, noise)
  emo = np.asarray(binary["emotion"])
  np.testing.assert_array_equal(emo[..., :15], np.asarray(probs[..., :15] > 0.5, np.float32))
  assert 0 < emo[..., :15].mean() < 1  # both occurrences appear on this draw
  np.testing.assert_allclose(emo[..., 15:], probs[..., 15:], atol=1e-6)
  online = jax.jit(functools.partial(online_rollout, model))(params, audio, motion, emotion, noise)
  np.testing.assert_array_equal(online["emotion"][..., :15], emo[..., :15])
  np.testing.assert_allclose(online["emotion"][..., 15:], emo[..., 15:], atol=1e-5)
  trained = model.apply(params, audio, motion, emotion, noise=noise, deterministic=False,
                        rngs={"dropout": jax.random.key(0)})["emotion"]
  assert np.all((np.asarray(trained[..., :15]) > 0) & (np.asarray(trained[..., :15]) < 1))
  with pytest.raises(ValueError, match="au_output='round'"):
    jax.eval_shape(lambda: tiny(58, 25, au_output="round").init(jax.random.key(1), audio, motion, emotion,
                                                                 noise=noise))


def test_speaker_context_limits_encoder_and_streams_past_max_len():
  """speaker_context=c: an encoder frame reads only its last c frames per layer (two layers: frames t-2c+2..t), and
  window-by-window streaming equals the offline call on a clip longer than the cache (max_len) and the context."""
  c, t_len = 3, 22  # > max_len = 16 (the streaming cache) > c
  model = tiny(58, 25, speaker_context=c)
  audio, motion, emotion, noise = inputs(1, t_len, 58, 25, seed=7)
  params = random_params(model, audio, motion, emotion, noise=noise)
  encode = jax.jit(lambda p, a, m, e, k=model: k.apply(p, a, m, e, method=lambda s, *x: s.speaker(*x)))
  base = encode(params, audio, motion, emotion)
  # Two layers reach frames t-2c+2..t; the causal audio conv (5 log-mel frames) two video frames further back.
  old = 7  # perturb frames <= old: frames >= old + 2c + 1 must not move, frame old + 2c - 2 reads `old`'s motion
  t = old + 2 * c + 1
  r = np.random.RandomState(8)
  moved = encode(params, audio.at[:, :2 * (old + 1)].set(jnp.asarray(r.randn(1, 2 * (old + 1), F), jnp.float32)),
                 motion.at[:, :old + 1].add(3.0), emotion.at[:, :old + 1].set(0.5))
  np.testing.assert_allclose(moved["motion"][:, t:], base["motion"][:, t:], atol=1e-5)
  assert np.abs(moved["motion"][:, old + 2 * c - 2] - base["motion"][:, old + 2 * c - 2]).max() > 1e-4
  unlimited = tiny(58, 25)
  full = jax.jit(lambda p, a, m, e, k=unlimited: k.apply(p, a, m, e, method=lambda s, *x: s.speaker(*x)))
  assert np.abs(full(params, audio, motion.at[:, :old + 1].add(3.0), emotion)["motion"][:, t:]
                - full(params, audio, motion, emotion)["motion"][:, t:]).max() > 1e-4
  noise = jnp.asarray(np.random.RandomState(9).randn(1, -(-t_len // W), L), jnp.float32)
  offline = jax.jit(lambda p, a, m, e, n: model.apply(p, a, m, e, noise=n))(params, audio, motion, emotion, noise)
  assert model.init_carry(1)["speaker"]["inputs"].shape[2] == W + c - 1  # all a window's queries can read
  online = jax.jit(functools.partial(online_rollout, model))(params, audio, motion, emotion, noise)
  for key in ("motion", "emotion", "mu", "logvar"):
    np.testing.assert_allclose(online[key], offline[key], atol=1e-5, err_msg=key)
  with pytest.raises(ValueError, match="speaker_context=17"):
    jax.eval_shape(lambda: tiny(58, 25, speaker_context=17).init(jax.random.key(1), audio, motion, emotion,
                                                                  noise=noise))


def test_speaker_summary_reaches_back_to_the_clip_start_causally_and_streams():
  """speaker_summary: with a short context band, a frame far past the band still reads the first frames (through
  the running mean), never a later frame; streaming over a clip longer than the cache equals the offline call."""
  c, t_len = 2, 22
  model = tiny(58, 25, speaker_context=c, speaker_summary=True)
  audio, motion, emotion, noise = inputs(1, t_len, 58, 25, seed=17)
  params = random_params(model, audio, motion, emotion, noise=noise)
  encode = jax.jit(lambda p, a, m, e, k=model: k.apply(p, a, m, e, method=lambda s, *x: s.speaker(*x)))
  base = encode(params, audio, motion, emotion)
  early = encode(params, audio, motion.at[:, :2].add(3.0), emotion)  # frames 0, 1: far outside the band of 20
  assert np.abs(early["motion"][:, 20] - base["motion"][:, 20]).max() > 1e-4
  late = encode(params, audio.at[:, 30:].add(1.0), motion.at[:, 15:].add(3.0), emotion.at[:, 15:].set(0.5))
  np.testing.assert_allclose(late["motion"][:, :15], base["motion"][:, :15], atol=1e-5)
  # The summary is a mean: a constant clip gives the same features at every frame past the band's warm-up.
  flat = encode(params, jnp.ones_like(audio), jnp.ones_like(motion), jnp.full_like(emotion, 0.5))["motion"]
  np.testing.assert_allclose(flat[:, 10], flat[:, 20], atol=1e-5)  # same phase of the period-2 encoding
  offline = jax.jit(lambda p, a, m, e, n: model.apply(p, a, m, e, noise=n))(params, audio, motion, emotion, noise)
  carry = model.init_carry(1)["speaker"]
  assert carry["summary_sum"].shape == (1, 3 * (58 + 25 + F)) and carry["summary_last"].shape == (1, 58 + 25 + F)
  online = jax.jit(functools.partial(online_rollout, model))(params, audio, motion, emotion, noise)
  for key in ("motion", "emotion", "mu", "logvar"):
    np.testing.assert_allclose(online[key], offline[key], atol=1e-5, err_msg=key)
  plain = tiny(58, 25, speaker_context=c)
  plain_params = random_params(plain, audio, motion, emotion, noise=noise)
  assert "summary_dense" not in plain_params["params"]["speaker"] and "summary_dense" in params["params"]["speaker"]


def test_attitude_conditions_every_frame_and_streams():
  """num_attitudes: the listener's attitude changes the reactions (once its embedding is non-zero), online equals
  offline with it, and a missing attitude raises."""
  model = tiny(73, 0, num_attitudes=3)
  audio, motion, _, noise = inputs(2, T, 73, 0, seed=21)
  attitude = jnp.array([0, 2], jnp.int32)
  params = random_params(model, audio, motion, None, attitude=attitude, noise=noise)
  assert params["params"]["attitude_embed"]["embedding"].shape == (3, 16)
  apply = jax.jit(lambda p, att: model.apply(p, audio, motion, None, attitude=att, noise=noise))
  base = apply(params, attitude)
  other = apply(params, jnp.array([1, 2], jnp.int32))
  assert np.abs(other["motion"][0] - base["motion"][0]).max() > 1e-4  # item 0's attitude changed
  np.testing.assert_allclose(other["motion"][1], base["motion"][1], atol=1e-6)  # item 1's did not

  def rollout(p, att):
    b, nw = 2, noise.shape[1]
    pad = nw * W - T
    padt = lambda x, n: jnp.pad(x, ((0, 0), (0, n), (0, 0)))  # noqa: E731
    split = lambda x, n: x.reshape(b, nw, n, x.shape[-1]).swapaxes(0, 1)  # noqa: E731
    xs = (split(padt(audio, 2 * pad), 2 * W), split(padt(motion, pad), W), noise.swapaxes(0, 1))
    body = lambda c, x: model.apply(p, c, x[0], x[1], None, x[2], attitude=att, method=ReactFace.step)  # noqa: E731
    _, outs = jax.lax.scan(body, model.init_carry(b), xs)
    return outs["motion"].swapaxes(0, 1).reshape(b, nw * W, -1)[:, :T]

  np.testing.assert_allclose(jax.jit(rollout)(params, attitude), base["motion"], atol=1e-5)
  with pytest.raises(ValueError, match="needs attitude"):
    model.apply(params, audio, motion, None, noise=noise)


def test_va_offset_shifts_valence_arousal_at_inference_only(react):
  from listen_jax.models.reactface.emotion import shift_va
  e = jnp.concatenate([jnp.full((1, 3, 15), 0.3), jnp.array([[[0.5, -0.2]] * 3]), jnp.full((1, 3, 8), 0.125)], -1)
  out = np.asarray(shift_va(e, (0.7, -0.1)))
  np.testing.assert_allclose(out[..., 15:17], [[[1.0, -0.3]] * 3], atol=1e-6)  # clipped to the tanh range
  np.testing.assert_array_equal(out[..., :15], np.asarray(e[..., :15]))
  np.testing.assert_array_equal(np.asarray(shift_va(e, None)), np.asarray(e))
  with pytest.raises(ValueError, match="offset"):
    shift_va(e, (0.1,))
  model, params, _ = react
  shifted = model.clone(va_offset=(0.2, -0.1))
  audio, motion, emotion, noise = inputs(2, T, 58, 25, seed=5)
  plain = model.apply(params, audio, motion, emotion, noise=noise)
  moved = shifted.apply(params, audio, motion, emotion, noise=noise)
  expected = np.clip(np.asarray(plain["emotion"][..., 15:17]) + [0.2, -0.1], -1, 1)
  np.testing.assert_allclose(moved["emotion"][..., 15:17], expected, atol=1e-6)
  np.testing.assert_allclose(moved["motion"], plain["motion"], atol=1e-6)
  rngs = {"dropout": jax.random.key(0)}
  train_plain = model.apply(params, audio, motion, emotion, noise=noise, deterministic=False, rngs=rngs)
  train_moved = shifted.apply(params, audio, motion, emotion, noise=noise, deterministic=False, rngs=rngs)
  np.testing.assert_allclose(train_moved["emotion"], train_plain["emotion"], atol=1e-6)  # training sees no offset


def test_emit_aus_per_au_thresholds():
  """'binary' with 15 thresholds binarises AU k at its own threshold; valence/arousal/expressions pass through."""
  emo = jnp.asarray(np.random.RandomState(0).rand(3, 5, 25), jnp.float32)
  thr = np.linspace(0.1, 0.9, 15)
  out = np.asarray(emit_aus(emo, "binary", tuple(thr)))
  np.testing.assert_array_equal(out[..., :15], (np.asarray(emo)[..., :15] > thr).astype(np.float32))
  np.testing.assert_array_equal(out[..., 15:], np.asarray(emo)[..., 15:])
  with pytest.raises(ValueError, match="one per AU"):
    emit_aus(emo, "binary", (0.5, 0.5))


def test_summary_prefix_continues_the_clip():
  """summary_means of a window given the sums of the frames before it equals the whole clip's at those frames; a
  zero prefix at count 0 is no prefix; ReactFace reads the prefix (training windows inside their clip)."""
  from listen_jax.data.pipeline import assemble  # pylint: disable=g-import-not-at-top
  from listen_jax.models.reactface import speaker  # pylint: disable=g-import-not-at-top
  audio, motion, emotion, noise = inputs(2, 20, 58, 25, seed=5)
  frames = speaker.frame_inputs(audio, motion, emotion)
  whole = speaker.summary_means(frames)
  start, w = 7, 8
  clips = [dict(speaker_3dmm=np.asarray(motion[i]), speaker_emotion=np.asarray(emotion[i]),
                speaker_audio=np.asarray(audio[i])) for i in range(2)]
  twin = np.stack([assemble.speaker_summary_inputs(c) for c in clips])
  np.testing.assert_allclose(twin, frames, rtol=1e-6, atol=1e-6)
  prefix = {"sum": jnp.asarray(np.stack([assemble.speaker_summary_cumsum(x)[start] for x in twin])),
            "last": frames[:, start - 1], "count": jnp.full((2,), start, jnp.int32)}
  window = speaker.summary_means(frames[:, start:start + w], prefix)
  np.testing.assert_allclose(window, whole[:, start:start + w], rtol=1e-5, atol=1e-5)
  empty = {"sum": jnp.zeros_like(prefix["sum"]), "last": jnp.zeros_like(prefix["last"]),
           "count": jnp.zeros((2,), jnp.int32)}
  np.testing.assert_allclose(speaker.summary_means(frames, empty), whole, atol=1e-6)
  with pytest.raises(ValueError, match="summary_prefix"):
    speaker.summary_means(frames, {**prefix, "count": jnp.zeros((3,), jnp.int32)})
  model = tiny(58, 25, speaker_summary=True)
  params = random_params(model, audio, motion, emotion, noise=noise)
  run = lambda p: model.apply(params, audio, motion, emotion, noise=noise, summary_prefix=p)["emotion"]  # noqa: E731
  np.testing.assert_allclose(run(empty), run(None), atol=1e-6)
  assert np.abs(np.asarray(run(prefix)) - np.asarray(run(None))).max() > 1e-4


def test_va_shrink_pools_the_running_level_causally_and_streams(react):
  from listen_jax.models.reactface.emotion import pool_va_level
  # A clip whose valence sits at 0.6 and arousal at -0.2 pulled half way to the population level (0.1, 0.0).
  e = jnp.concatenate([jnp.full((1, 4, 15), 0.3), jnp.array([[[0.6, -0.2]] * 4]), jnp.full((1, 4, 8), 0.125)], -1)
  out, total = pool_va_level(e, None, 0, (0.1, 0.0), 0.5)
  np.testing.assert_allclose(out[..., 15:17], [[[0.35, -0.1]] * 4], atol=1e-6)
  np.testing.assert_allclose(total, [[2.4, -0.8]], atol=1e-6)
  np.testing.assert_array_equal(np.asarray(out[..., :15]), np.asarray(e[..., :15]))
  # Frames 2, 3 given the sum of frames 0, 1: the same as the whole clip's (causal running mean).
  step = jnp.concatenate([e[:, :2, :15], jnp.array([[[0.2, 0.4], [-0.4, 0.4]]]), e[:, :2, 17:]], -1)
  clip = jnp.concatenate([e[:, :2], step], axis=1)
  whole, _ = pool_va_level(clip, None, 0, (0.1, 0.0), 0.5)
  part, _ = pool_va_level(step, jnp.sum(clip[:, :2, 15:17], axis=1), 2, (0.1, 0.0), 0.5)
  np.testing.assert_allclose(part, whole[:, 2:], atol=1e-6)
  assert pool_va_level(e, None, 0, None, 0.5)[1] is None and pool_va_level(e, None, 0, (0.1, 0.0), 0.0)[1] is None
  with pytest.raises(ValueError, match="fraction"):
    pool_va_level(e, None, 0, (0.1, 0.0), 1.5)
  model, params, _ = react
  pooled = model.clone(va_shrink=0.5, va_population=(0.1, 0.0))
  audio, motion, emotion, noise = inputs(2, T, 58, 25, seed=5)
  plain = model.apply(params, audio, motion, emotion, noise=noise)
  offline = pooled.apply(params, audio, motion, emotion, noise=noise)
  v = np.asarray(plain["emotion"][..., 15:17])
  running = np.cumsum(v, axis=1) / np.arange(1, T + 1)[None, :, None]
  np.testing.assert_allclose(offline["emotion"][..., 15:17], np.clip(v - 0.5 * (running - [0.1, 0.0]), -1, 1),
                             atol=1e-5)
  assert "va_sum" in pooled.init_carry(2) and "va_sum" not in model.init_carry(2)
  online = online_rollout(pooled, params, audio, motion, emotion, noise)
  np.testing.assert_allclose(online["emotion"], offline["emotion"], atol=1e-5)
  rngs = {"dropout": jax.random.key(0)}
  train = pooled.apply(params, audio, motion, emotion, noise=noise, deterministic=False, rngs=rngs)
  train_plain = model.apply(params, audio, motion, emotion, noise=noise, deterministic=False, rngs=rngs)
  np.testing.assert_allclose(train["emotion"], train_plain["emotion"], atol=1e-6)  # training never pools
