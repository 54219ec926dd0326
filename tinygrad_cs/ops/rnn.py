"""The LSTM cell: BLAS for the matrix products, one fused Numba kernel for the rest.

One step, as ``torch.nn.LSTMCell`` (gate order i, f, g, o)::

    gates = x W_ih^T + b_ih + h W_hh^T + b_hh                     (N, 4H)   two linear ops
    i, f, o = sigmoid(...), g = tanh(...); c' = f c + i g; h' = o tanh(c')   (N, H)  the kernel

An op has one output, so ``LSTMCellPointwise`` returns h' and c' stacked, (2, N, H), and
``lstm_cell`` takes them apart with two ``getitem`` views; their gradients meet again in
the stacked gradient (zeros where one of the two is unused). Formulas: ``kernels/lstm.py``.

``lstm`` runs a whole sequence as one op (``LSTMLayer``), as ``torch.nn.LSTM`` does: the
input products of all T steps are one GEMM (T N, in) x (in, 4H), and so are the weight
gradients, dW = dG^T [X | H_prev] over all T N rows, instead of 2 T small GEMMs plus T
gradient accumulations. What is recurrent (h W_hh^T, the cell, dG W_hh per step) is one
kernel call each way (``kernels/lstm_sequence.py``, which calls numpy's BLAS from inside
the kernel; where it cannot, the same steps run from Python).
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from ..kernels import lstm as K
from ..kernels import lstm_sequence as S
from ._util import shape_of
from .elementwise import add
from .linalg import linear
from .movement import getitem, reshape

__all__ = ["lstm_cell"]


class LSTMCellPointwise(Function):
    """(gates (N, 4H), c_prev (N, H)) -> stacked (h, c) of shape (2, N, H).

    The backward is the raw kernel (no double backward). float32 and float64 only.
    """
    once_differentiable = True

    @staticmethod
    def forward(ctx, gates, c_prev):
        gs, cs = np.shape(gates), np.shape(c_prev)
        if len(gs) != 2 or len(cs) != 2 or gs != (cs[0], 4 * cs[1]):
            raise RuntimeError(f"lstm_cell: gates {gs} and c_prev {cs} do not fit: expected "
                               "gates (N, 4H) and c_prev (N, H)")
        dtype = np.result_type(gates, c_prev)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"lstm_cell: expected float32 or float64 tensors, got {dtype}")
        gates = np.asarray(gates, dtype=dtype)
        c_prev = np.asarray(c_prev, dtype=dtype)
        out, acts = K.forward(gates, c_prev)
        ctx.save_for_backward(acts, c_prev)
        return out

    @staticmethod
    def backward(ctx, grad):
        acts, c_prev = ctx.saved_tensors
        dgates, dc_prev = K.backward(acts, c_prev, grad[0], grad[1])
        return dgates, (dc_prev if ctx.needs_input_grad[1] else None)


class LSTMLayer(Function):
    """(x (T, N, in), h0, c0 (N, H), w_ih (4H, in), w_hh (4H, H)[, b_ih, b_hh (4H,)])
    -> hc (T, 2, N, H): hc[t, 0] = h_t+1, hc[t, 1] = c_t+1 (the state after step t).

    Backward through time, from g = dhc: per step (latest first), with dh_next, dc_next
    the gradients coming back from step t+1 (zero after the last),
        dG_t, dc_t = kernel backward(g[t, 0] + dh_next, g[t, 1] + dc_next),
        dh_next = dG_t W_hh;
    then dx = dG W_ih, dW_ih = dG^T X, dW_hh = dG^T H_prev, db = sum dG (over T and N),
    dh0 = dh_next, dc0 = dc_next. The recurrence is one kernel call each way
    (``kernels/lstm_sequence.py``); the rest are single GEMMs. No double backward.
    """
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None):
        shapes = [np.shape(a) for a in (x, h0, c0, w_ih, w_hh)]
        if len(shapes[0]) != 3 or len(shapes[1]) != 2 or shapes[1] != shapes[2] or (
                shapes[3] != (4 * shapes[1][1], shapes[0][2])) or (
                shapes[4] != (4 * shapes[1][1], shapes[1][1])) or shapes[0][1] != shapes[1][0] or (
                shapes[0][0] < 1):
            raise RuntimeError(f"lstm: input {shapes[0]}, h0 {shapes[1]}, c0 {shapes[2]}, w_ih "
                               f"{shapes[3]}, w_hh {shapes[4]} do not fit: expected (T, N, in), "
                               "(N, H), (N, H), (4H, in), (4H, H), T >= 1")
        steps, n, n_in = shapes[0]
        hidden = shapes[1][1]
        dtype = np.result_type(x, h0, c0, w_ih, w_hh)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"lstm: expected float32 or float64 tensors, got {dtype}")
        x, h0, c0, w_ih, w_hh = (np.asarray(a, dtype=dtype) for a in (x, h0, c0, w_ih, w_hh))
        xw = np.reshape(x, (steps * n, n_in)) @ w_ih.T  # the input products: one GEMM
        for b in (b_ih, b_hh):
            if b is not None:
                xw += b
        xw = xw.reshape(steps, n, 4 * hidden)
        hc, acts = S.forward(xw, h0, c0, w_hh)  # the recurrence: one kernel call
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, hc, acts)
        return hc

    @staticmethod
    def backward(ctx, grad):
        x, h0, c0, w_ih, w_hh, hc, acts = ctx.saved_tensors
        needs = ctx.needs_input_grad
        steps, n, n_in = x.shape
        hidden = h0.shape[1]
        dgates, dh0, dc0 = S.backward(grad, acts, hc, c0, w_hh)  # one kernel call
        dg = dgates.reshape(steps * n, 4 * hidden)
        h_prev = np.empty((steps, n, hidden), acts.dtype)
        h_prev[0], h_prev[1:] = h0, hc[:-1, 0]
        dx = (dg @ w_ih).reshape(x.shape) if needs[0] else None
        dw_ih = dg.T @ x.reshape(steps * n, n_in) if needs[3] else None
        dw_hh = dg.T @ h_prev.reshape(steps * n, hidden) if needs[4] else None
        db = dg.sum(axis=0) if any(needs[5:]) else None
        return (dx, dh0 if needs[1] else None, dc0 if needs[2] else None, dw_ih,
                dw_hh, *([db] * (len(needs) - 5)))


def lstm(input, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None) -> tuple:
    """One LSTM layer over a sequence: ``(output (T, N, H), h_T (N, H), c_T (N, H))``.

    input (T, N, in) (sequence first, as ``torch.nn.LSTM``), initial state hx, cx (N, H),
    weights as ``lstm_cell``. The same result as ``lstm_cell`` applied T times, in one op.
    """
    if (b_ih is None) != (b_hh is None):
        raise ValueError("lstm: give both biases b_ih and b_hh, or neither")
    biases = () if b_ih is None else (b_ih, b_hh)
    hc = LSTMLayer.apply(input, hx, cx, w_ih, w_hh, *biases)
    return getitem(hc, (slice(None), 0)), getitem(hc, (-1, 0)), getitem(hc, (-1, 1))


def lstm_cell(x, hx, cx, w_ih, w_hh, b_ih=None, b_hh=None) -> tuple:
    """One LSTM step: ``(h', c')``, each (N, H), from x (N, in) and the state hx, cx (N, H).

    Weights as ``torch.nn.LSTMCell``: w_ih (4H, in), w_hh (4H, H), b_ih, b_hh (4H,).
    Unbatched inputs x (in,), hx, cx (H,) give (H,) outputs.
    """
    if len(shape_of(x)) == 1:
        h, c = lstm_cell(reshape(x, (1, -1)), reshape(hx, (1, -1)), reshape(cx, (1, -1)),
                         w_ih, w_hh, b_ih, b_hh)
        return reshape(h, (-1,)), reshape(c, (-1,))
    gates = add(linear(x, w_ih, b_ih), linear(hx, w_hh, b_hh))
    hc = LSTMCellPointwise.apply(gates, cx)
    return getitem(hc, 0), getitem(hc, 1)
