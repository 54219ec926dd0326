"""Numba kernels of the hot ops, each beside a plain-numpy reference (``*_reference.py``).

Every kernel is compiled through ``_jit`` (``@kernel`` / ``@parallel_kernel``: cached machine
code, with a fallback when no cache location is writable). Importing this package first
runs ``_threads.configure()``, which stops OpenBLAS's idle threads from spinning while our
kernels run; it must happen before numpy loads, so this file imports neither numpy nor
numba, and ``tinygrad_cs/__init__.py`` imports it first. ``_malloc.configure()`` then keeps
freed array memory mapped, so fresh outputs do not page-fault on every step.

Convention: a kernel module may define ``warm()``, which calls each of its kernels once on
tiny inputs (compiling them, or loading them from the cache). ``warm_all()`` runs every such
function: the cold-compile benchmark times it, and ``tgcs warmup`` calls it (in parallel
processes, ``warm_parallel``) so that the first real run loads every kernel from the cache.
``is_cold()`` says whether that has happened for this install (a stamp file beside the
cache, named after the versions of tinygrad_cs, Numba and Python). While it is cold, a
``tgcs train`` of the main job's model hands the kernels it will need later to a helper
process (``_background.py``, working from the list in ``_first_run.py``), so two cores
share the compiling; ``_cache_lock.py`` keeps two compiling processes from corrupting the cache.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time

from . import _malloc, _threads

_threads.configure()
_malloc.configure()


def kernel_modules() -> list[str]:
    """Names of the kernel modules (the references and private helpers left out)."""
    return [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_") and not m.name.endswith("_reference")]


def warm_all() -> dict[str, bool]:
    """Import every kernel module and call its ``warm()``; ``{module: had a warm()}``."""
    done = {}
    for name in kernel_modules():
        warm = getattr(importlib.import_module(name), "warm", None)
        if warm is not None:
            warm()
        done[name] = warm is not None
    return done


def warm_module(name: str) -> float:
    """Import kernel module ``name`` and run its ``warm()`` (if any); seconds it took."""
    start = time.perf_counter()
    warm = getattr(importlib.import_module(name), "warm", None)
    if warm is not None:
        warm()
    return time.perf_counter() - start


def warm_parallel(processes: int | None = None, report=None) -> dict[str, float]:
    """``warm_all`` spread over ``processes`` worker processes (default: the CPU count), each
    compiling whole modules into the shared on-disk cache; ``{module: seconds}``.
    ``report(module, seconds)`` is called as each finishes. Marks the install warm."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    names = kernel_modules()
    times: dict[str, float] = {}
    workers = max(1, min(processes or os.cpu_count() or 1, len(names)))
    # spawn: a forked child of a process that ran an OpenMP kernel dies (DESIGN.md)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(warm_module, name): name for name in names}
        for future in as_completed(futures):
            name = futures[future]
            times[name] = future.result()
            if report is not None:
                report(name, times[name])
    mark_warm()
    return times


def _stamp() -> str | None:
    from . import _jit
    import numba

    from .. import __version__
    folder = _jit.cache_dir()
    if folder is None:
        return None
    version = f"{__version__}-numba{numba.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    return os.path.join(folder, f"tinygrad_cs-warm-{version}")


def is_cold() -> bool:
    """True until ``tgcs warmup`` (``warm_parallel``) or a finished run has compiled the
    kernels for this install; False when nothing can be cached (nothing to warn about)."""
    stamp = _stamp()
    return stamp is not None and not os.path.exists(stamp)


def mark_warm() -> None:
    """Record that this install's kernels are compiled (``is_cold()`` is then False)."""
    stamp = _stamp()
    if stamp is not None:
        with open(stamp, "w") as f:
            f.write("compiled kernels are in this cache\n")
