"""In-place ops while the graph is recorded (``inplace_history``): PyTorch's semantics.

``y = x * 2; y.add_(w); y[0] = v; y.relu_()`` with ``x``, ``w``, ``v`` requiring grad gives
PyTorch's values, gradients and versions; an op that used ``y`` before the change still
gets the gradient of what it used. Oracles: PyTorch itself, and central differences in
float64 (``gradcheck``) where PyTorch is not installed.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck

X = np.array([[-1.0, 2.0, 0.5], [3.0, -2.0, 1.0]])
W = np.array([0.5, -1.5, 2.0])


def _program(lib, x, w):
    y = x * 2
    z = y + 1                 # uses y before it changes
    y.add_(w)
    y.mul_(w)
    y[0, 1] = w[0] * 3        # a value that requires grad, assigned into y
    y.masked_fill_(y > 5, 0.0)
    y.clamp_(max=4.0)
    buf = lib.zeros(2, 3, dtype=lib.float64)   # a tensor that does not require grad ...
    buf[1] = w                                 # ... takes part once a value that does lands
    buf.add_(y, alpha=2)
    y.relu_()
    return (z * 3).sum() + (y ** 2).sum() + buf.sum(), y


def _leaves(lib):
    return (lib.tensor(X, requires_grad=True), lib.tensor(W, requires_grad=True))


def test_values_gradients_and_versions_are_pytorchs():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (tg, torch):
        x, w = _leaves(lib)
        loss, y = _program(lib, x, w)
        loss.backward()
        results.append((loss.item(), x.grad.numpy(), w.grad.numpy(), y._version, y.is_leaf))
    ours, theirs = results
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)
    assert ours[3:] == theirs[3:]


def test_gradients_match_central_differences():
    def f(x, w):
        return _program(tg, x, w)[0]
    assert gradcheck(f, _leaves(tg))


def test_second_derivatives_through_an_inplace_change():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (tg, torch):
        x = lib.tensor(W, requires_grad=True)
        y = x * x
        y.mul_(x)                       # y = x^3
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        results.append((g.detach().numpy(), h.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(results[0][1], 6 * W)


OPS = {
    "add_": lambda y, w: y.add_(w),
    "sub_alpha": lambda y, w: y.sub_(w, alpha=0.5),
    "mul_": lambda y, w: y.mul_(w),
    "div_": lambda y, w: y.div_(w * w + 1),
    "exp_": lambda y, w: y.mul_(0.1).exp_(),
    "tanh_": lambda y, w: y.tanh_(),
    "sigmoid_": lambda y, w: y.sigmoid_(),
    "setitem": lambda y, w: y.__setitem__((slice(None), 1), w[2] * 2),
    "fill_": lambda y, w: y.fill_(1.5),
    # bounds no chain reaches exactly: exp_ of 0 is 1.0, and central differences across
    # a clamp's kink disagree with either one-sided gradient
    "clamp_": lambda y, w: y.clamp_(-0.95, 1.15),
    "index_add_": lambda y, w: y.index_add_(1, y.new_tensor([0, 2]).long(), w[:2].expand(2, 2)),
}


def _chain(lib, chain, x, w):
    y = x * 1.5
    before = (y * lib.tensor(X)).sum()   # uses y's first self, saving only the constant
    for name in chain:
        OPS[name](y, w)
    return before + (y * lib.tensor(X)).sum()


@given(st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=5))
def test_any_chain_of_inplace_changes_gives_pytorchs_gradients(chain):
    # PyTorch saves some results (sigmoid_, exp_, tanh_, relu_ save their output), so a
    # later change makes its backward raise; here the former self keeps its own values, so
    # the gradient is computed, and checked against central differences instead
    torch = pytest.importorskip("torch")
    x, w = _leaves(torch)
    try:
        _chain(torch, chain, x, w).backward()
    except RuntimeError as error:
        assert "modified by an inplace operation" in str(error)
        assert gradcheck(lambda a, b: _chain(tg, chain, a, b), _leaves(tg))
        return
    ours_x, ours_w = _leaves(tg)
    _chain(tg, chain, ours_x, ours_w).backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), x.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_w.grad.numpy() if ours_w.grad is not None else 0,
                               w.grad.numpy() if w.grad is not None else 0,
                               rtol=1e-10, atol=1e-12)


def test_an_op_that_saved_the_changed_tensor_makes_backward_raise_as_in_pytorch():
    x = tg.tensor(W, requires_grad=True)
    y = x * 2
    z = y * y                   # Mul saved y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_a_tensor_that_others_view_is_refused_and_nothing_changes():
    x = tg.tensor(X, requires_grad=True)
    y = x * 2
    v = y[0]                    # a view of y's storage
    with pytest.raises(RuntimeError, match="mul_: .*shares its storage"):
        y.mul_(3)
    np.testing.assert_array_equal(y.numpy(), X * 2)
    assert y._version == 0 and y.op == "Mul"
    del v
    y.mul_(3)                   # the view is gone: recorded
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 6.0))


def test_a_leaf_that_requires_grad_is_still_refused():
    x = tg.tensor(W, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf Tensor that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="setitem: a leaf Tensor that requires grad"):
        x[0] = 2.0
    assert x._version == 0 and x.tolist() == W.tolist()


def test_a_bad_operand_changes_nothing():
    x = tg.tensor(X, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError):
        y.add_(tg.ones(5, requires_grad=True))
    with pytest.raises(RuntimeError, match="setitem: values of shape"):
        y[0] = tg.ones(2, requires_grad=True)
    np.testing.assert_array_equal(y.numpy(), X * 2)
    assert y._version == 0 and y.op == "Mul"


def test_the_graph_shows_the_former_self():
    x = tg.tensor(W, requires_grad=True)
    y = x * 2
    z = y + 1
    y.add_(1)
    out = z * y
    graph = tg.Graph(out)
    ops = graph.ops
    assert ops.count("Mul") == 2 and ops.count("Add") == 2
    assert all(graph.index(p) < graph.index(n) for n in graph.order for p in n.parents)


def test_only_a_saved_input_that_backward_reads_makes_it_raise():
    # as PyTorch saves only what a gradient needs: y * 2 needs nothing of y, y * w needs y
    # for w's gradient
    torch = pytest.importorskip("torch")
    for lib in (tg, torch):
        x, w = _leaves(lib)
        y = x * 2
        scaled = y * 2
        y.add_(1)
        scaled.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.full(X.shape, 4.0))
        y = x * 2
        weighted = y * w
        y.add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            weighted.sum().backward()
