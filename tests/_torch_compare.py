"""One program run in tinygrad_cs and in PyTorch: outputs, dtypes and gradients compared.

``compare(fn, arrays)`` calls ``fn(lib, *tensors)`` with ``lib`` each library in turn (float
arrays become tensors that require grad), compares every output, then backpropagates
sum(w * output) with the same random weights w through both and compares the gradients.
"""
from __future__ import annotations

import numpy as np

RNG = np.random.default_rng(7)


def distinct(*shape) -> np.ndarray:
    """Float64 values with no ties, at least 0.1 apart and away from integers and halves."""
    n = int(np.prod(shape))
    return ((RNG.permutation(n) - n / 2) * 0.37 + 0.07).reshape(shape)


def _dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "")


def compare(fn, arrays, grad: bool = True, rtol: float = 1e-12, atol: float = 1e-12) -> None:
    import torch

    import tinygrad_cs as tg
    ours = [tg.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    theirs = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out_o, out_t = fn(tg, *ours), fn(torch, *theirs)
    out_o = tuple(out_o) if isinstance(out_o, (tuple, list)) else (out_o,)
    out_t = tuple(out_t) if isinstance(out_t, (tuple, list)) else (out_t,)
    assert len(out_o) == len(out_t)
    loss_o = loss_t = None
    for o, t in zip(out_o, out_t):
        if not isinstance(t, torch.Tensor):  # a Python bool or number
            assert o == t, (o, t)
            continue
        assert tuple(o.shape) == tuple(t.shape), (o.shape, t.shape)
        assert str(o.dtype) == _dtype_name(t), (o.dtype, t.dtype)
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
        if grad and t.requires_grad:
            w = RNG.normal(size=tuple(t.shape))
            term_o, term_t = (o * tg.tensor(w)).sum(), (t * torch.tensor(w)).sum()
            loss_o = term_o if loss_o is None else loss_o + term_o
            loss_t = term_t if loss_t is None else loss_t + term_t
    if loss_t is not None:
        loss_o.backward()
        loss_t.backward()
        for a, b in zip(ours, theirs):
            if b.requires_grad:
                np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)
