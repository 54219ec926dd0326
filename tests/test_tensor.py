"""Tensor construction, dtype rules, properties, in-place safety and error messages."""
import numpy as np
import pytest

import tinygrad_cs as tg


def test_python_floats_take_the_default_dtype_and_arrays_keep_theirs():
    assert tg.tensor([1.0, 2.0]).dtype == tg.float32
    assert tg.tensor(np.ones(2)).dtype == tg.float64
    assert tg.tensor(np.ones(2, np.float32)).dtype == tg.float32
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.tensor(np.array([1, 2], np.int32)).dtype == tg.int32
    assert tg.tensor([True, False]).dtype == tg.bool_
    assert tg.tensor([1.0], dtype=tg.float64).dtype == tg.float64


def test_an_explicit_float64_keeps_every_digit_of_python_floats():
    # torch.tensor(x, dtype=torch.float64) converts x itself, not its float32 rounding
    x = 6.8813735870195432
    assert tg.tensor(x, dtype=tg.float64).item() == x
    assert tg.tensor([[x, 0.1]], dtype=tg.float64).tolist() == [[x, 0.1]]
    assert tg.tensor([x], dtype=tg.float32).item() == float(np.float32(x))


def test_set_default_dtype():
    try:
        tg.set_default_dtype(tg.float64)
        assert tg.tensor([1.0]).dtype == tg.float64
        assert tg.zeros(2).dtype == tg.float64 and tg.randn(2).dtype == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)
    assert tg.ones(1).dtype == tg.float32
    with pytest.raises(TypeError, match="float32 and float64"):
        tg.set_default_dtype(np.int32)


def test_unsupported_dtypes_are_refused_by_name():
    with pytest.raises(TypeError, match="complex128"):
        tg.tensor(np.ones(2, np.complex128))
    with pytest.raises(TypeError, match="unsupported dtype"):
        tg.tensor(["a", "b"])
    with pytest.raises(TypeError, match="zeros"):
        tg.zeros(2, dtype=np.complex64)


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3)
    t = tg.tensor(a)
    a[0] = 1
    assert t.numpy()[0] == 0
    s = tg.from_numpy(a)
    a[1] = 2
    assert s.numpy()[1] == 2


def test_factories():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.ones((2, 3)).numpy().sum() == 6
    np.testing.assert_array_equal(tg.full((2,), 7.0).numpy(), [7, 7])
    assert tg.full((2,), 7).dtype == tg.int64
    np.testing.assert_array_equal(tg.arange(5).numpy(), np.arange(5))
    assert tg.arange(0, 1, 0.25).dtype == tg.float32 and tg.arange(0, 1, 0.25).shape == (4,)
    np.testing.assert_allclose(tg.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(tg.eye(3).numpy(), np.eye(3))
    x = tg.randn(3, 4)
    assert tg.zeros_like(x).shape == (3, 4) and tg.ones_like(x).dtype == x.dtype
    assert tg.randn_like(x).shape == (3, 4)
    r = tg.randint(0, 10, (1000,))
    assert r.dtype == tg.int64 and 0 <= r.numpy().min() and r.numpy().max() < 10
    u = tg.rand(10_000)
    assert 0 <= u.numpy().min() and u.numpy().max() < 1 and abs(u.numpy().mean() - 0.5) < 0.02


def test_manual_seed_reproduces_random_draws():
    tg.manual_seed(123)
    a = tg.randn(5).numpy()
    tg.manual_seed(123)
    b = tg.randn(5).numpy()
    np.testing.assert_array_equal(a, b)
    state = tg.get_rng_state()
    c = tg.rand(3).numpy()
    tg.set_rng_state(state)
    np.testing.assert_array_equal(tg.rand(3).numpy(), c)


def test_properties():
    t = tg.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.size() == (2, 3) and t.size(-1) == 3
    assert t.numel() == 6 and t.T.shape == (3, 2) and t.dtype == tg.float64
    assert t.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert t[1, 2].item() == 5.0 and isinstance(t.numpy(), np.ndarray)
    with pytest.raises(RuntimeError, match="6 elements"):
        t.item()
    assert len(t) == 2 and [r.shape for r in t] == [(3,), (3,)]


def test_grad_is_a_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert isinstance(x.grad, tg.Tensor) and x.grad.dtype == tg.float32


def test_float32_stays_float32_through_ops_and_gradients():
    x = tg.randn(3, 3, requires_grad=True)
    y = ((x * 2.5 + 1).exp() / 3.0).tanh().sum()
    assert y.dtype == tg.float32
    y.backward()
    assert x.grad.dtype == tg.float32


def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad():
    w = tg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in-place"):
        w.fill_(1.0)
    with tg.no_grad():
        w.fill_(1.0)
        w[0] = 5.0
    np.testing.assert_array_equal(w.numpy(), [5, 1, 1])


def test_comparisons_are_elementwise_and_carry_no_gradient():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == tg.bool_ and not m.requires_grad
    np.testing.assert_array_equal((x == 2.0).numpy(), [False, True, False])
    assert {x: 1}[x] == 1   # still hashable by identity


def test_to_and_casts():
    x = tg.tensor([1.5, -2.5])
    assert x.double().dtype == tg.float64 and x.long().dtype == tg.int64
    y = tg.tensor([1.0, 2.0], requires_grad=True)
    z = y.double()
    (z * z).sum().backward()
    assert y.grad.dtype == tg.float32
    np.testing.assert_allclose(y.grad.numpy(), [2.0, 4.0])


def test_repr_looks_like_torch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(x * 2)


@pytest.mark.parametrize("call, pattern", [
    (lambda: tg.randn(2, 3) @ tg.randn(4, 5), r"matmul.*\(2, 3\).*\(4, 5\)"),
    (lambda: tg.randn(2, 3) + tg.randn(4, 5), r"add.*\(2, 3\).*\(4, 5\)"),
    (lambda: tg.randn(2, 3) * tg.randn(3, 2), r"mul.*\(2, 3\).*\(3, 2\)"),
    (lambda: tg.randn(2, 3).sum(dim=2), r"sum: dimension out of range.*\(2, 3\)"),
    (lambda: tg.randn(2, 3).reshape(4, 2), r"reshape.*\[4, 2\].*\(2, 3\)"),
    (lambda: tg.randn(2, 3).permute(0, 0), r"permute.*\(2, 3\)"),
    (lambda: tg.cat([tg.randn(2, 3), tg.randn(2, 4)]), r"cat.*\(2, 3\).*\(2, 4\)"),
    (lambda: tg.randn(2, 3).expand(4, 3), r"expand.*\(2, 3\).*\(4, 3\)"),
    (lambda: tg.randn(2, 3)[5], r"getitem.*\(2, 3\)"),
    (lambda: tg.randn(2, 3).softmax(dim=3), r"softmax.*\(2, 3\)"),
    (lambda: tg.stack([tg.randn(2), tg.randn(3)]), r"stack.*\(2,\).*\(3,\)"),
    (lambda: tg.randn(3).max(dim=1), r"max.*\(3,\)"),
])
def test_errors_name_the_op_and_the_shapes(call, pattern):
    with pytest.raises(Exception, match=pattern):
        call()


def test_in_place_arithmetic_updates_the_same_tensor():
    p = tg.ones(3, requires_grad=True)
    params = [p]
    with tg.no_grad():
        for q in params:
            q -= 0.5 * tg.ones(3)
        p.add_(tg.ones(3), alpha=2.0).mul_(2.0)
    np.testing.assert_allclose(params[0].numpy(), [5.0, 5.0, 5.0])
    assert params[0] is p and p.requires_grad and p.dtype == tg.float32
    with pytest.raises(RuntimeError, match="in-place"):
        p += 1
    with pytest.raises(RuntimeError, match=r"add_.*\(2, 3\).*\(3,\)"):
        tg.zeros(3).add_(tg.ones(2, 3))
    with pytest.raises(TypeError, match="int64"):
        tg.zeros(3, dtype=tg.int64).add_(0.5)


def test_augmented_assignment_on_a_graph_node_stays_differentiable():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h += x          # a recorded non-leaf: rebinds to h + x
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_numpy_scalars_do_not_promote_float32_like_torch():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    assert (x * np.float64(2.0)).dtype == tg.float32
    assert (np.float64(2.0) + x).dtype == tg.float32
    assert (x ** np.int64(2)).dtype == tg.float32


def test_ops_on_a_tensor_subclass_return_plain_tensors():
    class Marked(tg.Tensor):
        __slots__ = ()

    p = Marked([1.0, 2.0], requires_grad=True)
    assert type(p * 2) is tg.Tensor and type(p.sum()) is tg.Tensor
    with tg.no_grad():
        assert type(p + 1) is tg.Tensor
