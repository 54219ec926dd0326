"""``kernels.blas_threads.matmul``: ``np.matmul`` bit for bit, on one BLAS thread when small.

Oracles: ``np.matmul`` itself (the thread count must not change a bit), the closed-form
multiply-add count, and the calling thread's OpenBLAS setting read back after each call.
"""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.kernels import blas_threads as B

SHAPES = [((64, 64), (64, 128)), ((64, 128), (128, 128)), ((7,), (7, 3)), ((5, 7), (7,)),
          ((2, 1, 33, 65), (3, 65, 17)), ((300, 400), (400, 500))]


@pytest.mark.parametrize(("sa", "sb"), SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_same_bits_as_numpy(sa, sb, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    out = B.matmul(a, b)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, np.matmul(a, b))
    if b.ndim == 2:  # a transposed view, as Linear passes W^T
        bt = np.ascontiguousarray(b.T)
        np.testing.assert_array_equal(B.matmul(a, bt.T), np.matmul(a, bt.T))


def test_multiply_adds_are_counted_as_batch_m_k_n():
    assert B._macs(np.empty((3, 4, 5)), np.empty((5, 6))) == 3 * 4 * 5 * 6
    assert B._macs(np.empty(5), np.empty((2, 5, 7))) == 2 * 5 * 7
    assert B._macs(np.empty((2, 1, 3, 4)), np.empty((5, 4, 2))) == 2 * 5 * 3 * 4 * 2
    assert B._macs(np.empty((8, 9)), np.empty(9)) == 8 * 9


def _count() -> int:
    """The thread count of the first OpenBLAS we drive."""
    return B._libs()[0][0]()


needs_openblas = pytest.mark.skipif(not B._libs(), reason="no OpenBLAS whose threads we can set")


@needs_openblas
def test_single_and_restore_nest_and_put_the_count_back():
    before = _count()
    B.single()
    B.single()
    assert _count() == 1
    B.restore()
    assert _count() == 1          # the outer single() still holds
    B.restore()
    assert _count() == before


@needs_openblas
def test_a_small_product_runs_on_one_thread_and_puts_the_count_back(monkeypatch):
    seen = []
    real = np.matmul

    def spy(a, b):
        seen.append(_count())
        return real(a, b)

    before = _count()
    monkeypatch.setattr(B.np, "matmul", spy)
    B.matmul(np.ones((16, 16)), np.ones((16, 16)))
    side = round(B.SERIAL_MAX_MACS ** (1 / 3)) + 1
    B.matmul(np.ones((side, side)), np.ones((side, side)))
    assert seen == [1, before]
    assert _count() == before
    with pytest.raises(ValueError):
        B.matmul(np.ones((8, 8)), np.ones((9, 8)))   # numpy refuses: the count is restored
    assert _count() == before


@needs_openblas
def test_a_parallel_convolution_leaves_the_count_as_it_was():
    # regression: the workers once set the process-wide count to 1 for good
    numba = pytest.importorskip("numba")
    if numba.get_num_threads() < 2:
        pytest.skip("one Numba thread: convolutions run in the calling thread")
    before = _count()
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((8, 16, 16, 16)).astype(np.float32), requires_grad=True)
    w = tg.tensor(rng.standard_normal((16, 16, 3, 3)).astype(np.float32), requires_grad=True)
    tg.nn.functional.conv2d(x, w, padding=1).sum().backward()
    assert _count() == before


def test_the_ops_use_it_and_their_gradients_hold():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((6, 5)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    (x @ w.T).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((6, 4)) @ w.numpy())
    np.testing.assert_allclose(w.grad.numpy(), np.ones((6, 4)).T @ x.numpy())
    out = tg.nn.functional.linear(x, w)
    np.testing.assert_array_equal(out.numpy(), x.numpy() @ w.numpy().T)
