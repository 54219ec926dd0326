"""OpenBLAS's thread count: one thread for small products and for stretches of code that must
not fork-join, the whole pool otherwise.

OpenBLAS splits every product over its thread pool. For the small GEMMs of an MLP step
(64 x 128 x 128 is 1M multiply-adds, ~10 us on one core), waking the second thread and
joining it costs more than the half of the work it takes over, the more so between other
ops, when the pool has gone to sleep (``OPENBLAS_THREAD_TIMEOUT``, ``_threads.py``).
Measured on this machine (quiet, 2 cores): the MLP 64-128-128-10 step, batch 64, written
in numpy took 214 us with the pool and 133 us on one thread; the engine's eager step 383
against 333 us. Large products still gain from the pool (32 x 256 x 1024: 76 us with two
threads, 115 us with one), so ``matmul`` chooses per product: fewer than
``SERIAL_MAX_MACS`` multiply-adds run on one thread.

The count is process-wide. The OpenBLAS numpy ships (pthreads) has an
``openblas_set_num_threads_local``, but it sets the same global count: measured, a worker
thread that called it left the main thread's products on one thread for good. So
``single()`` / ``restore()`` set the global count (``openblas_set_num_threads``) and put it
back; nested and concurrent users share one saved value (the first to enter saves it, the
last to leave restores it). Other Python threads' products run on one thread meanwhile.
Users: ``matmul`` (``ops/linalg.py``), the convolution workers (``conv_pool.py``, which must
not each fork-join the pool), compiled replays of small float32 programs
(``compile/replay.py``, whose threshold is ``SERIAL_MAX_MACS`` too) and the LSTM kernels'
one-thread mode (``lstm_sequence.BLAS_THREADS``).

Bits: OpenBLAS divides the output among its threads, and float32 products gave the same
bits on one and two threads (9,000 random shapes, plain and transposed; the compiler's
tests check it on the machine they run on). Float64 products sometimes differ in the last
bit, so the choice depends only on the product's shape, never on timing: results stay
deterministic. Without an OpenBLAS we can drive (MKL, Accelerate, other systems) products
run as numpy runs them and ``single``/``restore`` do nothing.
"""
from __future__ import annotations

import ctypes
import math
import threading
from collections.abc import Callable

import numpy as np

from ._threads import loaded_openblas

__all__ = ["SERIAL_MAX_MACS", "matmul", "restore", "single"]

#: Products below this many multiply-adds (m * k * n, times the batch) run on one thread.
SERIAL_MAX_MACS = 1 << 21

# (get, set) symbol names in plain OpenBLAS and in the scipy-openblas build numpy's wheels use
_NAMES = (("openblas_get_num_threads", "openblas_set_num_threads"),
          ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
          ("openblas_get_num_threads64_", "openblas_set_num_threads64_"))

_lock = threading.Lock()
_state: dict = {"libs": None, "depth": 0, "saved": []}


def _libs() -> list[tuple[Callable[[], int], Callable[[int], None]]]:
    """(get, set) of each loaded OpenBLAS, found once."""
    if _state["libs"] is None:
        found = []
        for path in loaded_openblas():
            try:
                lib = ctypes.CDLL(path)  # already loaded: the same handle
            except OSError:
                continue
            for get_name, set_name in _NAMES:
                get, put = getattr(lib, get_name, None), getattr(lib, set_name, None)
                if get is not None and put is not None:
                    get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
                    found.append((get, put))
                    break
        _state["libs"] = found
    return _state["libs"]


def single() -> None:
    """Run OpenBLAS on one thread until the matching ``restore()``."""
    with _lock:
        if _state["depth"] == 0:
            libs = _libs()
            _state["saved"] = [get() for get, _ in libs]
            for _, put in libs:
                put(1)
        _state["depth"] += 1


def restore() -> None:
    """Undo one ``single()``; the last one puts the saved thread counts back."""
    with _lock:
        _state["depth"] -= 1
        if _state["depth"] == 0:
            for (_, put), n in zip(_libs(), _state["saved"]):
                put(n)


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
    if _macs(a, b) >= SERIAL_MAX_MACS or not _libs():
        return np.matmul(a, b)
    single()
    try:
        return np.matmul(a, b)
    finally:
        restore()
