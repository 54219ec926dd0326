"""The whole-sequence LSTM kernels (``kernels/lstm_sequence.py``) and numpy's BLAS inside Numba
(``kernels/_blas.py``).

Oracles: numpy GEMMs (float64) for ``_blas.gemm``; a per-step float64 numpy recurrence built on
``kernels/lstm_reference.py`` for the forward and backward kernels; the per-step Python path
(forced with ``USE_KERNEL = False``, or with ``TINYGRAD_CS_KERNEL_BLAS=0`` in a fresh process);
float64 central differences through ``nn.LSTM``; ``torch.nn.LSTM`` when installed.
"""
from __future__ import annotations

import contextlib
import ctypes.util
import io
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.kernels import _blas, blas_threads, kernel_modules
from tinygrad_cs.kernels import lstm as K
from tinygrad_cs.kernels import lstm_reference as R
from tinygrad_cs.kernels import lstm_sequence as S
from tinygrad_cs.testing import gradcheck

needs_blas = pytest.mark.skipif(not _blas.available(), reason="no BLAS symbol bound here")
# float64: libm's tanh against numpy's and GEMM rounding; float32: the rational tanh (< 4e-7)
# and float32 GEMMs, over a few steps
TOL = {np.float64: {"rtol": 1e-12, "atol": 1e-13}, np.float32: {"rtol": 1e-5, "atol": 1e-5}}


def _case(rng, steps, n, hidden, dtype):
    """(xw (T, N, 4H), h0, c0 (N, H), w_hh (4H, H), grad (T, 2, N, H)) of one dtype."""
    w_hh = rng.uniform(-1, 1, (4 * hidden, hidden)) / np.sqrt(hidden)
    arrays = (rng.standard_normal((steps, n, 4 * hidden)), 0.5 * rng.standard_normal((n, hidden)),
              rng.standard_normal((n, hidden)), w_hh, rng.standard_normal((steps, 2, n, hidden)))
    return tuple(a.astype(dtype) for a in arrays)


def _reference(xw, h0, c0, w_hh, grad):
    """The recurrence step by step in float64 numpy: (hc, acts, dgates, dh0, dc0)."""
    xw, h0, c0, w_hh, grad = (a.astype(np.float64) for a in (xw, h0, c0, w_hh, grad))
    steps = xw.shape[0]
    hc, acts = [], []
    h, c = h0, c0
    for t in range(steps):
        out, a = R.forward(xw[t] + h @ w_hh.T, c)
        hc.append(out)
        acts.append(a)
        h, c = out
    dgates = [None] * steps
    dh, dc = np.zeros_like(h0), np.zeros_like(c0)
    for t in range(steps - 1, -1, -1):
        c_prev = c0 if t == 0 else hc[t - 1][1]
        dgates[t], dc = R.backward(acts[t], c_prev, grad[t, 0] + dh, grad[t, 1] + dc)
        dh = dgates[t] @ w_hh
    return np.stack(hc), np.stack(acts), np.stack(dgates), dh, dc


def _run(xw, h0, c0, w_hh, grad):
    hc, acts = S.forward(xw.copy(), h0, c0, w_hh)
    return (hc, acts, *S.backward(grad, acts, hc, c0, w_hh))


@pytest.fixture(params=["kernel", "fallback"])
def path(request, monkeypatch):
    """Both ways through ``lstm_sequence``: the kernels, and the per-step Python path."""
    if request.param == "kernel" and not _blas.available():
        pytest.skip("no BLAS symbol bound here")
    monkeypatch.setattr(S, "USE_KERNEL", request.param == "kernel")
    return request.param


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b,beta", [("T", "N", 1.0), ("N", "N", 0.0),
                                                   ("N", "T", 0.5), ("T", "T", 1.0)])
def test_gemm_inside_a_kernel_matches_numpy(dtype, trans_a, trans_b, beta):
    """Column-major C = alpha op(A) op(B) + beta C, read back as row-major transposes."""
    rng = np.random.default_rng(0)
    m, n, k = 7, 3, 5
    # a row-major (r, c) array is BLAS's column-major (c, r): shapes of op(A) = (m, k) ...
    a = rng.standard_normal((m, k) if trans_a == "T" else (k, m)).astype(dtype)
    b = rng.standard_normal((k, n) if trans_b == "T" else (n, k)).astype(dtype)
    c = rng.standard_normal((n, m)).astype(dtype)
    op_a = a if trans_a == "T" else a.T  # a is column-major a.T; op() transposes it back
    op_b = b if trans_b == "T" else b.T
    expected = 1.5 * (op_a.astype(np.float64) @ op_b) + beta * c.T.astype(np.float64)
    dims = np.array([m, n, k, a.shape[1], b.shape[1], m], _blas.int_dtype())
    _gemm(np.array([ord(trans_a)], np.uint8), np.array([ord(trans_b)], np.uint8), dims,
          np.array([1.5, beta], dtype), a, b, c)
    np.testing.assert_allclose(c.T, expected, rtol=1e-5 if dtype == np.float32 else 1e-13)


@numba.njit(cache=True)
def _gemm(trans_a, trans_b, dims, scalars, a, b, c):
    _blas.gemm(trans_a, trans_b, dims, scalars, a, b, c)


@needs_blas
def test_gemm_refuses_mixed_or_non_float_types_at_compile_time():
    dims = np.ones(6, _blas.int_dtype())
    char = np.array([_blas.NO_TRANS], np.uint8)
    one32, one64 = np.ones((1, 1), np.float32), np.ones((1, 1))
    with pytest.raises(numba.TypingError):
        _gemm(char, char, dims, np.ones(2, np.float32), one32, one64, one32)
    with pytest.raises(numba.TypingError):
        _gemm(char, char, dims, np.ones(2, np.int64), *(np.ones((1, 1), np.int64),) * 3)


@needs_blas
def test_blas_binding_names_its_library_and_integer_width():
    info = _blas.info()
    assert os.path.exists(info["path"]) and "openblas" in os.path.basename(info["path"])
    sgemm, dgemm = info["symbols"]
    assert sgemm.replace("sgemm", "dgemm") == dgemm
    assert info["int"] in ("int32", "int64")
    if sgemm.endswith("64_"):  # the ILP64 suffix: 64-bit integers
        assert info["int"] == "int64" and _blas.int_dtype() is np.int64
    with pytest.raises(NotImplementedError, match="inside Numba kernels only"):
        _blas.gemm(None, None, None, None, None, None, None)


def test_a_library_without_gemm_is_not_bound():
    libc = ctypes.util.find_library("c")
    if libc is None:
        pytest.skip("no C library found by name")
    assert _blas._bind(libc) is None
    assert _blas._bind("/nonexistent/libopenblas.so") is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("steps,n,hidden", [(4, 3, 5), (1, 2, 3), (3, 1, 4), (2, 1, 1)])
def test_forward_and_backward_match_the_numpy_reference(path, dtype, steps, n, hidden):
    """T = 1 and batch 1 included; both the kernels and the per-step path."""
    case = _case(np.random.default_rng(steps * 100 + n * 10 + hidden), steps, n, hidden, dtype)
    for got, expected in zip(_run(*case), _reference(*case)):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, **TOL[dtype])


@needs_blas
@settings(max_examples=15, deadline=None)
def _run_per_step(case) -> tuple:
    """``_run`` on the per-step Python path (the kernel switched off for the call)."""
    S.USE_KERNEL = False
    try:
        return _run(*case)
    finally:
        S.USE_KERNEL = True


@given(steps=st.integers(1, 4), n=st.integers(1, 4), hidden=st.integers(1, 6),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16))
def test_kernels_agree_with_the_per_step_path(steps, n, hidden, dtype, seed):
    case = _case(np.random.default_rng(seed), steps, n, hidden, dtype)
    kernel, steps_path = _run(*case), _run_per_step(case)
    tol = {"rtol": 1e-12, "atol": 1e-14} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}
    for a, b in zip(kernel, steps_path):
        np.testing.assert_allclose(a, b, **tol)


@needs_blas
def test_above_and_below_the_cells_parallel_threshold():
    """The per-step path switches to parallel cells at PARALLEL_MIN; the kernel never does."""
    rng = np.random.default_rng(3)
    hidden = 64
    for n in (2, K.PARALLEL_MIN // hidden):
        case = _case(rng, 2, n, hidden, np.float32)
        kernel, steps_path = _run(*case), _run_per_step(case)
        for a, b in zip(kernel, steps_path):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@needs_blas
def test_bit_identical_across_calls_and_blas_thread_counts(monkeypatch):
    case = _case(np.random.default_rng(4), 5, 32, 64, np.float32)  # big enough for 2 threads
    first = _run(*case)
    monkeypatch.setattr(S, "BLAS_THREADS", 1)
    for again in (_run(*case), _run(*case)):
        for a, b in zip(first, again):
            assert a.tobytes() == b.tobytes()


@needs_blas
def test_a_failing_call_restores_the_blas_thread_count(monkeypatch):
    if not blas_threads._libs():
        pytest.skip("no OpenBLAS whose thread count we can read")
    count = blas_threads._libs()[0][0]
    before = count()
    monkeypatch.setattr(S, "BLAS_THREADS", 1)
    seen = []

    def broken(*args):
        seen.append(count())
        raise RuntimeError("boom")

    monkeypatch.setattr(S, "forward_kernel", broken)
    xw, h0, c0, w_hh, _ = _case(np.random.default_rng(5), 2, 2, 3, np.float64)
    with pytest.raises(RuntimeError, match="boom"):
        S.forward(xw, h0, c0, w_hh)
    assert seen == [1] and count() == before


@needs_blas
def test_a_thread_count_other_than_one_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(S, "BLAS_THREADS", 2)
    xw, h0, c0, w_hh, _ = _case(np.random.default_rng(6), 2, 2, 3, np.float64)
    before = xw.copy()
    with pytest.raises(ValueError, match="BLAS_THREADS"):
        S.forward(xw, h0, c0, w_hh)
    np.testing.assert_array_equal(xw, before)


def test_wrong_shapes_are_refused_by_name_before_any_work():
    xw, h0, c0, w_hh, grad = _case(np.random.default_rng(10), 3, 2, 4, np.float64)
    before = xw.copy()
    with pytest.raises(ValueError, match=r"lstm_sequence.forward: got .*h0 \(2, 3\)"):
        S.forward(xw, h0[:, :3], c0, w_hh)
    with pytest.raises(ValueError, match=r"C-contiguous \(T, N, 4H\) array, got shape"):
        S.forward(np.asfortranarray(xw), h0, c0, w_hh)
    with pytest.raises(ValueError, match=r"float32 or float64"):
        S.forward(xw.astype(np.int64), h0, c0, w_hh)
    np.testing.assert_array_equal(xw, before)  # a refused call changed nothing
    hc, acts = S.forward(xw, h0, c0, w_hh)
    with pytest.raises(ValueError, match=r"lstm_sequence.backward: got grad \(2, 2, 2, 4\)"):
        S.backward(grad[:2], acts, hc, c0, w_hh)
    with pytest.raises(ValueError, match=r"hc must be \(T, 2, N, H\), got \(3, 2, 8\)"):
        S.backward(grad, acts, hc.reshape(3, 2, 8), c0, w_hh)


def _lstm_module(dtype, bidirectional=True, num_layers=2):
    tg.manual_seed(0)
    module = nn.LSTM(3, 4, num_layers=num_layers, bidirectional=bidirectional)
    return module.double() if dtype == np.float64 else module


def _module_results(module, x):
    """Output, final states and every gradient of ``module`` on x (T, N, 3), as numpy."""
    x = tg.tensor(x, requires_grad=True)
    out, (h, c) = module(x)
    seed = np.linspace(-1, 1, out.numel()).reshape(out.shape).astype(out.numpy().dtype)
    ((out * seed).sum() + 0.5 * h.sum() - 0.25 * c.sum()).backward()
    results = [out.numpy(), h.numpy(), c.numpy(), x.grad.numpy()]
    results += [p.grad.numpy() for p in module.parameters()]
    for p in module.parameters():
        p.grad = None
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 2, 3), (1, 1, 3), (4, 1, 3), (1, 3, 3)])
def test_nn_lstm_matches_torch_bidirectional_two_layers(path, dtype, shape):
    torch = pytest.importorskip("torch")
    module = _lstm_module(dtype)
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    ref = ref.double() if dtype == np.float64 else ref
    with torch.no_grad():
        for name, p in ref.named_parameters():
            p.copy_(torch.from_numpy(module.state_dict()[name].numpy()))
    x = np.random.default_rng(6).standard_normal(shape).astype(dtype)
    ours = _module_results(module, x)
    tx = torch.from_numpy(x).requires_grad_(True)
    out, (h, c) = ref(tx)
    seed = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)
    ((out * seed).sum() + 0.5 * h.sum() - 0.25 * c.sum()).backward()
    theirs = [out, h, c, tx.grad] + [p.grad for p in ref.parameters()]
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-4,
                                                                      "atol": 1e-5}
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.detach().numpy(), **tol)


def test_nn_lstm_gradcheck_two_layers_bidirectional(path):
    """float64 central differences for x, the initial states and every weight."""
    module = _lstm_module(np.float64)
    rng = np.random.default_rng(7)
    x = tg.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    h0, c0 = (tg.tensor(rng.standard_normal((4, 2, 4)), requires_grad=True) for _ in range(2))

    def f(x, h0, c0, *params):
        out, (h, c) = module(x, (h0, c0))
        return out, h, c

    result = gradcheck(f, (x, h0, c0, *module.parameters()))
    assert result.ok and result.max_rel_error < 1e-4


@needs_blas
def test_nn_lstm_kernel_and_per_step_path_agree_to_rounding(monkeypatch):
    module = _lstm_module(np.float64, bidirectional=True, num_layers=2)
    x = np.random.default_rng(8).standard_normal((6, 3, 3))
    kernel = _module_results(module, x)
    monkeypatch.setattr(S, "USE_KERNEL", False)
    for a, b in zip(kernel, _module_results(module, x)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_warm_compiles_both_kernels_and_is_run_by_warm_all():
    assert "tinygrad_cs.kernels.lstm_sequence" in kernel_modules()
    S.warm()
    if _blas.available():
        for fn in (S.forward_kernel, S.backward_kernel):
            assert len(fn.signatures) >= 2  # float32 and float64


_CHILD = """
import hashlib, sys
import numpy as np
import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.kernels import _blas
tg.manual_seed(0)
module = nn.LSTM(3, 8, num_layers=2, bidirectional=True)
x = tg.tensor(np.random.default_rng(9).standard_normal((6, 4, 3)).astype(np.float32))
out, (h, c) = module(x)
(out.sum() + h.sum() + c.sum()).backward()
digest = hashlib.sha256(out.numpy().tobytes())
for p in module.parameters():
    digest.update(p.grad.numpy().tobytes())
print(_blas.available(), repr(float(out.numpy()[0, 0, 0])), digest.hexdigest())
"""


def test_fresh_process_bit_identical_and_blas_off_falls_back():
    """A fresh process gives the same bits as this one; ``TINYGRAD_CS_KERNEL_BLAS=0`` binds
    no BLAS (as on numpy builds we cannot use): the import works, the per-step path runs,
    and its result is the same up to the GEMMs' rounding."""
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_CS_KERNEL_BLAS"}

    def child(**extra):
        done = subprocess.run([sys.executable, "-c", _CHILD], env={**env, **extra},
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        available, first, digest = done.stdout.split()
        return available == "True", float(first), digest

    here = io.StringIO()
    with contextlib.redirect_stdout(here):
        exec(_CHILD, {"__name__": "__child__"})  # noqa: S102 - the same program in-process
    available, first, digest = here.getvalue().split()
    assert available == str(_blas.available())
    assert child() == (_blas.available(), float(first), digest)
    off, off_first, _ = child(TINYGRAD_CS_KERNEL_BLAS="0")
    assert not off
    assert off_first == pytest.approx(float(first), rel=1e-5)
