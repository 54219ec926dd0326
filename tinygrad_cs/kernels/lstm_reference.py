"""Plain-numpy reference of the fused LSTM-cell kernels (``lstm.py``): the tests' oracle.

Same contract as ``lstm.forward`` / ``lstm.backward``, computed with numpy's exact
transcendental functions; see ``lstm.py`` for the formulas.
"""
from __future__ import annotations

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * x)  # = 1 / (1 + e^-x), without overflow


def forward(gates: np.ndarray, c_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gates (N, 4H), c_prev (N, H) -> (out (2, N, H) = (h, c), acts (N, 5H))."""
    i, f, g, o = np.split(gates, 4, axis=1)
    i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
    c = f * c_prev + i * g
    tc = np.tanh(c)
    return np.stack([o * tc, c]), np.concatenate([i, f, g, o, tc], axis=1)


def backward(acts: np.ndarray, c_prev: np.ndarray, dh: np.ndarray,
             dc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """acts (N, 5H), c_prev, dh, dc (N, H) -> (dgates (N, 4H), dc_prev (N, H))."""
    i, f, g, o, tc = np.split(acts, 5, axis=1)
    d_c = dc + dh * o * (1 - tc * tc)
    dgates = np.concatenate([d_c * g * i * (1 - i), d_c * c_prev * f * (1 - f),
                             d_c * i * (1 - g * g), dh * tc * o * (1 - o)], axis=1)
    return dgates, d_c * f
