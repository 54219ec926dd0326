"""The oracle for ``erf.py``: Python's ``math.erf`` element by element (slow, plainly right)."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["erf_array"]


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf of each element of ``x`` (same shape; float dtype kept, integers -> float64)."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    return np.array([math.erf(v) for v in x.reshape(-1).tolist()], dtype=dtype).reshape(x.shape)
