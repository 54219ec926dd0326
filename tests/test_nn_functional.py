"""tinygrad_cs.nn.functional: numpy references, gradients, and PyTorch's signatures."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_cs as tg
import tinygrad_cs.nn.functional as F

X = np.array([[-3.0, -0.5, 0.0, 0.25, 2.0, 30.0]])

REFERENCES = {
    "relu": (lambda x: F.relu(x), lambda x: np.maximum(x, 0)),
    "sigmoid": (lambda x: F.sigmoid(x), lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (lambda x: F.tanh(x), np.tanh),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "elu": (lambda x: F.elu(x, alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    "softplus": (lambda x: F.softplus(x, beta=2.0),
                 lambda x: np.where(2 * x > 20, x, np.log1p(np.exp(2 * x)) / 2)),
    "softmax": (lambda x: F.softmax(x, dim=1),
                lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum()),
    "log_softmax": (lambda x: F.log_softmax(x, dim=-1),
                    lambda x: x - x.max() - np.log(np.exp(x - x.max()).sum())),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_forward_matches_numpy(name):
    fn, ref = REFERENCES[name]
    out = fn(tg.tensor(X, dtype=tg.float64))
    assert isinstance(out, tg.Tensor)
    np.testing.assert_allclose(out.numpy(), ref(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_gradient_matches_central_differences(name):
    fn, ref = REFERENCES[name]
    x = np.array([[-1.3, -0.4, 0.3, 0.9, 1.7]])     # away from the kinks at 0
    w = np.array([[0.5, -1.0, 2.0, 0.25, -0.75]])   # weights make softmax's gradient non-zero
    t = tg.tensor(x, dtype=tg.float64, requires_grad=True)
    (fn(t) * tg.tensor(w)).sum().backward()
    eps, numeric = 1e-6, np.zeros_like(x)
    for i in range(x.shape[1]):
        step = np.zeros_like(x)
        step[0, i] = eps
        numeric[0, i] = ((ref(x + step) * w).sum() - (ref(x - step) * w).sum()) / (2 * eps)
    np.testing.assert_allclose(t.grad.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_softmax_dtype_argument_casts_first():
    x = tg.tensor([[1.0, 2.0, 3.0]])
    assert x.dtype == tg.float32
    out = F.softmax(x, dim=1, dtype=tg.float64)
    assert out.dtype == tg.float64
    assert out.sum().item() == pytest.approx(1.0, abs=1e-12)


def test_log_softmax_is_stable_for_huge_logits():
    out = F.log_softmax(tg.tensor([[1e4, 0.0, -1e4]], dtype=tg.float64), dim=1).numpy()
    np.testing.assert_allclose(out, [[0.0, -1e4, -2e4]])


def test_pad_constant_reflect_and_gradient():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    out = F.pad(x, (1, 2), value=-1.0)
    np.testing.assert_array_equal(out.numpy(), np.pad(x.numpy(), ((0, 0), (1, 2)),
                                                      constant_values=-1.0))
    reflect = F.pad(x, (1, 1, 1, 1), mode="reflect")
    np.testing.assert_array_equal(reflect.numpy(), np.pad(x.numpy(), 1, mode="reflect"))
    reflect.sum().backward()
    # each element's gradient counts how often reflect padding reads it
    expected = np.zeros((2, 3))
    np.add.at(expected, tuple(np.ix_(np.pad(np.arange(2), 1, mode="reflect"),
                                     np.pad(np.arange(3), 1, mode="reflect"))), 1.0)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_works_on_plain_numpy_arrays():
    np.testing.assert_array_equal(F.relu(np.array([-1.0, 2.0])), [0.0, 2.0])


def test_inplace_flag_is_accepted_and_leaves_the_input_intact():
    x = tg.tensor([-1.0, 1.0])
    out = F.relu(x, inplace=True)
    assert out.tolist() == [0.0, 1.0] and x.tolist() == [-1.0, 1.0]


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "leaky_relu", "elu", "softmax",
                                  "log_softmax", "pad"])
def test_signatures_match_pytorch(name):
    torch_f = pytest.importorskip("torch.nn.functional")
    theirs = inspect.signature(getattr(torch_f, name)).parameters
    ours = inspect.signature(getattr(F, name)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]
