"""Image-parallel execution for the convolutions: one slice of the batch per worker thread.

Why not Numba ``prange`` plus multi-threaded BLAS inside one call: a convolution step
alternates dozens of short kernels with dozens of small GEMMs, and every one of them is a
fork-join of all cores. Each join waits for the slowest thread, so on a busy machine a
single descheduled thread stalls every one of those barriers: measured here with other
processes running, such a step took 10-100x its quiet time. Instead, each worker runs the
whole pipeline (kernels and GEMMs, serially, on its own cache-sized scratch) for a
contiguous slice of the images, and the only synchronisation is the final join.

While the workers run, OpenBLAS runs on one thread (``blas_threads.single``, restored when
they are done: the count is process-wide), so the pool never oversubscribes the cores. (It
used to be set once per worker with ``openblas_set_num_threads_local``, which in numpy's
OpenBLAS sets the process-wide count: every product after the first convolution ran on one
thread.) The number of workers follows
``numba.get_num_threads()`` in the calling thread; a batch smaller than that uses fewer,
and a single slice runs in the calling thread.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba

from . import blas_threads

_lock = threading.Lock()
_pool: dict = {"executor": None, "size": 0, "pid": None}


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


def map_images(fn, n: int, *args, small: bool = False) -> list:
    """``[fn(n0, nb, *args) for each slice]`` over the workers; results in slice order.

    A single slice (one image, one thread, or ``small`` work, for which handing it to
    the workers would cost more than it saves) runs in the calling thread, whose BLAS
    calls keep their own threads.
    """
    workers = 1 if small else numba.get_num_threads()
    slices = split(n, workers)
    if len(slices) == 1:
        return [fn(0, n, *args)]
    pool = _executor(workers)
    blas_threads.single()
    try:
        futures = [pool.submit(fn, n0, nb, *args) for n0, nb in slices]
        return [f.result() for f in futures]
    finally:
        blas_threads.restore()
