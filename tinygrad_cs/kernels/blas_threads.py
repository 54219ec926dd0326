"""How many threads a matrix product gets: one for small products, OpenBLAS's pool for the rest.

OpenBLAS splits every product over its thread pool. For the small GEMMs of an MLP step
(64 x 128 x 128 is 1M multiply-adds, ~10 us on one core) waking the second thread and
joining it costs more than the half of the work it takes over, the more so between other
ops, when the pool has gone to sleep (``OPENBLAS_THREAD_TIMEOUT``, ``_threads.py``).
Measured on this machine (quiet, 2 cores): the MLP 64-128-128-10 step, batch 64, written
in numpy took 214 us with the pool and 133 us on one thread; the engine's eager step 383
against 314 us. Large products still gain from the pool (32 x 256 x 1024: 76 us with two
threads, 115 us with one), so the choice is per product: fewer than ``SERIAL_MAX_MACS``
multiply-adds run on one thread.

The switch is ``openblas_set_num_threads_local`` (OpenBLAS >= 0.3.27): it changes only the
calling thread's setting and is restored right after the product, so the user's own numpy
code keeps its threads. The results are the same bits either way (OpenBLAS divides the
output among threads; every element is summed over k in the same order: checked for
products from 64 x 64 x 128 to 256 x 256 x 256, plain and transposed). Where numpy's BLAS
is not an OpenBLAS with that function (MKL, Accelerate, older OpenBLAS), products run as
numpy runs them.
"""
from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Callable

import numpy as np

from ._threads import loaded_openblas

#: Products below this many multiply-adds (m * k * n, times the batch) run on one thread.
SERIAL_MAX_MACS = 1 << 21


def _numpy_openblas() -> list[Callable[[int], int]]:
    """``openblas_set_num_threads_local`` of the OpenBLAS numpy uses (when several are
    loaded, the one shipped inside numpy's own wheel folder; else every one)."""
    paths = loaded_openblas()
    numpy_dir = os.path.dirname(os.path.dirname(np.__file__))
    own = [p for p in paths if p.startswith(os.path.join(numpy_dir, "numpy"))]
    setters = []
    for path in own or paths:
        try:
            fn = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):  # not OpenBLAS >= 0.3.27
            continue
        fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
        setters.append(fn)
    return setters


_SETTERS = _numpy_openblas()


def _macs(a: np.ndarray, b: np.ndarray) -> int:
    """Multiply-adds of ``np.matmul(a, b)``: batch * m * k * n (a 1-D ``a`` is one row, a
    1-D ``b`` one column; the batch is the broadcast of the leading dims)."""
    m = a.shape[-2] if a.ndim > 1 else 1
    n = b.shape[-1] if b.ndim > 1 else 1
    batch = 1
    if a.ndim > 2 or b.ndim > 2:
        batch = math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    return batch * m * a.shape[-1] * n


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)``, on one BLAS thread when it is small (see the module docstring)."""
    if not _SETTERS or _macs(a, b) >= SERIAL_MAX_MACS:
        return np.matmul(a, b)
    previous = [fn(1) for fn in _SETTERS]
    try:
        return np.matmul(a, b)
    finally:
        for fn, count in zip(_SETTERS, previous):
            fn(count)
