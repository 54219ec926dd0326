"""Numba kernels of the hot ops, each beside a plain-numpy reference (``*_reference.py``).

Every kernel is compiled through ``_jit`` (``@kernel`` / ``@parallel_kernel``: cached machine
code, with a fallback when no cache location is writable). Importing this package first
runs ``_threads.configure()``, which stops OpenBLAS's idle threads from spinning while our
kernels run; it must happen before numpy loads, so this file imports neither numpy nor
numba, and ``tinygrad_cs/__init__.py`` imports it first.

Convention: a kernel module may define ``warm()``, which calls each of its kernels once on
tiny inputs (compiling them, or loading them from the cache). ``warm_all()`` runs every such
function: the cold-compile benchmark times it, and a program can call it at start-up.
"""
from __future__ import annotations

import importlib
import pkgutil

from . import _threads

_threads.configure()


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
