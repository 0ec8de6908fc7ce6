"""LSTM recurrence kernels of the ViCo listener: gate math, masked training scans, unmasked inference scans.

Weights are bias-free, gate column blocks in PyTorch order (i, f, g, o), and "scaled" by `gate_scale` (the i, f,
o columns halved) so that one tanh yields every gate. The model (`lstm_listener.ListenerLSTM`) owns the
parameters; these functions only run them.

Performance: the input projection of each LSTM layer is computed for all time steps at once, outside the
recurrence (one GEMM per layer); each layer is its own `lax.scan` whose body is only `h @ w_hh` plus the gates.
All four gates come from one tanh (sigmoid(a) = 0.5 tanh(a / 2) + 0.5, with the i, f, o weight columns halved
at run time; the stored weights are unchanged). Training (`deterministic=False`) uses masked scans with a
hand-written backward pass (`jax.custom_vjp`): the reverse scan only propagates the state gradients, and the
recurrent weight gradient is one GEMM over all steps. Inference (`deterministic=True`, `run_lstm_stack`) runs the
recurrence unmasked (valid steps are a prefix, so padding never reaches them) and zeroes padded rows at the end:
fewer operations per step, the same outputs. At batch 1 on CPU a step is bound by streaming `w_hh` (147 KB) from
L2, and the hoisted GEMMs are about a third of a 900-frame clip. A skewed "wavefront" schedule over the layers
(half the sequential steps, but every step also reads the deeper layers' w_ih) and scan unrolling both measured
slower for inference on the 2-core development machine.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp


def gate_scale(hidden: int) -> jax.Array:
  """[4 * hidden] per-column factors (0.5 for i, f, o; 1 for g) of the single-tanh gate trick.

  sigmoid(a) = 0.5 * tanh(a / 2) + 0.5, so with the i, f, o columns of both weight matrices halved, one tanh over
  all 4 * hidden pre-activations yields every gate (one fused elementwise pass instead of exp-based sigmoids).
  """
  half = jnp.full((hidden,), 0.5, jnp.float32)
  return jnp.concatenate([half, half, jnp.ones((hidden,), jnp.float32), half])


def _gates(t: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
  """tanh of scaled pre-activations [..., 4H] -> gates i, f, g, o [..., H]."""
  ti, tf, g, to = jnp.split(t, 4, axis=-1)
  return 0.5 * ti + 0.5, 0.5 * tf + 0.5, g, 0.5 * to + 0.5


def cell_update(pre: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
  """LSTM state update from scaled pre-activations (see `gate_scale`).

  Args:
    pre: [batch, 4 * hidden] float32 scaled pre-activations x @ w_ih + h @ w_hh.
    c: [batch, hidden] float32 previous cell.

  Returns:
    (h, c) new state, [batch, hidden] float32 each.
  """
  i, f, g, o = _gates(jnp.tanh(pre))
  c = f * c + i * g
  return o * jnp.tanh(c), c


def lstm_cell(gates_x: jax.Array, h: jax.Array, c: jax.Array, w_hh: jax.Array) -> tuple[jax.Array, jax.Array]:
  """One bias-free LSTM update (PyTorch gate order i, f, g, o), on `gate_scale`-scaled weights.

  Args:
    gates_x: [batch, 4 * hidden] float32 scaled input projection x_t @ (w_ih * gate_scale).
    h, c: [batch, hidden] float32 previous state.
    w_hh: [hidden, 4 * hidden] scaled recurrent weights w_hh * gate_scale (compute dtype).

  Returns:
    (h, c) new state, [batch, hidden] float32 each.
  """
  return cell_update(gates_x + jnp.dot(h.astype(w_hh.dtype), w_hh, preferred_element_type=jnp.float32), c)


def _scan_forward(gates_x, valid, h0, c0, w_hh, unroll, keep_residuals):
  def body(carry, inputs):
    h, c = carry
    gx, m = inputs
    t = jnp.tanh(gx + jnp.dot(h.astype(w_hh.dtype), w_hh, preferred_element_type=jnp.float32))
    i, f, g, o = _gates(t)
    c_new = f * c + i * g
    h_new = o * jnp.tanh(c_new)
    ok = m > 0.5
    carry = (jnp.where(ok, h_new, h), jnp.where(ok, c_new, c))
    out = jnp.where(ok, h_new, 0.0)
    return carry, ((out, t, c_new) if keep_residuals else out)

  return jax.lax.scan(body, (h0, c0), (gates_x, valid), unroll=unroll)[1]


def _project_2d(x: jax.Array, w: jax.Array) -> jax.Array:
  """[time, batch, in] @ [in, out] -> [time * batch, out] float32 (one row-major 2-D GEMM)."""
  return jnp.dot(x.reshape(-1, x.shape[-1]).astype(w.dtype), w, preferred_element_type=jnp.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def run_lstm_layer(x: jax.Array, valid: jax.Array, h0: jax.Array, c0: jax.Array, w_ih: jax.Array,
                   w_hh: jax.Array, unroll: int = 1) -> jax.Array:
  """Runs one LSTM layer over time (input projection included); padded steps keep the carry and output zeros.

  The backward pass is hand-written: a reverse scan computes only the pre-activation gradients (one
  [batch, 4H] @ [4H, H] product per step, the gate derivatives formed in the same loop body), then the input
  gradient and both weight gradients are plain 2-D GEMMs over all time steps at once.

  Args:
    x: [time, batch, in] layer input.
    valid: [time, batch, 1] float32, 1 on real frames and 0 on padding; a prefix mask (t < length), which the
      backward pass relies on (the state before a valid step t is the output of step t - 1).
    h0, c0: [batch, hidden] float32 initial state.
    w_ih: [in, 4 * hidden] scaled input weights (see `gate_scale`), compute dtype.
    w_hh: [hidden, 4 * hidden] scaled recurrent weights (see `gate_scale`), compute dtype.
    unroll: scan unroll factor.

  Returns:
    [time, batch, hidden] float32 hidden states (zeros on padded steps).
  """
  gates_x = _project_2d(x, w_ih).reshape(x.shape[0], x.shape[1], -1)
  return _scan_forward(gates_x, valid, h0, c0, w_hh, unroll, keep_residuals=False)


def _scan_unmasked(gates_x, h0, c0, w_hh, unroll):
  """Forward recurrence without masking: (h, tanh pre-activations, c) of every step, [time, batch, ...] each."""
  def body(carry, gx):
    h, c = carry
    t = jnp.tanh(gx + jnp.dot(h.astype(w_hh.dtype), w_hh, preferred_element_type=jnp.float32))
    i, f, g, o = _gates(t)
    c = f * c + i * g
    h = o * jnp.tanh(c)
    return (h, c), (h, t, c)

  return jax.lax.scan(body, (h0, c0), gates_x, unroll=unroll)[1]


def _run_lstm_layer_fwd(x, valid, h0, c0, w_ih, w_hh, unroll):
  # Valid steps are a prefix, so the recurrence can run unmasked: steps at or after a sequence's length never
  # influence its valid steps, and their outputs are zeroed here (and their gradients in the backward pass).
  gates_x = _project_2d(x, w_ih).reshape(x.shape[0], x.shape[1], -1)
  h, t, c = _scan_unmasked(gates_x, h0, c0, w_hh, unroll)
  out = jnp.where(valid > 0.5, h, 0.0)
  return out, (x, valid, h0, c0, w_ih, w_hh, out, t, c)


def _run_lstm_layer_bwd(unroll, residuals, d_out):
  x, valid, h0, c0, w_ih, w_hh, out, t, c = residuals
  ok = valid > 0.5
  # Everything that does not depend on the incoming state gradient, for all steps at once. Factors are zero on
  # padded steps: those come after every valid step, so the reverse recursion stays exactly zero through them
  # (the carried state there had no influence on any output) and needs no mask.
  #   d_pre = [dc, dc, dc, dh] * gate_factor,  dc_new = dc + dh_new * cell_factor,  dc_prev = dc_new * f.
  c_prev = jnp.concatenate([c0[None], c[:-1]], axis=0)
  i, f, g, o = _gates(t)
  tc = jnp.tanh(c)
  # d tanh(scaled pre) -> d pre is (1 - t^2); the 0.5 of sigmoid(a) = 0.5 tanh(a / 2) + 0.5 is on i, f, o.
  gate_factor = jnp.where(ok, jnp.concatenate([0.5 * g, 0.5 * c_prev, i, 0.5 * tc], axis=-1) * (1.0 - t * t), 0.0)
  cell_factor = jnp.where(ok, o * (1.0 - tc * tc), 0.0)
  forget = jnp.where(ok, f, 0.0)
  d_out = jnp.where(ok, d_out, 0.0)
  w_t = w_hh.T

  def body(carry, inputs):
    dh, dc = carry
    gf, cf, fg, dy = inputs
    dh = dh + dy
    dc = dc + dh * cf
    d_pre = jnp.concatenate([dc, dc, dc, dh], axis=-1) * gf
    dh_prev = jnp.dot(d_pre.astype(w_t.dtype), w_t, preferred_element_type=jnp.float32)
    return (dh_prev, dc * fg), d_pre

  zeros = jnp.zeros_like(h0)
  (dh0, dc0), d_pre = jax.lax.scan(body, (zeros, zeros), (gate_factor, cell_factor, forget, d_out), reverse=True,
                                   unroll=unroll)
  time, batch = x.shape[:2]
  d_pre = d_pre.reshape(time * batch, -1).astype(w_hh.dtype)
  h_prev = jnp.concatenate([h0[None], out[:-1]], axis=0).reshape(time * batch, -1)  # zeros on padded rows
  x_valid = jnp.where(ok, x, 0.0).reshape(time * batch, -1)  # padding (even NaN) must not reach the weights
  d_w_hh = jnp.dot(h_prev.astype(w_hh.dtype).T, d_pre, preferred_element_type=jnp.float32).astype(w_hh.dtype)
  d_w_ih = jnp.dot(x_valid.astype(w_ih.dtype).T, d_pre, preferred_element_type=jnp.float32).astype(w_ih.dtype)
  d_x = jnp.dot(d_pre, w_ih.T, preferred_element_type=jnp.float32).reshape(x.shape).astype(x.dtype)
  return d_x, jnp.zeros_like(valid), dh0, dc0, d_w_ih, d_w_hh


run_lstm_layer.defvjp(_run_lstm_layer_fwd, _run_lstm_layer_bwd)


def _project(x: jax.Array, w: jax.Array) -> jax.Array:
  """[time, batch, in] @ [in, out] -> [time, batch * out] float32: one 2-D GEMM whose rows stay row-major.

  (A [time, batch, out] result can get a transposed layout and a copy before the scan reads it.)
  """
  time, batch, _ = x.shape
  y = jnp.dot(x.reshape(time * batch, -1).astype(w.dtype), w, preferred_element_type=jnp.float32)
  return y.reshape(time, -1)


def _layers_unmasked(x, h0, c0, w_ih, w_hh, unroll):
  """Per-layer scans without masking (see `run_lstm_stack`)."""
  time, batch = x.shape[:2]
  # At batch 1 the state is a vector: h @ w_hh is then a plain matrix-vector product (on CPU a [1, H] row is
  # first copied into a column, one more kernel per step).
  lead = () if batch == 1 else (batch,)
  for k in range(len(w_hh)):
    w = w_hh[k]

    def body(carry, gx, w=w):
      h, c = carry
      pre = gx.reshape(lead + (-1,)) + jnp.dot(h.astype(w.dtype), w, preferred_element_type=jnp.float32)
      h, c = cell_update(pre, c)
      return (h, c), h

    x = jax.lax.scan(body, (h0[k].reshape(lead + (-1,)), c0[k].reshape(lead + (-1,))), _project(x, w_ih[k]),
                     unroll=unroll)[1].reshape(time, batch, -1)
  return x


def _layers_masked(x, valid, h0, c0, w_ih, w_hh, unroll):
  """Per-layer `run_lstm_layer` scans (the training path, without dropout)."""
  for k in range(len(w_hh)):
    x = run_lstm_layer(x, valid, h0[k], c0[k], w_ih[k], w_hh[k], unroll)
  return x


@functools.partial(jax.custom_vjp, nondiff_argnums=(6,))
def run_lstm_stack(x: jax.Array, valid: jax.Array, h0: jax.Array, c0: jax.Array, w_ih: tuple[jax.Array, ...],
                   w_hh: tuple[jax.Array, ...], unroll: int = 1) -> jax.Array:
  """Deterministic forward pass of a stacked LSTM (no dropout), for inference.

  Valid steps form a prefix (t < length), so steps at or after a sequence's length never influence its valid
  steps: the recurrence runs unmasked and padded rows are zeroed at the end, which returns exactly what the
  masked per-layer scans (`run_lstm_layer`) return, with fewer operations per step. Gradients (rarely needed
  here) are those of the masked per-layer path, so garbage in the padding (even NaN) never reaches them.

  Args:
    x: [time, batch, in] float32 input of layer 0.
    valid: [time, batch, 1] float32 prefix mask (1 on real frames).
    h0, c0: [num_layers, batch, hidden] float32 initial state.
    w_ih, w_hh: per-layer scaled weights (`gate_scale`), [in_k, 4H] and [H, 4H], compute dtype.
    unroll: scan unroll factor.

  Returns:
    [time, batch, hidden] float32 outputs of the last layer, zeros on padded steps.
  """
  return jnp.where(valid > 0.5, _layers_unmasked(x, h0, c0, w_ih, w_hh, unroll), 0.0)


def _run_lstm_stack_fwd(x, valid, h0, c0, w_ih, w_hh, unroll):
  return run_lstm_stack(x, valid, h0, c0, w_ih, w_hh, unroll), (x, valid, h0, c0, w_ih, w_hh)


def _run_lstm_stack_bwd(unroll, residuals, d_out):
  _, vjp = jax.vjp(lambda *a: _layers_masked(*a, unroll), *residuals)
  return vjp(d_out)


run_lstm_stack.defvjp(_run_lstm_stack_fwd, _run_lstm_stack_bwd)
