"""A leaf's first gradient becomes ``.grad`` without a copy exactly when nothing else holds it.

``Tensor._accumulate`` takes the engine's fresh gradient array as ``.grad`` when CPython's
reference count says only the backward loop holds it (PyTorch steals such buffers too);
otherwise it copies, so ``.grad`` never aliases memory anyone else can see or change.
Oracles: closed-form gradients, object identity (through weak references, which do not
count) and ``np.shares_memory``.
"""
from __future__ import annotations

import weakref

import numpy as np

import tinygrad_cs as tg


def _doubling(keep: list | None = None, as_view: bool = False, dtype=None):
    """y = 2 x, whose backward makes a fresh array (kept in ``keep`` when given)."""

    class Double(tg.autograd.Function):
        made: weakref.ref | None = None

        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, grad):
            out = np.asarray(grad * 2, dtype=dtype or grad.dtype)
            Double.made = weakref.ref(out)
            if keep is not None:
                keep.append(out)
            return out.reshape(-1).reshape(out.shape) if as_view else out

    return Double


def test_a_fresh_gradient_nobody_holds_becomes_grad_without_a_copy():
    double = _doubling()
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (double.apply(x) * 1.5).sum().backward()
    assert x.grad.numpy() is double.made()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])


def test_a_gradient_someone_else_holds_is_copied():
    kept: list = []
    double = _doubling(keep=kept)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    double.apply(x).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), kept[0])
    kept[0][...] = 99.0                      # the holder's change does not reach .grad
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_views_and_other_dtypes_are_copied():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    view = _doubling(as_view=True)
    view.apply(x).sum().backward()
    assert x.grad.numpy().base is None and x.grad.numpy() is not view.made()
    y = tg.tensor(np.ones(2, np.float32), requires_grad=True)
    wide = _doubling(dtype=np.float64)
    wide.apply(y).sum().backward()
    assert y.grad.dtype == tg.float32
    np.testing.assert_array_equal(y.grad.numpy(), [2.0, 2.0])


def test_one_gradient_sent_to_two_leaves_is_never_shared():
    # Add's backward hands the same array to both inputs
    a = tg.tensor([[1.0, 2.0]], requires_grad=True)
    b = tg.tensor([[3.0, 4.0]], requires_grad=True)
    (a + b).exp().sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    expected = np.exp([[4.0, 6.0]])
    np.testing.assert_allclose(a.grad.numpy(), expected)
    a.grad.numpy()[...] = 0.0
    np.testing.assert_allclose(b.grad.numpy(), expected)


def test_a_hook_that_keeps_the_gradient_gets_its_own_array():
    seen: list = []
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(g))
    (x * x).sum().backward()
    assert not np.shares_memory(seen[0].numpy(), x.grad.numpy())
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_a_second_backward_adds_to_a_stolen_grad():
    double = _doubling()
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    double.apply(x).sum().backward()
    double.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])


def test_a_convolution_input_gradient_is_taken_from_the_pool_and_kept_out_of_it():
    # large enough for kernels/conv_recycle's pool, which keeps its own reference
    from tinygrad_cs.kernels import conv_recycle
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((4, 8, 32, 32)).astype(np.float32), requires_grad=True)
    w = tg.tensor(rng.standard_normal((8, 1, 3, 3)).astype(np.float32))
    tg.nn.functional.conv2d(x, w, padding=1, groups=8).sum().backward()
    first = x.grad.numpy()
    assert conv_recycle.pooled(first)           # taken without a copy
    kept = first.copy()
    other = tg.tensor(rng.standard_normal((4, 8, 32, 32)).astype(np.float32), requires_grad=True)
    tg.nn.functional.conv2d(other, w * 2, padding=1, groups=8).sum().backward()
    assert other.grad.numpy() is not first      # the pool does not hand out a held array
    np.testing.assert_array_equal(x.grad.numpy(), kept)
    np.testing.assert_allclose(other.grad.numpy(), 2 * kept, rtol=1e-6)
