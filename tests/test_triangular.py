"""``tg.triu`` / ``tg.tril`` and the Tensor methods: numpy's triangles as the oracle for the
values (any diagonal offset, batched, -inf kept out of the zeroed part), PyTorch for the
gradients, and float64 central differences."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cs as tg
from tinygrad_cs.testing import gradcheck


@settings(max_examples=30, deadline=None)
@given(st.tuples(st.integers(0, 2), st.integers(1, 5), st.integers(1, 5)),
       st.integers(-6, 6))
def test_values_match_numpy_for_any_diagonal(shape, diagonal):
    batch, m, n = shape
    x = np.random.default_rng(0).standard_normal((batch, m, n)).astype(np.float32)
    t = tg.tensor(x)
    up, low = tg.triu(t, diagonal), t.tril(diagonal=diagonal)
    assert up.dtype == low.dtype == np.float32 and up.shape == x.shape
    np.testing.assert_array_equal(up.numpy(), np.triu(x, diagonal))
    np.testing.assert_array_equal(low.numpy(), np.tril(x, diagonal))


def test_triu_of_minus_infinity_holds_zeros_not_nan():
    """The causal-mask idiom: ``torch.triu(torch.ones(n, n) * float('-inf'), diagonal=1)``."""
    mask = tg.triu(tg.ones(3, 3) * float("-inf"), diagonal=1).numpy()
    np.testing.assert_array_equal(mask, [[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]])
    keep = tg.tril(tg.ones(3, 3, dtype=tg.bool_))
    assert keep.dtype == np.bool_ and keep.numpy().sum() == 6


def test_gradients_match_pytorch_and_central_differences():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    g = np.random.default_rng(2).standard_normal((2, 3, 4))
    for name, diagonal in (("triu", 1), ("tril", -1), ("triu", 0)):
        ours = tg.tensor(x, requires_grad=True)
        (getattr(ours, name)(diagonal) * tg.tensor(g)).sum().backward()
        theirs = torch.tensor(x, requires_grad=True)
        (getattr(theirs, name)(diagonal) * torch.tensor(g)).sum().backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert gradcheck(lambda a: tg.triu(a, 1).sin(), tg.tensor(x, requires_grad=True)).ok


def test_fewer_than_two_dims_is_refused_naming_the_shape():
    with pytest.raises(RuntimeError, match=r"triu: .*at least 2 dimensions.*\(4,\)"):
        tg.triu(tg.ones(4))
    with pytest.raises(RuntimeError, match=r"tril: .*\(\)"):
        tg.tensor(1.0).tril()
