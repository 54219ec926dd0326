"""Normalisation results do not depend on the thread count (DESIGN.md: kernels partition
work in a fixed way and reduce in a fixed order), forward and backward, bit for bit."""
from __future__ import annotations

import numba
import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn

CASES = {
    "batch_norm2d, rows": (lambda: nn.BatchNorm2d(6), (8, 6, 12, 12)),
    "batch_norm2d, few columns": (lambda: nn.BatchNorm2d(37), (16, 37, 2, 3)),
    "batch_norm1d": (lambda: nn.BatchNorm1d(123), (64, 123)),
    "group_norm": (lambda: nn.GroupNorm(3, 6), (4, 6, 9, 9)),
    "layer_norm": (lambda: nn.LayerNorm(77), (300, 77)),
}


def _run(make, shape, threads, dtype):
    numba.set_num_threads(threads)
    tg.manual_seed(0)
    layer = make().to(dtype)
    x = tg.tensor(np.random.default_rng(1).normal(2.0, 3.0, shape).astype(dtype),
                  requires_grad=True)
    out = layer(x)
    out.backward(tg.tensor(np.random.default_rng(2).normal(size=shape).astype(dtype)))
    return [out.numpy(), x.grad.numpy(), *[p.grad.numpy() for p in layer.parameters()]]


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_one_and_two_threads_give_the_same_bits(name, dtype):
    make, shape = CASES[name]
    before = numba.get_num_threads()
    try:
        one, two = (_run(make, shape, t, dtype) for t in (1, 2))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(one, two):
        assert a.tobytes() == b.tobytes()
