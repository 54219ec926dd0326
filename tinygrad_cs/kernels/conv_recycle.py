"""Result arrays of the convolutions, recycled once nobody holds them any more.

An op's output and its gradients must be fresh arrays (the graph keeps them), but a new
8 MB array is often new memory: on this machine every first touch of a 4 KiB page costs
3-8 us, and glibc hands back unmapped pages whenever a step's large frees and allocations
interleave (measured: ~2,000 page faults, 6-15 ms, per 64-channel forward+backward). So
large results come from a pool keyed by shape and dtype: ``empty`` returns a pooled array
whose only remaining reference is the pool's own (the previous step's output, already
dropped by the graph), and otherwise allocates one and pools it. CPython's reference
count makes this exact: a view, a Tensor or any other holder of the array keeps it out.

Bounded: arrays under ``MIN_BYTES`` are not pooled, each key keeps at most ``PER_KEY``
arrays, and the pool stops growing at ``MAX_BYTES`` (``clear`` empties it).
"""
from __future__ import annotations

import math
import sys
import threading

import numpy as np

MIN_BYTES = 1 << 17  # glibc's default mmap threshold: larger blocks may be fresh pages
PER_KEY = 4
MAX_BYTES = 1 << 30

_lock = threading.Lock()
_pool: dict[tuple, list[np.ndarray]] = {}
_held = [0]
_FREE = 3  # references to a free pooled array in ``empty``: the list, ``a``, getrefcount's


def empty(shape: tuple, dtype) -> np.ndarray:
    """A C-contiguous array of ``shape``/``dtype`` (contents undefined) that no one else holds."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    key = (tuple(shape), dtype)
    with _lock:
        arrays = _pool.setdefault(key, [])
        for a in arrays:
            if sys.getrefcount(a) == _FREE:
                return a
        a = np.empty(shape, dtype)
        if len(arrays) < PER_KEY and _held[0] + nbytes <= MAX_BYTES:
            arrays.append(a)
            _held[0] += nbytes
        return a


def pooled(a: np.ndarray) -> bool:
    """Whether ``a`` is one of the pool's arrays (the pool then holds one reference to it,
    which ``Tensor._accumulate`` discounts when it takes a gradient as ``.grad``)."""
    arrays = _pool.get((a.shape, a.dtype))
    return arrays is not None and any(x is a for x in arrays)


def clear() -> None:
    """Drop the pool (arrays still in use elsewhere stay valid; the rest are freed)."""
    with _lock:
        _pool.clear()
        _held[0] = 0


def nbytes() -> int:
    """Bytes held by the pool (in use or free)."""
    return _held[0]
