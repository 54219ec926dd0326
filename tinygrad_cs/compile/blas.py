"""One OpenBLAS thread while a replay runs: ``single()`` before, ``restore()`` after.

Why (``lowered/__init__.py`` decides when): a small GEMM split across both cores is a
fork-join whose cost exceeds the work, and on a busy machine one descheduled thread stalls
every join. OpenBLAS's thread count is process-wide (``openblas_set_num_threads``; its
``_local`` variant proved to leak between threads in the build numpy ships), so nested or
concurrent replays share one count: the first to enter saves it, the last to leave
restores it. Without a loaded OpenBLAS (another BLAS, another OS) both are no-ops.
"""
from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

from ..kernels._threads import loaded_openblas

__all__ = ["restore", "single"]

# the symbols' names in plain OpenBLAS and in the scipy-openblas build numpy's wheels carry
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
                lib = ctypes.CDLL(path)
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
