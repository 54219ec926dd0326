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


def _local_setting() -> int:
    """The calling thread's OpenBLAS setting, read by setting it and putting it back."""
    fn = B._SETTERS[0]
    value = fn(1)
    fn(value)
    return value


@pytest.mark.skipif(not B._SETTERS, reason="numpy's BLAS has no openblas_set_num_threads_local")
def test_a_small_product_leaves_the_thread_setting_as_it_was():
    before = _local_setting()
    B.matmul(np.ones((8, 8)), np.ones((8, 8)))
    assert _local_setting() == before
    with pytest.raises(ValueError):
        B.matmul(np.ones((8, 8)), np.ones((9, 8)))   # numpy refuses: the setting is restored
    assert _local_setting() == before


@pytest.mark.skipif(not B._SETTERS, reason="numpy's BLAS has no openblas_set_num_threads_local")
def test_small_products_run_on_one_thread_and_large_ones_do_not(monkeypatch):
    seen = []
    real = np.matmul

    def spy(a, b):
        seen.append(_local_setting())
        return real(a, b)

    monkeypatch.setattr(B.np, "matmul", spy)
    before = _local_setting()
    B.matmul(np.ones((16, 16)), np.ones((16, 16)))
    side = round(B.SERIAL_MAX_MACS ** (1 / 3)) + 1
    B.matmul(np.ones((side, side)), np.ones((side, side)))
    assert seen == [1, before]


def test_the_ops_use_it_and_their_gradients_hold():
    rng = np.random.default_rng(1)
    x = tg.tensor(rng.standard_normal((6, 5)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    (x @ w.T).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.ones((6, 4)) @ w.numpy())
    np.testing.assert_allclose(w.grad.numpy(), np.ones((6, 4)).T @ x.numpy())
    out = tg.nn.functional.linear(x, w)
    np.testing.assert_array_equal(out.numpy(), x.numpy() @ w.numpy().T)
