"""Batch norm and pooling: forward + backward against PyTorch CPU and plain numpy.

The case of issue 3: ``BatchNorm2d`` in training mode on a (32, 64, 32, 32) float32
batch, forward and backward (input, weight and bias all require grad; the upstream
gradient is a fixed random tensor; running statistics are updated every call).
PyTorch 2.13 CPU measured 3.2 ms on this machine (quiet); goal: ours / PyTorch <= 1.0.

* ``numpy``: the same computation written as textbook numpy (mean, var, normalise;
  then the closed-form backward), the baseline a plain-numpy engine would reach.
* ``max_pool2d`` 2x2 / stride 2 and ``avg_pool2d`` 2x2 / stride 2 on the same shape,
  forward + backward, against PyTorch: for information.
* the batch-norm case again with Numba and PyTorch both limited to one thread: for
  information, and steadier than the default (2 threads) when the machine is loaded.

All candidates run interleaved in one process (``common.timeit_round_robin``), medians
of the repeats. Run with ``OPENBLAS_THREAD_TIMEOUT=4`` in the environment (see
DESIGN.md, "Speed"). The machine has 2 cores: ratios are meaningful under load,
absolute times much less so (``main`` prints the load average).
"""
from __future__ import annotations

import os

import numba
import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_norm_pool.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs.ops import normalization, pool

SHAPE = (32, 64, 32, 32)
EPS = 1e-5
GOAL = 1.0


def _data(shape):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    return x, rng.standard_normal(shape).astype(np.float32)


# -- batch norm, three ways -------------------------------------------------------------------
def _ours_bn(x, g):
    c = x.shape[1]
    leaves = [tg.tensor(x, requires_grad=True), tg.ones(c, requires_grad=True),
              tg.zeros(c, requires_grad=True)]
    rm, rv, seed = np.zeros(c, np.float32), np.ones(c, np.float32), tg.tensor(g)

    def step():
        for t in leaves:
            t.grad = None
        normalization.batch_norm(leaves[0], rm, rv, leaves[1], leaves[2], training=True,
                                 eps=EPS).backward(seed)
    return step, lambda: [t.grad.numpy() for t in leaves]


def _torch_bn(x, g):
    c = x.shape[1]
    leaves = [torch.tensor(x, requires_grad=True), torch.ones(c, requires_grad=True),
              torch.zeros(c, requires_grad=True)]
    rm, rv, seed = torch.zeros(c), torch.ones(c), torch.tensor(g)

    def step():
        for t in leaves:
            t.grad = None
        torch.nn.functional.batch_norm(leaves[0], rm, rv, leaves[1], leaves[2], training=True,
                                       eps=EPS).backward(seed)
    return step, lambda: [t.grad.numpy() for t in leaves]


def _numpy_bn(x, g):
    c = x.shape[1]
    w, b = np.ones((1, c, 1, 1), np.float32), np.zeros((1, c, 1, 1), np.float32)
    rm, rv = np.zeros(c, np.float32), np.ones(c, np.float32)
    axes, n = (0, 2, 3), x.size // c
    grads = []

    def step():
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        rm[:] = 0.9 * rm + 0.1 * mean.ravel()
        rv[:] = 0.9 * rv + 0.1 * var.ravel() * n / (n - 1)
        invstd = 1.0 / np.sqrt(var + EPS)
        xhat = (x - mean) * invstd
        y = xhat * w + b  # noqa: F841 - the forward output, as an engine would keep it
        gw = g * w
        dx = invstd * (gw - gw.mean(axis=axes, keepdims=True)
                       - xhat * (gw * xhat).mean(axis=axes, keepdims=True))
        grads[:] = [dx, (g * xhat).sum(axis=axes), g.sum(axis=axes)]
    return step, lambda: grads


def _check_agree(name, got, expected, rtol=2e-3, atol=2e-3):
    """Guard against timing a broken path: the gradients must agree."""
    for a, b in zip(got, expected):
        if not np.allclose(a, b, rtol=rtol, atol=atol):
            raise AssertionError(f"norm/pool benchmark {name}: gradients disagree "
                                 f"(max difference {np.abs(a - b).max():.3g})")


# -- pooling ----------------------------------------------------------------------------------
def _ours_pool(fn, x, g):
    leaf, seed = tg.tensor(x, requires_grad=True), tg.tensor(g)

    def step():
        leaf.grad = None
        fn(leaf, 2).backward(seed)
    return step, lambda: [leaf.grad.numpy()]


def _torch_pool(fn, x, g):
    leaf, seed = torch.tensor(x, requires_grad=True), torch.tensor(g)

    def step():
        leaf.grad = None
        fn(leaf, 2).backward(seed)
    return step, lambda: [leaf.grad.numpy()]


def run(quick: bool = False) -> list[Row]:
    """Time every case interleaved; return the table rows."""
    shape = (4, 16, 16, 16) if quick else SHAPE
    x, g = _data(shape)
    candidates = {}
    pooled_g = g[:, :, ::2, ::2].copy()
    sides = {"tg": (_ours_bn(x, g), _ours_pool(pool.max_pool2d, x, pooled_g),
                    _ours_pool(pool.avg_pool2d, x, pooled_g))}
    if torch is not None:
        F = torch.nn.functional
        sides["torch"] = (_torch_bn(x, g), _torch_pool(F.max_pool2d, x, pooled_g),
                          _torch_pool(F.avg_pool2d, x, pooled_g))
    sides["numpy"] = (_numpy_bn(x, g),)
    for case_index, case in enumerate(("bn", "max", "avg")):
        results = {}
        for side, programs in sides.items():
            if case_index < len(programs):
                step, grads = programs[case_index]
                step()
                results[side] = grads()
                candidates[f"{side}/{case}"] = step
        for side, grads in results.items():
            if side != "tg":
                _check_agree(f"{case} ({side})", results["tg"], grads)
    if quick:
        t = timeit_round_robin(candidates, repeats=3, min_sample=0.002, warmup=0.005)
    else:
        t = timeit_round_robin(candidates, repeats=21, min_sample=0.05, warmup=0.2)
    size = "x".join(map(str, shape))
    rows = [
        Row(f"batch_norm train fwd+bwd, ({size}) float32", t["tg/bn"], t.get("torch/bn"),
            GOAL, "PyTorch"),
        Row(f"batch_norm train fwd+bwd, ({size}) float32", t["tg/bn"], t["numpy/bn"],
            None, "numpy"),
        Row(f"max_pool2d 2x2 fwd+bwd, ({size}) float32", t["tg/max"], t.get("torch/max"),
            None, "PyTorch"),
        Row(f"avg_pool2d 2x2 fwd+bwd, ({size}) float32", t["tg/avg"], t.get("torch/avg"),
            None, "PyTorch"),
    ]
    if torch is not None and not quick:
        one = _one_thread_each({k: candidates[k] for k in ("tg/bn", "torch/bn")})
        rows.append(Row(f"batch_norm train fwd+bwd, ({size}) float32, 1 thread each",
                        one["tg/bn"], one["torch/bn"], None, "PyTorch"))
    return rows


def _one_thread_each(candidates: dict) -> dict:
    """The same timing with Numba and PyTorch both on one thread: on a loaded 2-core
    machine a parallel region waits for its slowest thread, so this ratio is the steadier
    measure of the work each side does."""
    numba_threads, torch_threads = numba.get_num_threads(), torch.get_num_threads()
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    try:
        return timeit_round_robin(candidates, repeats=21, min_sample=0.05, warmup=0.2)
    finally:
        numba.set_num_threads(numba_threads)
        torch.set_num_threads(torch_threads)


def main(quick: bool = False) -> None:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
