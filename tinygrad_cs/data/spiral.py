"""The spiral data set of CS231n's "neural network case study": K interleaved arms in 2-D."""
from __future__ import annotations

import numpy as np

__all__ = ["spiral"]


def spiral(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2,
           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(X (K*N, 2) float32, y (K*N,) int64)``, the CS231n generator: for class j,
    ``r = linspace(0, 1, N)``, ``t = linspace(4j, 4(j+1), N) + noise * randn(N)`` and
    ``X = r * [sin t, cos t]``; ``randn`` is ``np.random.default_rng(seed)``'s.

    Not linearly separable: a softmax classifier gets about 50%, a two-layer net about 98%.
    """
    rng = np.random.default_rng(seed)
    X = np.zeros((n_per_class * n_classes, 2))
    y = np.zeros(n_per_class * n_classes, dtype=np.int64)
    for j in range(n_classes):
        rows = slice(n_per_class * j, n_per_class * (j + 1))
        r = np.linspace(0.0, 1, n_per_class)
        t = np.linspace(j * 4, (j + 1) * 4, n_per_class) + rng.standard_normal(n_per_class) * noise
        X[rows] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[rows] = j
    return X.astype(np.float32), y
