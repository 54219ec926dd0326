"""A whole LSTM layer's recurrence (one direction) as one kernel call, forward and backward.

The op (``ops/rnn.py``, ``LSTMLayer``) computes the input products of all T steps first,
``xw[t] = x_t W_ih^T + b_ih + b_hh`` (T, N, 4H), as one GEMM. Everything left is recurrent:

    forward, t = 0 .. T-1:   xw[t] += h_{t-1} W_hh^T          (GEMM, beta = 1: in place)
                             (h_t, c_t), acts[t] = cell(xw[t], c_{t-1})     (pointwise)
    backward, t = T-1 .. 0:  dh += g[t, 0];  dc += g[t, 1]                   (per row)
                             dG[t], dc = cell_backward(acts[t], c_{t-1}, dh, dc)
                             dh = dG[t] W_hh                                (GEMM, beta = 0)

with (h_{-1}, c_{-1}) = (h0, c0), dh = dc = 0 before the last step, and at the end dh, dc
the gradients of h0, c0. The cell math is ``kernels/lstm.py``'s (``_forward_row``,
``_backward_row``); the GEMMs call numpy's own BLAS from inside the kernel (``_blas.py``),
so a layer is one kernel call each way: no Python, no temporaries per step. The
weight gradients (dW_ih = dG^T X, dW_hh = dG^T H_prev, dx = dG W_ih, db) are one large
numpy GEMM each, after the backward kernel (the op does them).

BLAS is column-major: a row-major (r, c) array is its (c, r) transpose. So h W_hh^T, with
W_hh (4H, H) and h (N, H), is gemm('T', 'N', m=4H, n=N, k=H, W_hh, lda=H, h, ldb=H, C,
ldc=4H), and dG W_hh is gemm('N', 'N', m=H, n=N, k=4H, W_hh, lda=H, dG, ldb=4H, C, ldc=H).

Threads, as measured here in one process, A/B alternating (relative figures only: the
machine was shared, load 1-1.6), forward+backward of 20 steps:

* the cell's rows run serially inside the kernel, at every size. A ``prange`` inside the time
  loop (one OpenMP fork-join per step, between two calls into OpenBLAS's own thread pool)
  cost more than it gained: at N=32, H=256 3-4x slower than serial, at N=256-1024,
  H=128-256 1.1-1.5x slower. The cell is ~2% of a step's arithmetic next to its GEMM.
* the recurrent GEMMs use OpenBLAS's own per-size choice by default (``BLAS_THREADS =
  None``): OpenBLAS runs small products on one thread by itself (at N=8, H=64 one and two
  threads measured the same), larger ones on all cores. For the (32, 256) x (256, 1024) step two
  threads took 0.6x the time of one with one other process running, and so did the
  weight-gradient GEMMs; but with two or more busy processes beside ours, two threads
  took up to 7x the time of one (each step waits for a descheduled BLAS worker). On a
  loaded machine set ``BLAS_THREADS = 1``: OpenBLAS then runs on one thread while the
  kernels run (``blas_threads.single``; the count is process-wide), restored afterwards,
  also when the kernel raises. In float32 results do not depend on it (OpenBLAS splits a
  GEMM's rows and columns among threads, never its sums; checked in the tests).

Without a usable BLAS symbol (``_blas.available()`` False, e.g. numpy on MKL) or with
``USE_KERNEL = False`` (the tests force it), ``forward``/``backward`` run the same
recurrence per step from Python: numpy GEMMs and the per-step cell kernels. Both paths give
the same numbers up to the GEMMs' rounding (beta = 1 adds xw[t] inside the GEMM).
"""
from __future__ import annotations

import contextlib

import numpy as np
from numba.extending import register_jitable

from . import _blas, blas_threads
from . import lstm as K
from ._jit import kernel

# None: OpenBLAS's own thread count by GEMM size; 1: one thread, for a loaded machine
# (docstring). OpenBLAS's count is process-wide, so no other value is offered.
BLAS_THREADS: int | None = None
USE_KERNEL = True  # False: the per-step Python path (the tests force it)


def _blas_args(dtype, n: int, hidden: int) -> tuple:
    """(trans 'T', trans 'N', forward dims, backward dims, scalars (1, 1), (1, 0))."""
    ints = _blas.int_dtype()
    trans = np.array([_blas.TRANS], np.uint8), np.array([_blas.NO_TRANS], np.uint8)
    fwd_dims = np.array([4 * hidden, n, hidden, hidden, hidden, 4 * hidden], ints)
    bwd_dims = np.array([hidden, n, 4 * hidden, hidden, 4 * hidden, hidden], ints)
    return (*trans, fwd_dims, bwd_dims, np.array([1, 1], dtype), np.array([1, 0], dtype))


@kernel(fastmath=K.FAST, error_model="numpy")
def forward_kernel(xw, h0, c0, w_hh, hc, acts, trans_t, trans_n, dims, scalars):
    """xw (T, N, 4H) (overwritten with the gates), h0, c0 (N, H), w_hh (4H, H) ->
    hc (T, 2, N, H) = (h_t, c_t), acts (T, N, 5H)."""
    h, c = h0, c0
    for t in range(xw.shape[0]):
        _blas.gemm(trans_t, trans_n, dims, scalars, w_hh, h, xw[t])
        for b in range(h0.shape[0]):
            K._forward_row(xw[t], c, hc[t], acts[t], b)
        h, c = hc[t, 0], hc[t, 1]


@register_jitable(fastmath=K.FAST, error_model="numpy")
def _add_rows(grad, dh, dc, b):
    """dh[b] += grad[0, b]; dc[b] += grad[1, b] (the gradients arriving at step t)."""
    g_h, g_c, d_h, d_c = grad[0, b], grad[1, b], dh[b], dc[b]
    for j in range(d_h.shape[0]):
        d_h[j] += g_h[j]
        d_c[j] += g_c[j]


@kernel(fastmath=K.FAST, error_model="numpy")
def backward_kernel(grad, acts, hc, c0, w_hh, dgates, dh, dc, trans_n, dims, scalars):
    """grad (T, 2, N, H), acts (T, N, 5H), hc (T, 2, N, H), c0 (N, H), w_hh (4H, H) ->
    dgates (T, N, 4H); dh, dc (N, H), zero on entry, hold dh0, dc0 on return.
    The cell's dc_prev overwrites dc in place (each element is read before it is written)."""
    for t in range(grad.shape[0] - 1, -1, -1):
        c_prev = c0 if t == 0 else hc[t - 1, 1]
        for b in range(dh.shape[0]):
            _add_rows(grad[t], dh, dc, b)
            K._backward_row(acts[t], c_prev, dh, dc, dgates[t], dc, b)
        _blas.gemm(trans_n, trans_n, dims, scalars, w_hh, dgates[t], dh)


@contextlib.contextmanager
def _blas_threads():
    """OpenBLAS on one thread while a kernel runs when ``BLAS_THREADS == 1``, restored on
    exit, also when the kernel raises."""
    if BLAS_THREADS is None:
        yield
        return
    if BLAS_THREADS != 1:
        raise ValueError(f"lstm_sequence.BLAS_THREADS: expected None or 1, got {BLAS_THREADS!r}")
    blas_threads.single()
    try:
        yield
    finally:
        blas_threads.restore()


def _use_kernel(n: int, hidden: int) -> bool:
    # an empty batch or state goes the numpy way: BLAS rejects leading dimensions of 0
    return USE_KERNEL and _blas.available() and n > 0 and hidden > 0


def _checked(name: str, arrays: dict, shapes: dict, dtype) -> list[np.ndarray]:
    """The arrays as C-contiguous ``dtype`` (the kernels hand raw pointers to BLAS, so a
    wrong shape must never reach them); raises ValueError naming every shape otherwise."""
    if np.dtype(dtype) not in (np.float32, np.float64) or any(
            np.shape(a) != shapes[k] for k, a in arrays.items()):
        got = ", ".join(f"{k} {np.shape(a)}" for k, a in arrays.items())
        want = ", ".join(f"{k} {v}" for k, v in shapes.items())
        raise ValueError(f"lstm_sequence.{name}: got {got} ({np.dtype(dtype)}); expected "
                         f"{want}, float32 or float64")
    return [np.ascontiguousarray(a, dtype) for a in arrays.values()]


def forward(xw: np.ndarray, h0: np.ndarray, c0: np.ndarray,
            w_hh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The forward recurrence: xw (T, N, 4H) C-contiguous (consumed: it ends up holding the
    gates), h0, c0 (N, H), w_hh (4H, H), one dtype -> (hc (T, 2, N, H), acts (T, N, 5H))."""
    if not (isinstance(xw, np.ndarray) and xw.ndim == 3 and xw.flags.c_contiguous
            and xw.flags.writeable):
        raise ValueError("lstm_sequence.forward: xw must be a writeable C-contiguous "
                         f"(T, N, 4H) array, got shape {np.shape(xw)}")
    steps, n, four_h = xw.shape
    hidden = four_h // 4
    h0, c0, w_hh = _checked("forward", {"xw": xw, "h0": h0, "c0": c0, "w_hh": w_hh},
                            {"xw": (steps, n, 4 * hidden), "h0": (n, hidden),
                             "c0": (n, hidden), "w_hh": (4 * hidden, hidden)}, xw.dtype)[1:]
    hc = np.empty((steps, 2, n, hidden), xw.dtype)
    acts = np.empty((steps, n, 5 * hidden), xw.dtype)
    if _use_kernel(n, hidden):
        trans_t, trans_n, dims, _, scalars, _ = _blas_args(xw.dtype, n, hidden)
        with _blas_threads():
            forward_kernel(xw, h0, c0, w_hh, hc, acts, trans_t, trans_n, dims, scalars)
        return hc, acts
    step = K.lstm_forward if n * hidden >= K.PARALLEL_MIN else K.lstm_forward_serial
    gates = np.empty((n, four_h), xw.dtype)
    h, c = h0, c0
    for t in range(steps):
        np.matmul(h, w_hh.T, out=gates)
        gates += xw[t]
        step(gates, c, hc[t], acts[t])
        h, c = hc[t, 0], hc[t, 1]
    return hc, acts


def backward(grad: np.ndarray, acts: np.ndarray, hc: np.ndarray, c0: np.ndarray,
             w_hh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The backward recurrence: grad (T, 2, N, H) (the gradient of hc), acts, hc from
    ``forward``, c0 (N, H), w_hh (4H, H) -> (dgates (T, N, 4H), dh0, dc0 (N, H))."""
    if np.ndim(hc) != 4:
        raise ValueError(f"lstm_sequence.backward: hc must be (T, 2, N, H), got {np.shape(hc)}")
    steps, _, n, hidden = np.shape(hc)
    dtype = np.result_type(acts)
    grad, acts, hc, c0, w_hh = _checked(
        "backward", {"grad": grad, "acts": acts, "hc": hc, "c0": c0, "w_hh": w_hh},
        {"grad": (steps, 2, n, hidden), "acts": (steps, n, 5 * hidden),
         "hc": (steps, 2, n, hidden), "c0": (n, hidden), "w_hh": (4 * hidden, hidden)}, dtype)
    dgates = np.empty((steps, n, 4 * hidden), dtype)
    dh, dc = np.zeros((n, hidden), dtype), np.zeros((n, hidden), dtype)
    if _use_kernel(n, hidden):
        _, trans_n, _, dims, _, scalars = _blas_args(dtype, n, hidden)
        with _blas_threads():
            backward_kernel(grad, acts, hc, c0, w_hh, dgates, dh, dc, trans_n, dims, scalars)
        return dgates, dh, dc
    step = K.lstm_backward if n * hidden >= K.PARALLEL_MIN else K.lstm_backward_serial
    dc_prev = np.empty_like(dc)
    for t in range(steps - 1, -1, -1):
        c_prev = c0 if t == 0 else hc[t - 1, 1]
        step(acts[t], c_prev, grad[t, 0] + dh, grad[t, 1] + dc, dgates[t], dc_prev)
        dc, dc_prev = dc_prev, dc
        np.matmul(dgates[t], w_hh, out=dh)
    return dgates, dh, dc


def warm() -> None:
    """Compile (or load from the cache) the two sequence kernels for float32 and float64."""
    if not _blas.available():
        return
    for dtype in (np.float32, np.float64):
        n, hidden = 2, 2
        w_hh, h0 = np.zeros((4 * hidden, hidden), dtype), np.zeros((n, hidden), dtype)
        trans_t, trans_n, fwd_dims, bwd_dims, one_one, one_zero = _blas_args(dtype, n, hidden)
        hc, acts = np.empty((1, 2, n, hidden), dtype), np.empty((1, n, 5 * hidden), dtype)
        forward_kernel(np.zeros((1, n, 4 * hidden), dtype), h0, h0, w_hh, hc, acts, trans_t,
                       trans_n, fwd_dims, one_one)
        backward_kernel(hc, acts, hc, h0, w_hh, np.empty((1, n, 4 * hidden), dtype),
                        np.zeros_like(h0), np.zeros_like(h0), trans_n, bwd_dims, one_zero)
