"""PyTorch's process-wide settings that have a meaning here: threads, printing,
determinism, anomaly detection, the default device, matmul precision.

* ``get_num_threads`` / ``set_num_threads``: the threads of the Numba kernels (the BLAS
  calls keep their own pool).
* ``set_printoptions``: numpy's print options, which ``repr(tensor)`` follows.
* ``use_deterministic_algorithms``: recorded and reported; every kernel here is
  deterministic already (fixed work split and summation order).
* ``set_float32_matmul_precision``: recorded; float32 matmuls always run in full float32.
"""
from __future__ import annotations

import numpy as np

from . import devices as _device
from .grad_mode import state as _state

_settings = {"deterministic": False, "warn_only": False, "matmul_precision": "highest"}


def get_num_threads() -> int:
    """How many threads the parallel kernels use."""
    import numba
    return int(numba.get_num_threads())


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the parallel kernels (1 .. the number they were started with)."""
    import numba
    top = numba.config.NUMBA_NUM_THREADS
    if not 1 <= int(n) <= top:
        raise ValueError(f"set_num_threads: expected 1 <= n <= {top} (NUMBA_NUM_THREADS), "
                         f"got {n}")
    numba.set_num_threads(int(n))


_PROFILES = {"default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
             "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
             "full": {"precision": 4, "threshold": np.inf, "edgeitems": 3, "linewidth": 80}}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """How tensors print (PyTorch's arguments, applied to numpy's print options)."""
    options = dict(_PROFILES[profile]) if profile is not None else {}
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems,
             "linewidth": linewidth}
    options.update({k: v for k, v in given.items() if v is not None})
    if sci_mode is not None:
        options["suppress"] = not sci_mode
    np.set_printoptions(**options)


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Recorded only: tinygrad_cs's results are bit-identical run to run regardless."""
    _settings["deterministic"], _settings["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _settings["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _settings["warn_only"]


def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Switch anomaly detection (``tg.detect_anomaly``) on or off in this thread."""
    _state.anomaly = bool(enabled)


def is_anomaly_enabled() -> bool:
    return _state.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    return _state.anomaly


def get_default_device() -> _device.device:
    return _device.CPU


def set_default_device(device) -> None:
    """Only the CPU is accepted (anything else raises, naming the device)."""
    _device.check(device, "set_default_device")


def set_float32_matmul_precision(precision: str) -> None:
    """Recorded only (``'highest'``, ``'high'`` or ``'medium'``): matmuls stay full float32."""
    if precision not in ("highest", "high", "medium"):
        raise ValueError(f"set_float32_matmul_precision: expected 'highest', 'high' or "
                         f"'medium', got {precision!r}")
    _settings["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    return _settings["matmul_precision"]
