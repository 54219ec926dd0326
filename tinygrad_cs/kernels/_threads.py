"""Keep OpenBLAS's thread pool from spinning while Numba's kernels run (and vice versa).

Both pools busy-wait for new work after finishing a job instead of sleeping at once:
OpenBLAS's idle workers spin for 2^28 CPU cycles (about 0.1 s here) after every BLAS call,
libgomp's (Numba's OpenMP layer) for a few hundred microseconds after every parallel kernel.
With as many pool threads as cores, a pool that spins while the other one works steals a
core from it, and the worker it starves holds up the whole parallel region. A parallel
kernel followed by a numpy matmul, in a loop, ran 33x slower than the two alone (2 cores).

The main fix is on the OpenBLAS side: its idle workers go to sleep after 2^4 cycles
(``OPENBLAS_THREAD_TIMEOUT=4``); waking them costs microseconds per BLAS call, which
measured as no loss (``benchmarks/bench_threads.py``). OpenBLAS reads that variable once,
when it loads, so ``configure()`` runs before numpy is imported (first line of
``tinygrad_cs/__init__.py``). If the user imported numpy first, its OpenBLAS already runs
with the default timeout: we set the variable, make every loaded OpenBLAS re-read its
environment (``openblas_read_env``) and restart its pool (``blas_thread_shutdown_`` then
``blas_thread_init``, the calls OpenBLAS itself makes around ``fork()``).

On the libgomp side, its idle threads spin ``GOMP_SPINCOUNT`` times (300,000 by default)
before they sleep. That spin is short next to one kernel, but the convolutions run on a
pool of their own (``conv_pool``): after every batch-norm or pooling kernel, Numba's
OpenMP worker spins on one of the two cores while a convolution worker needs it. Measured
on the ResNet-8 training step alone (2 cores, quiet, three processes each): 49-52 ms with
the default spin, 45-48 ms with 100,000, 37-39 ms with 30,000, 34-36 ms with 10,000. Too
short a spin has its own cost: a small parallel kernel alternating with a matmul (an LSTM
step, ``benchmarks/bench_threads.py``) then finds the workers asleep every time, 2.2x the
two calls alone at 10,000 against 1.07x at 30,000. We set ``GOMP_SPINCOUNT=30000``
(``GOMP_SPIN``). libgomp reads it when it loads, which Numba does at the first parallel
kernel, after this module has run. ``OMP_WAIT_POLICY=PASSIVE`` (no spin at all) slowed short
kernels 2-4x. A user's own ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY`` is kept.

A user's own ``OPENBLAS_THREAD_TIMEOUT`` is never overridden; ``TINYGRAD_CS_THREAD_FIX=0``
turns the whole fix off. This module imports neither numpy nor numba (it must run before
them); ``info()`` reports what was done.
"""
from __future__ import annotations

import ctypes
import os
import sys

TIMEOUT = "4"  # OpenBLAS clamps to [4, 30]; the idle spin lasts 2^TIMEOUT cycles
GOMP_SPIN = "30000"  # libgomp's idle spin, in iterations (default 300,000)

_status: dict = {"configured": False, "numpy_was_loaded": None, "restarted": []}


def enabled() -> bool:
    """False when the user opted out with ``TINYGRAD_CS_THREAD_FIX=0``."""
    return os.environ.get("TINYGRAD_CS_THREAD_FIX", "1").strip().lower() not in (
        "0", "false", "no", "off")


def configure() -> None:
    """Set the OpenBLAS timeout; if OpenBLAS is already loaded, restart its pool with it."""
    if _status["configured"]:
        return
    _status["configured"] = True
    _status["numpy_was_loaded"] = "numpy" in sys.modules
    if not enabled():
        return
    if "GOMP_SPINCOUNT" not in os.environ and "OMP_WAIT_POLICY" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = GOMP_SPIN
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = TIMEOUT  # os.environ also calls C putenv
    for path in loaded_openblas():
        if _restart_pool(path):
            _status["restarted"].append(path)


def loaded_openblas() -> list[str]:
    """Paths of the OpenBLAS libraries mapped into this process (Linux; [] elsewhere)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split(None, 5)[-1].strip() for line in maps if "openblas" in line}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.basename(p).startswith("lib") and ".so" in p)


def _restart_pool(path: str) -> bool:
    """Make one loaded OpenBLAS re-read its environment and restart its threads."""
    try:
        lib = ctypes.CDLL(path)  # already loaded: dlopen returns the same handle
        read_env, shutdown = lib.openblas_read_env, lib.blas_thread_shutdown_
        init = lib.blas_thread_init
    except (OSError, AttributeError):  # not a pthreads OpenBLAS build we know
        return False
    read_env()
    shutdown()
    init()  # recent OpenBLAS would also re-create the pool lazily on the next call
    return True


def info() -> dict:
    """What ``configure`` did, the OpenBLAS libraries loaded, and Numba's threading layer."""
    layer = None
    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            layer = numba.threading_layer()
        except ValueError:  # no parallel kernel has run yet
            layer = None
    gomp = []
    try:
        with open("/proc/self/maps") as maps:
            gomp = sorted({line.split(None, 5)[-1].strip() for line in maps
                           if "libgomp" in line or "libiomp" in line or "libtbb" in line})
    except OSError:
        pass
    return {**_status, "enabled": enabled(),
            "OPENBLAS_THREAD_TIMEOUT": os.environ.get("OPENBLAS_THREAD_TIMEOUT"),
            "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT"),
            "openblas": loaded_openblas(), "threading_layer": layer, "thread_runtimes": gomp}
