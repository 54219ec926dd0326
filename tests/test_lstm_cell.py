"""The fused LSTM cell and layer: kernels against the numpy reference, gradients, parity.

Oracles: ``kernels/lstm_reference.py`` (numpy's exact tanh) for both kernels, float64
central differences through 5 time steps of ``lstm_cell`` and of ``lstm``, ``lstm_cell``
unrolled for ``lstm``, and ``torch.nn.LSTMCell`` / ``torch.nn.LSTM`` when installed.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.kernels import lstm as K
from tinygrad_cs.kernels import lstm_reference as R
from tinygrad_cs.ops.rnn import LSTMCellPointwise, lstm, lstm_cell
from tinygrad_cs.testing import gradcheck
from tinygrad_cs.testing.strategies import arrays, floats

try:
    import torch
except ImportError:  # pragma: no cover - optional oracle
    torch = None

# float32 kernels use a rational tanh (error < 4e-7); float64 ones libm's tanh.
TOL = {np.float32: {"rtol": 2e-6, "atol": 2e-6}, np.float64: {"rtol": 1e-13, "atol": 1e-14}}


@st.composite
def cell_state(draw):
    """(gates (N, 4H), c_prev, dh, dc (N, H), dtype), gates reaching deep saturation."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, hidden = draw(st.integers(1, 5)), draw(st.integers(1, 9))
    wide = floats(-25.0, 25.0)
    gates = draw(arrays((n, 4 * hidden), dtype=dtype, elements=wide))
    rest = (draw(arrays((n, hidden), dtype=dtype, elements=floats(-3.0, 3.0)))
            for _ in range(3))
    return (gates, *rest, dtype)


@given(case=cell_state(), parallel=st.booleans())
def test_kernels_match_the_numpy_reference(case, parallel):
    gates, c_prev, dh, dc, dtype = case  # arrays() also draws non-contiguous layouts
    fwd, bwd = ((K.lstm_forward, K.lstm_backward) if parallel
                else (K.lstm_forward_serial, K.lstm_backward_serial))
    n, hidden = c_prev.shape
    out, acts = np.empty((2, n, hidden), dtype), np.empty((n, 5 * hidden), dtype)
    fwd(gates, c_prev, out, acts)
    ref_out, ref_acts = R.forward(gates.astype(np.float64), c_prev.astype(np.float64))
    np.testing.assert_allclose(out, ref_out, **TOL[dtype])
    np.testing.assert_allclose(acts, ref_acts, **TOL[dtype])
    dgates, dc_prev = np.empty_like(gates), np.empty_like(c_prev)
    bwd(acts, c_prev, dh, dc, dgates, dc_prev)
    ref_dgates, ref_dc_prev = R.backward(acts.astype(np.float64), c_prev.astype(np.float64),
                                         dh.astype(np.float64), dc.astype(np.float64))
    np.testing.assert_allclose(dgates, ref_dgates, **TOL[dtype])
    np.testing.assert_allclose(dc_prev, ref_dc_prev, **TOL[dtype])


def test_wrappers_pick_serial_or_parallel_kernels_with_the_same_result():
    rng = np.random.default_rng(5)
    hidden = 64
    for n in (2, K.PARALLEL_MIN // hidden):  # below and at the threshold
        gates = rng.standard_normal((n, 4 * hidden), dtype=np.float32)
        c_prev, dh, dc = (rng.standard_normal((n, hidden), dtype=np.float32) for _ in range(3))
        out, acts = K.forward(gates, c_prev)
        ref_out, _ = R.forward(gates.astype(np.float64), c_prev.astype(np.float64))
        assert out.dtype == acts.dtype == np.float32
        np.testing.assert_allclose(out, ref_out, **TOL[np.float32])
        dgates, dc_prev = K.backward(acts, c_prev, dh, dc)
        ref_dgates, ref_dc_prev = R.backward(acts.astype(np.float64), c_prev, dh, dc)
        np.testing.assert_allclose(dgates, ref_dgates, **TOL[np.float32])
        np.testing.assert_allclose(dc_prev, ref_dc_prev, **TOL[np.float32])


@numba.njit(fastmath=K.FAST)
def _kernel_tanh(x):
    out = np.empty_like(x)
    for k in range(x.size):
        out[k] = K.tanh(x[k])
    return out


def test_float32_tanh_is_accurate_saturates_and_keeps_nan():
    x = np.linspace(-12.0, 12.0, 400_001).astype(np.float32)
    got = _kernel_tanh(x)
    assert np.abs(got - np.tanh(x.astype(np.float64))).max() < 4e-7
    assert np.abs(got).max() <= 1.0 and np.diff(got).min() > -4e-7  # bounded, ~monotonic
    special = np.array([np.nan, np.inf, -np.inf, 0.0, 1e-30], np.float32)
    np.testing.assert_array_equal(_kernel_tanh(special),
                                  np.array([np.nan, 1, -1, 0, 1e-30], np.float32))
    x64 = np.linspace(-5, 5, 1001)
    np.testing.assert_allclose(_kernel_tanh(x64), np.tanh(x64), rtol=1e-15)  # libm's


def _unroll(steps):
    """A function of (xs (T, N, in), h0, c0, weights...) running ``steps`` cells."""
    def run(xs, h, c, w_ih, w_hh, b_ih, b_hh):
        outs = []
        for t in range(steps):
            h, c = lstm_cell(xs[t], h, c, w_ih, w_hh, b_ih, b_hh)
            outs.append(h)
        return tg.stack(outs), c
    return run


def _lstm_inputs(rng, steps=5, n=2, n_in=3, hidden=2):
    shapes = ((steps, n, n_in), (n, hidden), (n, hidden), (4 * hidden, n_in),
              (4 * hidden, hidden), (4 * hidden,), (4 * hidden,))
    return tuple(tg.Tensor(rng.uniform(-1, 1, s), requires_grad=True) for s in shapes)


def test_gradcheck_through_five_time_steps():
    inputs = _lstm_inputs(np.random.default_rng(0))
    assert gradcheck(_unroll(5), inputs)


def test_pointwise_op_gradcheck_and_unused_halves():
    rng = np.random.default_rng(1)
    gates = tg.Tensor(rng.uniform(-3, 3, (3, 8)), requires_grad=True)
    c = tg.Tensor(rng.uniform(-1, 1, (3, 2)), requires_grad=True)
    assert gradcheck(LSTMCellPointwise.apply, (gates, c))
    assert gradcheck(lstm_cell_h, (gates, c))  # c' unused: its half of the gradient is zero


def lstm_cell_h(gates, c):
    return tg.ops.getitem(LSTMCellPointwise.apply(gates, c), 0)


def test_unbatched_input_gives_unbatched_state():
    rng = np.random.default_rng(2)
    x, h, c = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    w_ih, w_hh = rng.uniform(-1, 1, (8, 3)), rng.uniform(-1, 1, (8, 2))
    h1, c1 = lstm_cell(x, h, c, w_ih, w_hh)
    hb, cb = lstm_cell(x[None], h[None], c[None], w_ih, w_hh)
    assert h1.shape == c1.shape == (2,)
    np.testing.assert_allclose(h1, hb[0], rtol=1e-15)
    np.testing.assert_allclose(c1, cb[0], rtol=1e-15)


def test_clear_errors_for_shapes_dtypes_and_double_backward():
    with pytest.raises(RuntimeError, match=r"lstm_cell: gates \(2, 6\) and c_prev \(2, 2\)"):
        LSTMCellPointwise.apply(tg.zeros(2, 6), tg.zeros(2, 2))
    with pytest.raises(TypeError, match="float32 or float64"):
        LSTMCellPointwise.apply(np.zeros((1, 4), np.int64), np.zeros((1, 1), np.int64))
    gates = tg.Tensor(np.zeros((1, 4)), requires_grad=True)
    h = lstm_cell_h(gates, np.zeros((1, 1)))
    with pytest.raises(RuntimeError, match="LSTMCellPointwise.*no double backward"):
        tg.grad(h.sum(), gates, create_graph=True)


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch_lstm_cell_over_steps(dtype):
    rng = np.random.default_rng(3)
    steps, n, n_in, hidden = 4, 3, 5, 6
    cell = torch.nn.LSTMCell(n_in, hidden).to(torch.float64 if dtype == np.float64
                                              else torch.float32)
    weights = [tg.Tensor(p.detach().numpy().copy(), requires_grad=True)
               for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    xs = rng.standard_normal((steps, n, n_in)).astype(dtype)
    h = c = np.zeros((n, hidden), dtype)
    th = tc = torch.zeros((n, hidden), dtype=cell.weight_ih.dtype)
    outs, touts = [], []
    for t in range(steps):
        h, c = lstm_cell(xs[t], h, c, *weights)
        th, tc = cell(torch.from_numpy(xs[t]), (th, tc))
        outs.append(h)
        touts.append(th)
    seed = rng.standard_normal((steps, n, hidden)).astype(dtype)
    (tg.stack(outs) * seed).sum().backward()
    (torch.stack(touts) * torch.from_numpy(seed)).sum().backward()
    tol = TOL[dtype] if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), **tol)
    np.testing.assert_allclose(c.numpy(), tc.detach().numpy(), **tol)
    for ours, p in zip(weights, (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)):
        np.testing.assert_allclose(ours.grad.numpy(), p.grad.numpy(), **tol)


def test_layer_gradcheck_through_five_time_steps():
    inputs = _lstm_inputs(np.random.default_rng(6))
    assert gradcheck(lambda *args: lstm(*args), inputs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_equals_the_unrolled_cell(dtype):
    rng = np.random.default_rng(7)
    raw = [a.numpy().astype(dtype) for a in _lstm_inputs(rng, steps=6, n=3, n_in=4, hidden=5)]
    ours = [tg.Tensor(a, requires_grad=True) for a in raw]
    cell = [tg.Tensor(a, requires_grad=True) for a in raw]
    out, h, c = lstm(*ours)
    out2, c2 = _unroll(6)(*cell)
    seed = rng.standard_normal(out.shape).astype(dtype)
    ((out * seed).sum() + 0.5 * h.sum() + 0.25 * c.sum()).backward()
    ((out2 * seed).sum() + 0.5 * out2[-1].sum() + 0.25 * c2.sum()).backward()
    tol = TOL[dtype] if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(out.numpy(), out2.numpy(), **tol)
    np.testing.assert_allclose(h.numpy(), out2.numpy()[-1], **tol)
    np.testing.assert_allclose(c.numpy(), c2.numpy(), **tol)
    for a, b in zip(ours, cell):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)


def test_layer_rejects_bad_shapes_and_half_the_biases():
    x, h, c, w_ih, w_hh, b_ih, _ = _lstm_inputs(np.random.default_rng(8))
    with pytest.raises(RuntimeError, match=r"lstm: input \(5, 2, 3\), h0 \(2, 3\)"):
        lstm(x, tg.zeros(2, 3), c, w_ih, w_hh)
    with pytest.raises(ValueError, match="both biases"):
        lstm(x, h, c, w_ih, w_hh, b_ih)


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
def test_layer_matches_torch_lstm():
    rng = np.random.default_rng(9)
    steps, n, n_in, hidden = 7, 3, 4, 5
    layer = torch.nn.LSTM(n_in, hidden).double()
    params = (layer.weight_ih_l0, layer.weight_hh_l0, layer.bias_ih_l0, layer.bias_hh_l0)
    weights = [tg.Tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
    x = rng.standard_normal((steps, n, n_in))
    h0, c0 = rng.standard_normal((n, hidden)), rng.standard_normal((n, hidden))
    out, h, c = lstm(x, h0, c0, *weights)
    tout, (th, tc) = layer(torch.from_numpy(x),
                           (torch.from_numpy(h0)[None], torch.from_numpy(c0)[None]))
    seed = rng.standard_normal(out.shape)
    ((out * seed).sum() + c.sum()).backward()
    ((tout * torch.from_numpy(seed)).sum() + tc.sum()).backward()
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **TOL[np.float64])
    np.testing.assert_allclose(h.numpy(), th[0].detach().numpy(), **TOL[np.float64])
    np.testing.assert_allclose(c.numpy(), tc[0].detach().numpy(), **TOL[np.float64])
    for ours, p in zip(weights, params):
        np.testing.assert_allclose(ours.grad.numpy(), p.grad.numpy(), rtol=1e-12, atol=1e-13)
