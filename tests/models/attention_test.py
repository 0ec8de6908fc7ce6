"""Tests of the floor-step alignment bias and the bias-masked attention blocks."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from listen_jax.models import attention


def test_self_bias_values_match_formula():
  bias = attention.floor_step_bias(2, 5, 5, 2)
  assert bias.shape == (2, 5, 5) and bias.dtype == np.float32
  # Row 4 sees j = 0..4 at distances 4..0 -> floor(d / 2) = 2, 1, 1, 0, 0; slopes 1/2, 1/4.
  np.testing.assert_array_equal(bias[0, 4], -0.5 * np.array([2, 1, 1, 0, 0], np.float32))
  np.testing.assert_array_equal(bias[1, 4], -0.25 * np.array([2, 1, 1, 0, 0], np.float32))
  assert np.all(np.isneginf(bias[:, np.triu_indices(5, 1)[0], np.triu_indices(5, 1)[1]]))
  assert np.all(np.isfinite(bias[:, np.tril_indices(5)[0], np.tril_indices(5)[1]]))
  ones = attention.floor_step_bias(3, 5, 5, 2, slopes="ones")
  np.testing.assert_array_equal(ones[2, 4, :], -np.array([2, 1, 1, 0, 0], np.float32))


def test_alibi_slopes_are_powers_of_two():
  np.testing.assert_allclose(attention.head_slopes(8), 2.0 ** -np.arange(1, 9))
  with pytest.raises(ValueError, match="slopes"):
    attention.head_slopes(8, "linear")


def test_audio_bias_paper_and_current_frame_anchor():
  paper = attention.floor_step_bias(1, 4, 8, 2, slopes="ones", k=2, include_current_frame=False)
  mine = attention.floor_step_bias(1, 4, 8, 2, slopes="ones", k=2, include_current_frame=True)
  for t in range(4):
    # Paper (Eq. 11): frame t sees audio j <= 2t with -floor((2t - j) / 4).
    assert np.all(np.isfinite(paper[0, t, : 2 * t + 1])) and np.all(np.isneginf(paper[0, t, 2 * t + 1:]))
    expected = -np.floor((2 * t - np.arange(2 * t + 1)) / 4.0)
    np.testing.assert_array_equal(paper[0, t, : 2 * t + 1], expected)
    # Default: frame t also hears audio frame 2t+1 (its own audio), nothing later.
    assert np.all(np.isfinite(mine[0, t, : 2 * t + 2])) and np.all(np.isneginf(mine[0, t, 2 * t + 2:]))
    np.testing.assert_array_equal(mine[0, t, : 2 * t + 2], -np.floor((2 * t + 1 - np.arange(2 * t + 2)) / 4.0))


def test_right_aligned_reference_form():
  bias = attention.floor_step_bias(1, 8, 16, 8, slopes="ones", align="right")
  # Reference mask2: query 0 of a window of 8 over 16 audio frames sees frames 0..8.
  assert np.all(np.isfinite(bias[0, 0, :9])) and np.all(np.isneginf(bias[0, 0, 9:]))
  assert bias[0, 0, 0] == -1.0 and bias[0, 0, 1] == 0.0
  assert np.all(np.isfinite(bias[0, 7]))


def test_any_lengths_cache_and_offset():
  bias = attention.floor_step_bias(2, 5, 7, 3, k=1)
  assert bias.shape == (2, 5, 7)
  assert attention.floor_step_bias(2, 5, 7, 3, k=1) is bias  # cached, built once per shape
  with pytest.raises(ValueError):
    bias[0, 0, 0] = 1.0  # read-only
  full = attention.floor_step_bias(4, 12, 24, 3, k=2)
  tail = attention.floor_step_bias(4, 5, 24, 3, k=2, q_offset=7)
  np.testing.assert_array_equal(tail, full[:, 7:])
  with pytest.raises(ValueError, match="align"):
    attention.floor_step_bias(1, 2, 2, 1, align="left")


def test_context_keeps_the_last_frames():
  """context=c: query frame t sees memory frames t-c+1..t (audio: two entries per frame) with the floor-step values
  unchanged; an offset query block is the tail; context=0 is the plain bias."""
  plain = attention.floor_step_bias(1, 6, 6, 2)
  band = attention.floor_step_bias(1, 6, 6, 2, context=3)
  visible = np.isfinite(band[0])
  for t in range(6):
    np.testing.assert_array_equal(np.flatnonzero(visible[t]), np.arange(max(0, t - 2), t + 1))
  assert visible.sum(axis=1).tolist() == [1, 2, 3, 3, 3, 3]  # at most c frames each
  np.testing.assert_array_equal(band[0][visible], plain[0][visible])
  audio = np.isfinite(attention.floor_step_bias(1, 4, 8, 2, k=2, context=2)[0])
  np.testing.assert_array_equal(np.flatnonzero(audio[3]), np.arange(4, 8))  # frames 2, 3 -> audio 4..7
  np.testing.assert_array_equal(attention.floor_step_bias(1, 2, 8, 2, k=2, q_offset=2, context=2),
                                attention.floor_step_bias(1, 4, 8, 2, k=2, context=2)[:, 2:])
  np.testing.assert_array_equal(attention.floor_step_bias(1, 6, 6, 2, context=0), plain)
  with pytest.raises(ValueError):
    band[0, 0, 0] = 1.0  # read-only (cached)
  with pytest.raises(ValueError, match="align='paper'"):
    attention.floor_step_bias(1, 2, 2, 1, align="right", context=1)


@pytest.fixture(scope="module")
def block_setup():
  block = attention.DecoderBlock(num_heads=2, ffn_dim=16, dropout=0.1)
  rng = np.random.RandomState(0)
  x = jnp.asarray(rng.randn(2, 6, 8), jnp.float32)
  mem = jnp.asarray(rng.randn(2, 12, 8), jnp.float32)
  self_bias = jnp.asarray(attention.floor_step_bias(2, 6, 6, 2))
  cross_bias = jnp.asarray(attention.floor_step_bias(2, 6, 12, 2, k=2))
  params = jax.jit(block.init)(jax.random.key(0), x, mem, self_bias, cross_bias)
  return block, params, x, mem, self_bias, cross_bias


def test_decoder_block_is_causal(block_setup):
  block, params, x, mem, sb, cb = block_setup
  apply = jax.jit(lambda x, m: block.apply(params, x, m, sb, cb))
  base = apply(x, mem)
  t = 3
  x2 = x.at[:, t + 1:].add(5.0)
  mem2 = mem.at[:, 2 * t + 2:].add(5.0)
  out = apply(x2, mem2)
  np.testing.assert_allclose(out[:, : t + 1], base[:, : t + 1], atol=1e-6)
  assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 1e-3
  # Audio frame 2t+1 belongs to frame t: changing it changes frame t.
  out3 = apply(x, mem.at[:, 2 * t + 1].add(5.0))
  assert np.abs(out3[:, t] - base[:, t]).max() > 1e-4
  np.testing.assert_allclose(out3[:, :t], base[:, :t], atol=1e-6)


def test_decoder_block_streaming_keys_match(block_setup):
  block, params, x, mem, sb, cb = block_setup
  n = 2
  full, tail = jax.jit(lambda: (block.apply(params, x, mem, sb, cb),
                                block.apply(params, x[:, -n:], mem, sb[:, -n:], cb[:, -n:], self_keys=x)))()
  np.testing.assert_allclose(tail, full[:, -n:], atol=1e-5)


def test_dropout_needs_rng_and_changes_output(block_setup):
  block, params, x, mem, sb, cb = block_setup
  det, sto = jax.jit(lambda: (block.apply(params, x, mem, sb, cb),
                              block.apply(params, x, mem, sb, cb, deterministic=False,
                                          rngs={"dropout": jax.random.key(1)})))()
  assert sto.shape == det.shape and np.abs(sto - det).max() > 1e-4
