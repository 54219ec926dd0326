"""The LSTM cell: BLAS for the matrix products, one fused Numba kernel for the rest.

One step, as ``torch.nn.LSTMCell`` (gate order i, f, g, o)::

    gates = x W_ih^T + b_ih + h W_hh^T + b_hh                     (N, 4H)   two linear ops
    i, f, o = sigmoid(...), g = tanh(...); c' = f c + i g; h' = o tanh(c')   (N, H)  the kernel

An op has one output, so ``LSTMCellPointwise`` returns h' and c' stacked, (2, N, H), and
``lstm_cell`` takes them apart with two ``getitem`` views; their gradients meet again in
the stacked gradient (zeros where one of the two is unused). Formulas: ``kernels/lstm.py``.
"""
from __future__ import annotations

import numpy as np

from ..function import Function
from ..kernels import lstm as K
from ._util import shape_of
from .elementwise import add
from .linalg import linear
from .movement import getitem, reshape


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
