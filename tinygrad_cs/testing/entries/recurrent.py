"""Entries for the whole-sequence recurrent ops of ``nn/rnn_sequence.py`` (RNN, GRU).

Each op maps (x (T, N, I), h0 (N, H), weights) to all its states, (T+1, N, H); the
references below run the cell equations step by step in plain numpy. (The LSTM's layer op
lives in the engine, with its entries in ``rnn.py``.) Their backward is raw numpy (no
second order). Values stay in [-1, 1], where no gate saturates (a float64 finite difference keeps
its digits). The ReLU RNN draws ``b_ih`` with |b_ih| in [1, 2] and everything else small,
so that no pre-activation comes near the kink at 0.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ...ops import rnn_sequence as S
from ..registry import register
from ..strategies import arrays, floats

_UNIT = floats(-1.0, 1.0)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _steps(seq: int, reverse: bool):
    return range(seq - 1, -1, -1) if reverse else range(seq)


def _rnn_reference(reverse: bool, act):
    def reference(x, h, w_ih, w_hh, b_ih, b_hh):
        states = [h]
        for t in _steps(x.shape[0], reverse):
            h = act(x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
            states.append(h)
        return np.stack(states)
    return reference


def _gru_reference(reverse: bool):
    def reference(x, h, w_ih, w_hh, b_ih, b_hh):
        states = [h]
        for t in _steps(x.shape[0], reverse):
            i_r, i_z, i_n = np.split(x[t] @ w_ih.T + b_ih, 3, axis=1)
            h_r, h_z, h_n = np.split(h @ w_hh.T + b_hh, 3, axis=1)
            r, z = _sigmoid(i_r + h_r), _sigmoid(i_z + h_z)
            n = np.tanh(i_n + r * h_n)
            h = (1 - z) * n + z * h
            states.append(h)
        return np.stack(states)
    return reference


@st.composite
def _args(draw, gates: int, b_ih=_UNIT, others=_UNIT):
    """``(x (T, N, I), h0 (N, H), W_ih, W_hh, b_ih, b_hh)`` for ``gates`` gate blocks."""
    seq, n, n_in, hidden = (draw(st.integers(1, 3)) for _ in range(4))
    shapes = [(seq, n, n_in), (n, hidden), (gates * hidden, n_in), (gates * hidden, hidden)]
    out = [draw(arrays(s, elements=others, contiguous=True)) for s in shapes]
    out.append(draw(arrays((gates * hidden,), elements=b_ih, contiguous=True)))
    out.append(draw(arrays((gates * hidden,), elements=others, contiguous=True)))
    return tuple(out)


_TOL = {"second_order": False, "forward_rtol": 1e-12, "forward_atol": 1e-13}
_RELU_ARGS = _args(1, b_ih=st.one_of(floats(1.0, 2.0), floats(-2.0, -1.0)),
                   others=floats(-0.05, 0.05))

for _reverse, _suffix in ((False, ""), (True, ",reverse")):
    register(f"rnn_sequence[tanh{_suffix}]",
             lambda *a, _r=_reverse: S.RNNSequence.apply(*a, reverse=_r),
             reference=_rnn_reference(_reverse, np.tanh), inputs=_args(1),
             covers=S.RNNSequence, **_TOL)
    register(f"rnn_sequence[relu{_suffix}]",
             lambda *a, _r=_reverse: S.RNNSequence.apply(*a, reverse=_r, nonlinearity="relu"),
             reference=_rnn_reference(_reverse, lambda a: np.maximum(a, 0)),
             inputs=_RELU_ARGS, covers=S.RNNSequence, **_TOL)
    register(f"gru_sequence[{_suffix.lstrip(',') or 'forward'}]",
             lambda *a, _r=_reverse: S.GRUSequence.apply(*a, reverse=_r),
             reference=_gru_reference(_reverse), inputs=_args(3), covers=S.GRUSequence,
             **_TOL)
