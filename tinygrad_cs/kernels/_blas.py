"""numpy's own BLAS GEMM, callable from inside a Numba kernel: ``gemm(...)`` in nopython mode.

Why: a kernel that runs a whole recurrence (``lstm_sequence.py``) needs a matrix product per
time step without returning to Python. Numba's own ``np.dot`` works inside ``njit`` but goes
through SciPy's bundled OpenBLAS (``scipy.linalg.cython_blas``), which measured ~25% slower
here than numpy's bundled one on the LSTM's (32, 256) x (256, 1024) step; and SciPy is not a
dependency of the engine. So we call the library numpy itself loaded.

How the library is found: numpy is imported, so its BLAS is mapped into the process. We read
``/proc/self/maps`` for loaded OpenBLAS libraries (``_threads.loaded_openblas``), preferring
one in numpy's own wheel folder (``numpy.libs`` beside the package, or ``numpy/.libs``), and
also look in that folder directly where ``/proc`` does not exist. ``ctypes.CDLL`` of an
already loaded path returns the same handle, so nothing new is loaded.

Which symbol, which integer width: numpy's wheels ship OpenBLAS built with 64-bit integers
(ILP64) and a symbol suffix ``64_`` (numpy 2: also the prefix ``scipy_``, e.g.
``scipy_sgemm_64_``; numpy 1.x: ``sgemm_64_``). A ``64_`` suffix means 64-bit integers. A
plain ``sgemm_`` (e.g. a system OpenBLAS) is LP64 unless ``openblas_get_config()`` says
``USE64BITINT``; without that function we cannot tell the width and use no BLAS at all.

We bind the Fortran interface (``sgemm_`` / ``dgemm_``, column-major), where every argument
is passed by pointer: the integer width is then only the dtype of a small array the caller
fills (``int_dtype()``), and one compiled kernel serves both widths. The symbol's address is
registered with LLVM under a fixed name (``tgcs_sgemm`` / ``tgcs_dgemm``) and the kernels
call it by that name (``numba.types.ExternalFunction``), so their machine code holds no
process-specific address and can be cached on disk like every other kernel.

When nothing usable is found (MKL, Accelerate, an unknown build), ``available()`` is False,
no symbol is registered, and callers keep their numpy path; importing never fails.
The thread count is ``blas_threads.py``'s business.
"""
from __future__ import annotations

import ctypes
import glob
import os

import numpy as np
from llvmlite import binding as llvm
from numba import types
from numba.extending import overload

from . import _threads

_PTR = types.voidptr
# Fortran ?gemm_(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc): 13 pointers
_SIG = types.void(*([_PTR] * 13))
_sgemm = types.ExternalFunction("tgcs_sgemm", _SIG)
_dgemm = types.ExternalFunction("tgcs_dgemm", _SIG)

# ASCII 'N' and 'T' for the transa/transb characters (passed by pointer)
NO_TRANS, TRANS = ord("N"), ord("T")


def _numpy_lib_dirs() -> list[str]:
    here = os.path.dirname(os.path.abspath(np.__file__))
    return [here + ".libs", os.path.join(here, ".libs"), os.path.join(here, ".dylibs")]


def _candidates() -> list[str]:
    """Loaded OpenBLAS libraries, numpy's own first."""
    dirs = _numpy_lib_dirs()
    found = _threads.loaded_openblas()
    for folder in dirs:
        found += sorted(glob.glob(os.path.join(folder, "*openblas*")))
    ours = [p for p in found if os.path.dirname(p) in dirs]
    return list(dict.fromkeys(ours + found))


def _bind(path: str) -> dict | None:
    """The gemm symbols and integer width of one library, or None if not usable."""
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for prefix, suffix in (("scipy_", "_64_"), ("", "_64_"), ("", "_")):
        try:
            sgemm, dgemm = (getattr(lib, f"{prefix}{t}gemm{suffix}") for t in "sd")
        except AttributeError:
            continue
        if suffix == "_64_":
            width = np.int64
        else:
            config = getattr(lib, "openblas_get_config", None)
            if config is None:
                return None  # the integer width cannot be told: do not guess
            config.restype = ctypes.c_char_p
            width = np.int64 if b"USE64BITINT" in config() else np.int32
        return {"path": path, "symbols": (sgemm.__name__, dgemm.__name__), "int": width,
                "addresses": tuple(ctypes.cast(f, ctypes.c_void_p).value for f in (sgemm, dgemm))}
    return None


def _find() -> dict | None:
    if os.environ.get("TINYGRAD_CS_KERNEL_BLAS", "1").strip().lower() in ("0", "false", "no",
                                                                          "off"):
        return None
    for path in _candidates():
        found = _bind(path)
        if found is not None:
            return found
    return None


_LIB = _find()
if _LIB is not None:
    for _name, _address in zip(("tgcs_sgemm", "tgcs_dgemm"), _LIB["addresses"]):
        llvm.add_symbol(_name, _address)


def available() -> bool:
    """True when kernels can call numpy's BLAS (``gemm``)."""
    return _LIB is not None


def info() -> dict | None:
    """The library path, the symbols bound and the integer width (None when unavailable)."""
    if _LIB is None:
        return None
    return {"path": _LIB["path"], "symbols": _LIB["symbols"],
            "int": np.dtype(_LIB["int"]).name}


def int_dtype() -> type:
    """numpy dtype of the BLAS integer (int64 for ILP64, int32 for LP64)."""
    if _LIB is None:
        raise RuntimeError("kernels._blas: no BLAS bound (available() is False)")
    return _LIB["int"]


def gemm(trans_a, trans_b, dims, scalars, a, b, c):
    """Column-major C = alpha op(A) op(B) + beta C, inside a kernel (Fortran ?gemm_).

    trans_a, trans_b: uint8 arrays of one character ('N' or 'T'); dims: BLAS-integer array
    (m, n, k, lda, ldb, ldc); scalars: (alpha, beta) of the matrices' dtype; a, b, c:
    contiguous arrays whose first element starts the matrix. float32 or float64.
    """
    raise NotImplementedError("kernels._blas.gemm is callable inside Numba kernels only")


@overload(gemm)
def _gemm_overload(trans_a, trans_b, dims, scalars, a, b, c):
    if c.dtype not in (types.float32, types.float64) or not (
            a.dtype == b.dtype == scalars.dtype == c.dtype) or not (
            isinstance(dims.dtype, types.Integer) and dims.dtype.bitwidth in (32, 64)):
        return None  # no BLAS routine for these types: Numba reports a typing error
    fn = _sgemm if c.dtype == types.float32 else _dgemm

    def impl(trans_a, trans_b, dims, scalars, a, b, c):
        fn(trans_a.ctypes, trans_b.ctypes, dims.ctypes, dims[1:].ctypes, dims[2:].ctypes,
           scalars.ctypes, a.ctypes, dims[3:].ctypes, b.ctypes, dims[4:].ctypes,
           scalars[1:].ctypes, c.ctypes, dims[5:].ctypes)
    return impl
