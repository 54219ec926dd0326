"""How every Numba kernel of the engine is compiled: ``@kernel`` / ``@parallel_kernel``.

``cache=True`` keeps compiled machine code between processes (a warm start
loads a kernel in well under a second instead of compiling it again). Numba
refuses ``cache=True`` at decoration time when it finds no writable cache
location, so before the first kernel is defined we check for one, in Numba's own
order: ``NUMBA_CACHE_DIR`` when it is set (a private cache for one run: tests, cold-start
timing), the package's own ``__pycache__``, the user cache directory, else a private
temporary directory; only if none is writable do kernels compile without caching.
``cache_dir()`` names the one Numba uses, so the "kernels are compiled" stamp lives beside them.
"""
from __future__ import annotations

import os
import tempfile

import numba

from . import _cache_lock

_HERE = os.path.dirname(os.path.abspath(__file__))


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def _choose_cache() -> bool:
    """Make sure Numba has somewhere to cache; return whether caching is possible."""
    if numba.config.CACHE_DIR and _writable(numba.config.CACHE_DIR):
        return True                        # Numba's first choice when the user sets it
    if _writable(os.path.join(_HERE, "__pycache__")):
        return True
    candidates = [numba.config.CACHE_DIR,
                  os.path.join(os.path.expanduser("~"), ".cache", "tinygrad_cs", "numba"),
                  os.path.join(tempfile.gettempdir(), f"tinygrad_cs-numba-{os.getuid()}")]
    for path in candidates:
        if path and _writable(path):
            numba.config.CACHE_DIR = path
            return True
    return False


CACHE = _choose_cache()
# processes compiling into one cache (a run and its background compile) must not race
LOCKED = CACHE and _cache_lock.install()


def cache_dir() -> str | None:
    """Where compiled kernels are kept (None when nothing can be cached)."""
    if not CACHE:
        return None
    chosen = numba.config.CACHE_DIR
    if chosen and _writable(chosen):
        return chosen
    here = os.path.join(_HERE, "__pycache__")
    return here if _writable(here) else chosen


def kernel(fn=None, **options):
    """``numba.njit`` with the engine's defaults (cached, no Python fallback)."""
    options.setdefault("cache", CACHE)
    options.setdefault("nogil", True)
    return numba.njit(**options)(fn) if fn is not None else numba.njit(**options)


def parallel_kernel(fn=None, **options):
    """``kernel`` with ``parallel=True``: loops written with ``numba.prange`` use every core."""
    options.setdefault("parallel", True)
    return kernel(fn, **options)
