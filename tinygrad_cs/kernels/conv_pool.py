"""Image-parallel execution for the convolutions: one slice of the batch per worker thread.

Why not Numba ``prange`` plus multi-threaded BLAS inside one call: a convolution step
alternates dozens of short kernels with dozens of small GEMMs, and every one of them is a
fork-join of all cores. Each join waits for the slowest thread, so on a busy machine a
single descheduled thread stalls every one of those barriers: measured here with other
processes running, such a step took 10-100x its quiet time. Instead, each worker runs the
whole pipeline (kernels and GEMMs, serially, on its own cache-sized scratch) for a
contiguous slice of the images, and the only synchronisation is the final join.

BLAS runs single-threaded while the slices run (``_blas_one_thread``), so the pool never
oversubscribes the cores.

Results depend only on the inputs. The batch is cut into ``SLICES`` slices (fewer for
small batches or small work), a number fixed by the problem, not by the thread count;
each slice computes the same bits on whichever thread runs it, and the callers add the
slices' partial sums (weight and bias gradients) in slice order. Whether a slice runs on
a worker or on the calling thread does not matter either: every slice's GEMMs run with
one BLAS thread (OpenBLAS' multi-threaded GEMM rounds differently from its
single-threaded one). The number of workers follows ``numba.get_num_threads()`` in
the calling thread, at most one per slice.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

from ._threads import loaded_openblas

#: Slices of a batch (fewer when the batch is smaller): fixed, so that results do not
#: depend on the thread count. Four keep two cores balanced (two slices each) and bound
#: the memory of the per-slice weight-gradient partials to four copies.
SLICES = 4

_lock = threading.Lock()
_pool: dict = {"executor": None, "size": 0, "pid": None}


def _blas_controls() -> list:
    """(get, set) of the thread count of every loaded OpenBLAS (names vary by build)."""
    controls = []
    for path in loaded_openblas():
        lib = ctypes.CDLL(path)  # already loaded: the same handle
        for get, put in _BLAS_NAMES:
            if hasattr(lib, get) and hasattr(lib, put):
                getter, setter = getattr(lib, get), getattr(lib, put)
                getter.restype, setter.argtypes = ctypes.c_int, [ctypes.c_int]
                controls.append((getter, setter))
                break
    return controls


_BLAS_NAMES = [("openblas_get_num_threads", "openblas_set_num_threads"),
               ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
               ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
               ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads")]
_blas: dict = {"depth": 0, "saved": [], "lock": threading.Lock()}


@contextlib.contextmanager
def _blas_one_thread():
    """OpenBLAS runs every call on its calling thread inside the block.

    OpenBLAS' thread count is process-wide (this build's "thread-local" setter changes it
    for every thread, measured), so it is set to 1 by the first caller to enter and put
    back by the last to leave; BLAS calls of other threads meanwhile run single-threaded
    too (the same bits, more slowly).
    """
    with _blas["lock"]:
        if _blas["depth"] == 0:
            controls = _blas_controls()
            _blas["saved"] = [(setter, getter()) for getter, setter in controls]
            for setter, _ in _blas["saved"]:
                setter(1)
        _blas["depth"] += 1
    try:
        yield
    finally:
        with _blas["lock"]:
            _blas["depth"] -= 1
            if _blas["depth"] == 0:
                for setter, count in _blas["saved"]:
                    setter(count)


def _executor(size: int) -> ThreadPoolExecutor:
    """The shared pool, re-created after a fork (threads do not survive it) or a resize."""
    with _lock:
        if _pool["executor"] is None or _pool["size"] != size or _pool["pid"] != os.getpid():
            old = _pool["executor"]
            if old is not None and _pool["pid"] == os.getpid():
                old.shutdown(wait=False)
            _pool.update(executor=ThreadPoolExecutor(size, "tinygrad_cs-conv"),
                         size=size, pid=os.getpid())
        return _pool["executor"]


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``[0, n)`` as ``parts`` contiguous (start, count) pieces, sizes differing by <= 1."""
    parts = max(1, min(parts, n))
    return [(i * (n // parts) + min(i, n % parts), n // parts + (i < n % parts))
            for i in range(parts)]


def chunks(n0: int, nb: int, per_image: int, cap: int) -> list[tuple[int, int]]:
    """Images ``n0 .. n0+nb-1`` as balanced (start, count) chunks of <= ``cap`` bytes each
    (at least one image), ``per_image`` bytes of scratch per image."""
    size = max(1, min(nb, cap // max(per_image, 1)))
    return [(n0 + a, b) for a, b in split(nb, -(-nb // size))] if nb else []


def slices(n: int, small: bool = False) -> list[tuple[int, int]]:
    """The fixed slices of a batch of ``n``: ``SLICES`` of them, one for ``small`` work."""
    return split(n, 1 if small else SLICES)


def map_images(fn, n: int, *args, small: bool = False) -> list:
    """``[fn(n0, nb, *args) for each slice]`` over the workers; results in slice order.

    The slices are ``slices(n, small)``: ``small`` work (for which handing it to the
    workers would cost more than it saves) is one slice. With one slice or one thread the
    slices run in the calling thread, one after another.
    """
    parts = slices(n, small)
    workers = min(len(parts), numba.get_num_threads())
    with _blas_one_thread():
        if workers <= 1:
            return [fn(n0, nb, *args) for n0, nb in parts]
        pool = _executor(workers)
        futures = [pool.submit(fn, n0, nb, *args) for n0, nb in parts]
        return [f.result() for f in futures]
