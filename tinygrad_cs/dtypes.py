"""Data types: numpy's, with float32 as the default for floating-point data.

As with ``torch.tensor``: a numpy array keeps its dtype, Python floats (and
lists of them) take the default dtype, Python ints become int64, bools bool.
"""
from __future__ import annotations

import numpy as np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int8, int16, int32, int64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)
float = float32
double = float64
long = int64

SUPPORTED = (float32, float64, float16, int8, int16, int32, int64, uint8, bool_)

_default = [float32]


def get_default_dtype() -> np.dtype:
    """The dtype given to Python floats (``tg.float32`` unless changed)."""
    return _default[0]


def set_default_dtype(dtype) -> None:
    """Set the dtype for Python floats and float factories: ``tg.float32`` or ``tg.float64``."""
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 are supported, got {dtype}")
    _default[0] = dtype


def check(dtype, op: str) -> np.dtype:
    """``dtype`` as a numpy dtype, or a TypeError naming ``op`` when unsupported."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{op}: {dtype!r} is not a dtype") from None
    if dtype not in SUPPORTED:
        names = ", ".join(str(d) for d in SUPPORTED)
        raise TypeError(f"{op}: unsupported dtype {dtype} (supported: {names})")
    return dtype
