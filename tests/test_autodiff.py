"""The backward pass: accumulation, broadcasting, freeing, retain_graph, hooks,
higher order, grad(), grad modes, anomaly detection, reference cycles."""
import gc
import weakref

import numpy as np
import pytest

import tinygrad_cs as tg


def leaf(data, dtype=tg.float64):
    return tg.tensor(np.asarray(data, dtype=dtype), requires_grad=True)


def test_node_used_twice_accumulates():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x + x          # x feeds three edges
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 1)


def test_broadcast_gradients_sum_back_to_input_shape():
    a = leaf(np.arange(3.0).reshape(3, 1))
    b = leaf(np.arange(4.0))
    c = leaf(2.0)
    (a * b + c).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.full((3, 1), b.numpy().sum()))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, a.numpy().sum()))
    assert c.grad.shape == () and c.grad.item() == 12.0


def test_repeated_backward_accumulates_on_leaves_like_pytorch():
    x = leaf([1.0, -2.0])
    for _ in range(3):
        (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [9.0, 9.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])


def test_leaf_grads_are_never_aliased():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()   # Add passes the same array to both inputs
    a.grad.numpy()[:] *= 10
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_second_backward_through_freed_graph_raises_naming_the_op():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_chain_of_100000_ops_has_no_recursion_error():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    y.backward()
    assert x.grad.item() == 1.0
    assert len(tg.Graph(y)) > 200_000


def test_finished_graph_is_freed_by_reference_counting_alone():
    gc.collect()
    gc.disable()
    try:
        w = leaf(np.ones((3, 3)))
        hidden = (w @ w).tanh()
        out = (hidden.exp() * hidden).sum()
        refs = [weakref.ref(n) for n in tg.Graph(out).nodes if n is not w]
        out.backward()
        del out, hidden
        assert all(r() is None for r in refs)
        v = tg.Value(2.0)
        z = (v * v).tanh() + v.exp()
        vrefs = [weakref.ref(n) for n in tg.Graph(z).nodes if n is not v]
        z.backward()
        del z
        assert all(r() is None for r in vrefs)
    finally:
        gc.enable()


def test_backward_on_non_scalar_needs_gradient():
    x = leaf(np.ones((2, 3)))
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\(2, 3\)"):
        y.backward()
    y.backward(gradient=tg.tensor(np.full((2, 3), 0.5)))
    np.testing.assert_allclose(x.grad.numpy(), np.ones((2, 3)))


def test_backward_gradient_shape_mismatch_is_named():
    y = leaf(np.ones(3)) * 2
    with pytest.raises(RuntimeError, match=r"\(2,\).*\(3,\)"):
        y.backward(gradient=np.ones(2))


def test_backward_of_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (tg.ones(2) * 2).sum().backward()


def test_grad_returns_gradients_without_touching_dot_grad():
    x = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    gx, gw = tg.grad((x * w).sum(), [x, w])
    np.testing.assert_allclose(gx.numpy(), w.numpy())
    np.testing.assert_allclose(gw.numpy(), x.numpy())
    assert x.grad is None and w.grad is None


def test_grad_allow_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="input 1"):
        tg.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_grad_with_respect_to_an_intermediate_node():
    x = leaf([1.0, 2.0])
    h = x * 3
    (gh,) = tg.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_second_derivative_closed_form():
    x = leaf([0.5, -1.0, 2.0])
    (g,) = tg.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    assert g.requires_grad
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


def test_hessian_vector_product_matches_explicit_hessian():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 4))
    sym = a + a.T
    x = leaf(rng.standard_normal(4))
    v = rng.standard_normal(4)
    f = (x @ tg.tensor(sym) @ x) * 0.5 + (x.sin()).sum()
    (g,) = tg.grad(f, x, create_graph=True)
    (hv,) = tg.grad((g * tg.tensor(v)).sum(), x)
    hessian = sym - np.diag(np.sin(x.numpy()))
    np.testing.assert_allclose(hv.numpy(), hessian @ v, rtol=1e-10)


def test_gradient_penalty_differentiates_through_the_gradient_norm():
    # d/dw of || d(w*x^2)/dx ||^2 = d/dw (2 w x)^2 summed = 8 w sum(x^2)
    x = leaf([1.0, 2.0])
    w = leaf(0.7)
    (gx,) = tg.grad((w * x * x).sum(), x, create_graph=True)
    penalty = (gx.norm() ** 2)
    penalty.backward()
    np.testing.assert_allclose(w.grad.item(), 8 * 0.7 * 5.0)


def test_create_graph_uses_saved_output_as_a_node():
    x = leaf([0.3, -0.2])
    (g,) = tg.grad(x.exp().sum(), x, create_graph=True)     # Exp saves its output
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), np.exp(x.numpy()))
    (g,) = tg.grad(x.tanh().sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    t = np.tanh(x.numpy())
    np.testing.assert_allclose(h.numpy(), -2 * t * (1 - t * t))


def test_create_graph_maps_saved_values_to_the_right_node_when_arrays_are_shared():
    x = leaf([1.5, 2.0])
    c = tg.Tensor(x.numpy(), requires_grad=True)   # another leaf on the *same* array object
    assert c.numpy() is x.numpy()
    (gx,) = tg.grad((c * x).sum(), x, create_graph=True)   # d/dx = c, as a node of c
    np.testing.assert_allclose(gx.numpy(), c.numpy())
    (hc,) = tg.grad(gx.sum(), c)
    np.testing.assert_allclose(hc.numpy(), [1.0, 1.0])


def test_gradient_of_a_detached_factor_is_a_constant():
    x = leaf([1.5, 2.0])
    (g,) = tg.grad((x * x.detach()).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), x.numpy())
    assert not g.requires_grad


def test_backward_create_graph_leaves_differentiable_grad():
    x = leaf([2.0])
    (x ** 2).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    (h,) = tg.grad(x.grad.sum(), x)
    assert h.item() == 2.0


def test_hooks_see_and_replace_gradients():
    x = leaf([1.0, 2.0])
    seen = []
    h = x * 2
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(seen[0], 2 * h.numpy())
    np.testing.assert_allclose(x.grad.numpy(), 10 * 2 * 2 * h.numpy())
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_retain_grad_on_non_leaf():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())


def test_no_grad_and_enable_grad():
    x = leaf([1.0])
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2
        with tg.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert z.requires_grad and z.grad_fn is not None and not z.is_leaf
    assert tg.is_grad_enabled()


def test_detach_and_requires_grad_():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert d.is_leaf and not d.requires_grad
    d.requires_grad_()
    (d * d).sum().backward()
    np.testing.assert_allclose(d.grad.numpy(), 2 * d.numpy())
    assert x.grad is None
    with pytest.raises(RuntimeError, match="floating point"):
        tg.tensor([1, 2]).requires_grad_()


def test_grad_fn_and_is_leaf():
    x = leaf([1.0])
    y = x * 2
    assert x.is_leaf and x.grad_fn is None
    assert y.grad_fn.name == "Mul" and not y.is_leaf
    assert y.grad_fn.parents == (x,)


def test_detect_anomaly_names_op_and_user_line():
    x = leaf([0.0, 1.0])
    with tg.detect_anomaly():
        y = x.sqrt().sum()   # the line the error must show
        with pytest.raises(tg.AnomalyError) as info, np.errstate(divide="ignore"):
            y.backward()
    message = str(info.value)
    assert "Sqrt" in message
    assert "test_autodiff.py" in message and "x.sqrt().sum()" in message


def test_anomaly_off_lets_nan_through():
    x = leaf([0.0])
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.numpy()).all()


class Cube(tg.Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return a ** 3

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * 3 * a * a


def test_custom_function_first_and_second_derivative():
    x = leaf([1.0, -2.0])
    y = Cube.apply(x)
    assert y.grad_fn.name == "Cube"
    (g,) = tg.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    (h,) = tg.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())


def test_custom_function_on_values():
    v = tg.Value(2.0)
    y = Cube.apply(v)
    y.backward()
    assert y.data == 8.0 and v.grad == 12.0


class RawKernel(tg.Function):
    once_differentiable = True

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.square(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * 2 * a


def test_once_differentiable_op_refuses_double_backward_by_name():
    x = leaf([3.0])
    RawKernel.apply(x).sum().backward()
    assert x.grad.item() == 6.0
    with pytest.raises(RuntimeError, match="RawKernel.*double backward"):
        tg.grad(RawKernel.apply(x).sum(), x, create_graph=True)


def test_scope_and_names_are_recorded_on_nodes():
    x = leaf([1.0])
    x.name = "x"
    with tg.scope("encoder"):
        with tg.scope("layer1"):
            h = x * 2
        out = h + 1
    g = tg.Graph(out)
    assert [n.scope for n in g.nodes] == ["", "encoder.layer1", "encoder"]
    info = g.info(h)
    assert info.op == "Mul" and info.shape == (1,) and info.dtype == "float64"
    assert g.info(x).name == "x" and g.info(x).is_leaf


def test_graph_exposes_order_edges_and_ops():
    a, b = leaf([1.0]), leaf([2.0])
    c = a * b
    d = c + a
    g = tg.Graph(d)
    order = g.order
    assert set(map(id, order)) == {id(a), id(b), id(c), id(d)}
    assert g.index(c) > g.index(a) and g.index(c) > g.index(b) and g.index(d) > g.index(c)
    assert len(g.edges) == 4 and (a, d) in [(p, n) for p, n in g.edges]
    assert g.ops == ["Mul", "Add"]
    assert len(g.leaves) == 2


def test_observe_gradients_sees_every_node_total_gradient_once():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    seen = {}
    with tg.autodiff.observe_gradients(lambda node, g: seen.setdefault(id(node), []).append(g)):
        y.backward()
    assert all(len(v) == 1 for v in seen.values()) and len(seen) == 4   # y, h*h, h, x
    np.testing.assert_allclose(seen[id(h)][0], 2 * h.numpy())
    np.testing.assert_allclose(seen[id(x)][0], 18 * x.numpy())
    y2 = (x * 2).sum()
    y2.backward()                        # outside the block: no more calls
    assert len(seen) == 4
