"""Fused LSTM-cell pointwise math, forward and backward (PyTorch's gate order i, f, g, o).

The matrix products ``gates = x W_ih^T + b_ih + h W_hh^T + b_hh`` (N, 4H) stay in BLAS;
these kernels do everything after them in one pass over the (N, H) elements::

    i = sigmoid(gates[:, 0H:1H])    f = sigmoid(gates[:, 1H:2H])
    g = tanh(gates[:, 2H:3H])       o = sigmoid(gates[:, 3H:4H])
    c = f * c_prev + i * g          h = o * tanh(c)

Backward, from dh and dc (the gradient reaching c from outside the cell)::

    dc~     = dc + dh * o * (1 - tanh(c)^2)       (all that reaches c)
    dgates  = [dc~ g i (1 - i),  dc~ c_prev f (1 - f),  dc~ i (1 - g^2),  dh tanh(c) o (1 - o)]
    dc_prev = dc~ f

The forward keeps ``acts`` (N, 5H) = (i, f, g, o, tanh c) for the backward, so that no
transcendental function is evaluated twice.

Speed: without Intel's SVML, Numba calls libm's scalar tanhf/expf, which costs more than
everything else here. In float32, ``tanh`` is therefore a rational function (clamped to
[-9, 9], where float32 tanh is +-1): only multiply-adds, one division and two clamps, which
LLVM vectorises. Its error is below 4e-7 (about 3 float32 ulps near 1); sigmoid(x) =
(1 + tanh(x / 2)) / 2. In float64 (gradient checks) the kernels use libm's exact tanh.
Each row's inner loop is contiguous and SIMD; rows run in parallel (``prange`` over N) from
``PARALLEL_MIN`` elements on, serially below (an LSTM step of batch 32, hidden 256 takes
~15 us forward on one core).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange, types
from numba.extending import overload, register_jitable

from ._jit import kernel, parallel_kernel

# IEEE NaN/Inf semantics kept (no "nnan"/"ninf"): a NaN gate must come out as NaN.
# error_model="numpy" everywhere: Python's (a ZeroDivisionError check per division) keeps
# LLVM from vectorising the rational tanh.
# No "reassoc": every compilation must add in one order (sums.py).
FAST = {"nsz", "arcp", "contract", "afn"}
# Below this many (N x H) elements a step is a few microseconds on one core: waking the
# thread pool would cost more, and a serial kernel leaves no pool spinning into BLAS.
PARALLEL_MIN = 1 << 16

# tanh(x) ~ x P(x^2) / Q(x^2) on [-9, 9]: a near-minimax rational fit for this module
# (weighted least squares on Chebyshev nodes, reweighted towards equal relative error);
# relative error 7e-9 in float64, below 4e-7 once evaluated in float32.
_P0, _P1, _P2 = 9.9999999341998813e-01, 1.3084017492424882e-01, 3.1039643186522334e-03
_P3, _P4 = 1.1154388888810806e-05, -2.0225528439462154e-08
_P5, _P6 = 5.2780814051594902e-11, -8.4890211971899530e-14
_Q1, _Q2, _Q3 = 4.6417344603495791e-01, 2.4495211086271822e-02, 2.5461567765269354e-04


@register_jitable(fastmath=FAST, error_model="numpy")
def _tanh32(x):
    """Rational float32 tanh: clamp, two Horner polynomials, one division."""
    one = np.float32(1.0)
    x = min(max(x, np.float32(-9.0)), np.float32(9.0))
    y = x * x
    p = np.float32(_P6)
    p = p * y + np.float32(_P5)
    p = p * y + np.float32(_P4)
    p = p * y + np.float32(_P3)
    p = p * y + np.float32(_P2)
    p = p * y + np.float32(_P1)
    p = p * y + np.float32(_P0)
    q = np.float32(_Q3)
    q = q * y + np.float32(_Q2)
    q = q * y + np.float32(_Q1)
    q = q * y + one
    return min(max(x * p / q, -one), one)


def tanh(x):
    """tanh for the kernels: the rational form in float32, libm's in float64."""
    return math.tanh(x)


@overload(tanh)
def _tanh_overload(x):
    if x == types.float32:
        return lambda x: _tanh32(x)
    return lambda x: math.tanh(x)


@register_jitable(fastmath=FAST, error_model="numpy")
def _forward_row(gates, c_prev, out, acts, b):
    """Row ``b`` of the forward. 1-D views per gate: LLVM then vectorises the loop (indexing
    the 2-D arrays directly left it scalar, 8x slower)."""
    hidden = c_prev.shape[1]
    half = gates.dtype.type(0.5)
    gi, gf = gates[b, :hidden], gates[b, hidden:2 * hidden]
    gg, go = gates[b, 2 * hidden:3 * hidden], gates[b, 3 * hidden:]
    cp, h_out, c_out = c_prev[b], out[0, b], out[1, b]
    ai, af, ag = acts[b, :hidden], acts[b, hidden:2 * hidden], acts[b, 2 * hidden:3 * hidden]
    ao, at = acts[b, 3 * hidden:4 * hidden], acts[b, 4 * hidden:]
    for j in range(hidden):
        i = half + half * tanh(half * gi[j])
        f = half + half * tanh(half * gf[j])
        g = tanh(gg[j])
        o = half + half * tanh(half * go[j])
        c = f * cp[j] + i * g
        tc = tanh(c)
        h_out[j] = o * tc
        c_out[j] = c
        ai[j], af[j], ag[j], ao[j], at[j] = i, f, g, o, tc


@register_jitable(fastmath=FAST, error_model="numpy")
def _backward_row(acts, c_prev, dh, dc, dgates, dc_prev, b):
    """Row ``b`` of the backward (1-D views, as in ``_forward_row``)."""
    hidden = c_prev.shape[1]
    one = acts.dtype.type(1.0)
    ai, af, ag = acts[b, :hidden], acts[b, hidden:2 * hidden], acts[b, 2 * hidden:3 * hidden]
    ao, at = acts[b, 3 * hidden:4 * hidden], acts[b, 4 * hidden:]
    di, df = dgates[b, :hidden], dgates[b, hidden:2 * hidden]
    dg, do = dgates[b, 2 * hidden:3 * hidden], dgates[b, 3 * hidden:]
    cp, d_h, d_c_in, d_cp = c_prev[b], dh[b], dc[b], dc_prev[b]
    for j in range(hidden):
        i, f, g, o, tc = ai[j], af[j], ag[j], ao[j], at[j]
        d_c = d_c_in[j] + d_h[j] * o * (one - tc * tc)
        di[j] = d_c * g * i * (one - i)
        df[j] = d_c * cp[j] * f * (one - f)
        dg[j] = d_c * i * (one - g * g)
        do[j] = d_h[j] * tc * o * (one - o)
        d_cp[j] = d_c * f


@parallel_kernel(fastmath=FAST, error_model="numpy")
def lstm_forward(gates, c_prev, out, acts):
    """gates (N, 4H), c_prev (N, H)  ->  out (2, N, H) = (h, c), acts (N, 5H); rows in parallel."""
    for b in prange(c_prev.shape[0]):
        _forward_row(gates, c_prev, out, acts, b)


@kernel(fastmath=FAST, error_model="numpy")
def lstm_forward_serial(gates, c_prev, out, acts):
    """``lstm_forward`` on the calling thread alone."""
    for b in range(c_prev.shape[0]):
        _forward_row(gates, c_prev, out, acts, b)


@parallel_kernel(fastmath=FAST, error_model="numpy")
def lstm_backward(acts, c_prev, dh, dc, dgates, dc_prev):
    """acts (N, 5H), c_prev, dh, dc (N, H)  ->  dgates (N, 4H), dc_prev (N, H); rows in parallel."""
    for b in prange(c_prev.shape[0]):
        _backward_row(acts, c_prev, dh, dc, dgates, dc_prev, b)


@kernel(fastmath=FAST, error_model="numpy")
def lstm_backward_serial(acts, c_prev, dh, dc, dgates, dc_prev):
    """``lstm_backward`` on the calling thread alone."""
    for b in range(c_prev.shape[0]):
        _backward_row(acts, c_prev, dh, dc, dgates, dc_prev, b)


def forward(gates: np.ndarray, c_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run ``lstm_forward`` on fresh outputs: returns ``(out (2, N, H), acts (N, 5H))``."""
    n, hidden = c_prev.shape
    out = np.empty((2, n, hidden), dtype=gates.dtype)
    acts = np.empty((n, 5 * hidden), dtype=gates.dtype)
    (lstm_forward if n * hidden >= PARALLEL_MIN else lstm_forward_serial)(gates, c_prev, out,
                                                                          acts)
    return out, acts


def backward(acts: np.ndarray, c_prev: np.ndarray, dh: np.ndarray,
             dc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run ``lstm_backward`` on fresh outputs: returns ``(dgates (N, 4H), dc_prev (N, H))``."""
    n, hidden = c_prev.shape
    dgates = np.empty((n, 4 * hidden), dtype=acts.dtype)
    dc_prev = np.empty((n, hidden), dtype=acts.dtype)
    kernel = lstm_backward if n * hidden >= PARALLEL_MIN else lstm_backward_serial
    kernel(acts, c_prev, dh, dc, dgates, dc_prev)
    return dgates, dc_prev


def warm() -> None:
    """Compile (or load from the cache) the four kernels for float32 and float64."""
    for dtype in (np.float32, np.float64):
        gates, c_prev = np.zeros((2, 8), dtype), np.zeros((2, 2), dtype)
        out, acts = np.empty((2, 2, 2), dtype), np.empty((2, 10), dtype)
        dgates, dc_prev = np.empty_like(gates), np.empty_like(c_prev)
        for fwd, bwd in ((lstm_forward, lstm_backward),
                         (lstm_forward_serial, lstm_backward_serial)):
            fwd(gates, c_prev, out, acts)
            bwd(acts, c_prev, out[0], out[1], dgates, dc_prev)
