"""Entries for the LSTM cell and layer (``tinygrad_cs/ops/rnn.py``).

The ops' backwards are raw kernels (no second order). Gates are drawn in
[-3, 3]: the sigmoids and tanh stay away from saturation, where a float64 finite
difference loses its digits.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ...kernels import lstm_reference as R
from ...ops import rnn
from ..registry import register
from ..strategies import arrays, floats

_GATES = floats(-3.0, 3.0)


@st.composite
def _pointwise_args(draw):
    """``(gates (N, 4H), c_prev (N, H))``."""
    n, hidden = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return (draw(arrays((n, 4 * hidden), elements=_GATES, contiguous=True)),
            draw(arrays((n, hidden), elements=_GATES, contiguous=True)))


def _cell_reference(x, h, c, w_ih, w_hh, b_ih, b_hh):
    out, _ = R.forward(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, c)
    return out[0], out[1]


@st.composite
def _cell_args(draw):
    """``(x, hx, cx, w_ih, w_hh, b_ih, b_hh)`` with PyTorch's LSTMCell shapes."""
    n, n_in, hidden = (draw(st.integers(1, 3)) for _ in range(3))
    small = floats(-1.0, 1.0)
    shapes = ((n, n_in), (n, hidden), (n, hidden), (4 * hidden, n_in), (4 * hidden, hidden),
              (4 * hidden,), (4 * hidden,))
    return tuple(draw(arrays(s, elements=small, contiguous=True)) for s in shapes)


register("lstm_cell_pointwise", lambda gates, c: rnn.LSTMCellPointwise.apply(gates, c),
         reference=lambda gates, c: R.forward(gates, c)[0], inputs=_pointwise_args(),
         covers=rnn.LSTMCellPointwise, second_order=False, forward_rtol=1e-12,
         forward_atol=1e-14)
register("lstm_cell", lambda *args: rnn.lstm_cell(*args), reference=_cell_reference,
         inputs=_cell_args(), covers=rnn.LSTMCellPointwise, second_order=False,
         forward_rtol=1e-12, forward_atol=1e-14)


def _layer_reference(xs, h, c, w_ih, w_hh, b_ih, b_hh):
    outs = []
    for x in xs:
        h, c = _cell_reference(x, h, c, w_ih, w_hh, b_ih, b_hh)
        outs.append(h)
    return np.stack(outs), h, c


@st.composite
def _layer_args(draw):
    """``(x (T, N, in), h0, c0, w_ih, w_hh, b_ih, b_hh)``, T up to 3."""
    steps, n, n_in, hidden = (draw(st.integers(1, 3)) for _ in range(4))
    small = floats(-1.0, 1.0)
    shapes = ((steps, n, n_in), (n, hidden), (n, hidden), (4 * hidden, n_in),
              (4 * hidden, hidden), (4 * hidden,), (4 * hidden,))
    return tuple(draw(arrays(s, elements=small, contiguous=True)) for s in shapes)


register("lstm", lambda *args: rnn.lstm(*args), reference=_layer_reference,
         inputs=_layer_args(), covers=rnn.LSTMLayer, second_order=False,
         forward_rtol=1e-12, forward_atol=1e-14)
register("lstm[no bias]", lambda *args: rnn.lstm(*args[:5]),
         reference=lambda *args: _layer_reference(*args[:5], 0.0, 0.0), inputs=_layer_args(),
         covers=rnn.LSTMLayer, second_order=False, forward_rtol=1e-12, forward_atol=1e-14)
