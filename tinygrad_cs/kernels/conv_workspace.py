"""Reused scratch buffers for the convolution kernels (one set per thread).

Memory freshly mapped from the OS costs ~3 us per 4 KiB page on first touch here, so a
64 MB im2col buffer allocated per call would cost ~50 ms before any arithmetic. Instead
each *role* (``"cols"``, ``"vt"``, ...) owns one flat buffer per dtype that only grows:
``get`` returns a view of its first ``prod(shape)`` elements. A network's convolutions
of different shapes therefore share one buffer per role, as large as the largest layer
needs.

Scratch only: a view from ``get`` is valid until the next ``get`` of the same role on
this thread, so it is never returned to the caller or saved for backward. Buffers are
per thread so that two threads running convolutions never share scratch.
"""
from __future__ import annotations

import math
import threading

import numpy as np

_local = threading.local()


def get(role: str, shape: tuple, dtype) -> np.ndarray:
    """A C-contiguous scratch array of ``shape``/``dtype`` (contents undefined)."""
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    key = (role, dtype)
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        buffers.pop(key, None)  # free the old buffer before mapping the larger one
        buf = buffers[key] = np.empty(size, dtype)
    return buf[:size].reshape(shape)


def rows(role: str, count: int, width: int, dtype) -> np.ndarray:
    """A (count, S) scratch array, S >= width, whose rows start on distinct L1 cache sets.

    Kernels that stream through many rows at once (16 Winograd planes, 9 im2col rows) would
    otherwise, when the row length is a multiple of 4 KiB, map every row to the same L1 set
    and thrash it (8 ways): here the row length is an odd number of 64-byte lines, so the
    rows' start addresses fall on distinct sets. Use ``[:, :width]`` for the data.
    """
    itemsize = np.dtype(dtype).itemsize
    lines = -(-width * itemsize // 64)
    lines += 1 - lines % 2
    return get(role, (count, lines * 64 // itemsize), dtype)


def clear() -> None:
    """Release this thread's scratch buffers (they are re-created on demand)."""
    _local.buffers = {}


def nbytes() -> int:
    """Bytes currently held by this thread's scratch buffers."""
    return sum(b.nbytes for b in getattr(_local, "buffers", {}).values())
