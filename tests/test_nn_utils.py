"""nn.utils: gradient clipping (closed forms and PyTorch), parameters <-> vector."""
from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def params_with_grads(*grads, dtype=np.float64):
    params = []
    for g in grads:
        p = nn.Parameter(tg.zeros(*np.shape(g), dtype=dtype))
        p.grad = tg.tensor(np.asarray(g, dtype=dtype))
        params.append(p)
    return params


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_norm_before():
    params = params_with_grads([3.0, 0.0], [[0.0], [4.0]])  # total 2-norm = 5
    total = clip_grad_norm_(params, max_norm=1.0)
    assert isinstance(total, tg.Tensor) and total.shape == () and total.item() == 5.0
    coef = 1.0 / (5.0 + 1e-6)
    assert np.allclose(params[0].grad.numpy(), [3.0 * coef, 0.0], rtol=1e-15)
    assert np.allclose(params[1].grad.numpy(), [[0.0], [4.0 * coef]], rtol=1e-15)
    norm = math.sqrt(sum((p.grad.numpy()**2).sum() for p in params))
    assert norm == pytest.approx(1.0, abs=1e-6)


def test_clip_grad_norm_leaves_small_gradients_unchanged():
    params = params_with_grads([0.3, -0.4])
    before = params[0].grad
    assert clip_grad_norm_(params, 10.0).item() == pytest.approx(0.5)
    assert params[0].grad is before and np.array_equal(before.numpy(), [0.3, -0.4])


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf, "inf"])
def test_total_norm_closed_form(norm_type):
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    flat = np.concatenate([g.ravel() for g in grads])
    p = float(norm_type)
    expected = np.abs(flat).max() if p == math.inf else (np.abs(flat) ** p).sum() ** (1 / p)
    params = params_with_grads(*grads)
    total = clip_grad_norm_(params, 0.1, norm_type=norm_type)
    assert total.item() == pytest.approx(expected, rel=1e-12)
    clipped = np.concatenate([q.grad.numpy().ravel() for q in params])
    assert np.allclose(clipped, flat * 0.1 / (expected + 1e-6), rtol=1e-12)


def test_clip_grad_norm_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal((8, 3)).astype(np.float32) * 3,
             rng.standard_normal(8).astype(np.float32)]
    for norm_type in (2.0, 1.0, math.inf, 0.5):
        for max_norm in (0.5, 1e3):
            ours = params_with_grads(*grads, dtype=np.float32)
            theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
            for t, g in zip(theirs, grads):
                t.grad = torch.from_numpy(g.copy())
            a = clip_grad_norm_(ours, max_norm, norm_type)
            b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
            assert a.dtype == np.float32 and a.item() == pytest.approx(b.item(), rel=1e-5)
            for p, t in zip(ours, theirs):
                assert np.allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_nonfinite_norm_raises_only_when_asked():
    params = params_with_grads([1.0, np.inf])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with np.errstate(invalid="ignore"):  # inf * 0 below is the point
        assert clip_grad_norm_(params, 1.0).item() == math.inf
    assert np.isnan(params[0].grad.numpy()[1])  # inf * 0, as PyTorch


def test_parameters_without_grad_a_single_tensor_and_a_generator():
    a, b = params_with_grads([6.0, 8.0], [1.0])
    b.grad = None
    assert clip_grad_norm_(iter([a, b]), 5.0).item() == 10.0
    assert np.allclose(a.grad.numpy(), [3.0, 4.0], rtol=1e-6)
    assert clip_grad_norm_(a, 1.0).item() == pytest.approx(5.0)
    with pytest.warns(UserWarning, match="empty generator"):
        assert clip_grad_norm_((p for p in []), 1.0).item() == 0.0


def test_clip_grad_value_clamps_each_element():
    (p,) = params_with_grads([-3.0, -0.5, 0.2, 7.0])
    assert clip_grad_value_([p], 1.0) is None
    assert np.array_equal(p.grad.numpy(), [-1.0, -0.5, 0.2, 1.0])


def test_clip_grad_value_matches_pytorch():
    torch = pytest.importorskip("torch")
    g = np.random.default_rng(3).standard_normal((4, 5))
    (p,) = params_with_grads(g)
    t = torch.zeros(4, 5, dtype=torch.float64, requires_grad=True)
    t.grad = torch.from_numpy(g.copy())
    clip_grad_value_(p, 0.3)
    torch.nn.utils.clip_grad_value_(t, 0.3)
    assert np.array_equal(p.grad.numpy(), t.grad.numpy())


def test_clipping_works_on_gradients_that_carry_a_graph():
    x = tg.tensor([3.0, 4.0], dtype=tg.float64, requires_grad=True)
    (x**2).sum().backward(create_graph=True)  # x.grad = 2x, a graph node
    total = clip_grad_norm_([x], 1.0)
    assert total.item() == pytest.approx(10.0)
    assert np.allclose(x.grad.numpy(), [0.6, 0.8], rtol=1e-6)


def test_parameters_to_vector_and_back():
    a = nn.Parameter(tg.tensor(np.arange(6.0).reshape(2, 3)))
    b = nn.Parameter(tg.tensor([10.0, 11.0], dtype=tg.float64))
    vec = parameters_to_vector([a, b])
    assert np.array_equal(vec.numpy(), [0, 1, 2, 3, 4, 5, 10, 11])
    (vec * tg.tensor(np.arange(8.0))).sum().backward()  # the vector stays in the graph
    assert np.array_equal(a.grad.numpy(), np.arange(6.0).reshape(2, 3))
    assert np.array_equal(b.grad.numpy(), [6.0, 7.0])
    vector_to_parameters(tg.tensor(-np.arange(8.0)), [a, b])
    assert np.array_equal(a.numpy(), -np.arange(6.0).reshape(2, 3))
    assert np.array_equal(b.numpy(), [-6.0, -7.0]) and isinstance(b, nn.Parameter)
    with pytest.raises(RuntimeError, match="8 elements"):
        vector_to_parameters(tg.zeros(7), [a, b])
    with pytest.raises(TypeError, match="Tensor"):
        vector_to_parameters(np.zeros(8), [a, b])
