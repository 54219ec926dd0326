"""Convolution: one forward + backward of conv2d, against PyTorch CPU and a numpy im2col.

Each case runs, float32, NCHW, 3x3 kernel, padding 1, stride 1, with bias:
``y = conv2d(x, w, b); y.backward(g)`` where ``x``, ``w`` and ``b`` all require grad (so
the backward computes dx, dw and db) and ``g`` is a fixed output gradient. Measured
interleaved with the same data in three implementations:

* tinygrad_cs: ``tinygrad_cs.ops.conv.conv2d`` through the engine (graph and all);
* PyTorch: ``torch.nn.functional.conv2d`` (when installed);
* numpy im2col: the textbook implementation in plain numpy (patches by
  ``sliding_window_view``, one matmul each for forward, dx and dw, col2im by slice-adds;
  depthwise as a broadcast multiply-sum), i.e. what vectorised numpy alone gets.

PyTorch 2.13 CPU on this machine (2 cores, quiet): 3->64 N=32 32x32: 5.5 ms; 64->64 N=32
32x32: 37.4 ms; 128->128 N=32 16x16: 33.5 ms; depthwise 64 N=32 32x32: 5.2 ms. Goal:
ours / PyTorch <= 1.5 in every case, and faster than the numpy im2col (ratio <= 1).

The kernels mix Numba's OpenMP threads and OpenBLAS's threads: run with
``OPENBLAS_THREAD_TIMEOUT=4`` in the environment (or the engine's fix for it), else the
two pools spin against each other and every figure here is meaningless.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_conv.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs.ops.conv import conv2d

GOAL_TORCH = 1.5
GOAL_NUMPY = 1.0
# (label, N, C_in, C_out, H = W, groups)
CASES = [("conv 3->64, N=32, 32x32, k3 p1", 32, 3, 64, 32, 1),
         ("conv 16->16, N=32, 32x32, k3 p1 (direct 3x3 path)", 32, 16, 16, 32, 1),
         ("conv 64->64, N=32, 32x32, k3 p1", 32, 64, 64, 32, 1),
         ("conv 128->128, N=32, 16x16, k3 p1", 32, 128, 128, 16, 1),
         ("depthwise 64 (groups=64), N=32, 32x32, k3 p1", 32, 64, 64, 32, 64)]
QUICK_CASES = [("conv 3->8, N=2, 8x8, k3 p1 (smoke)", 2, 3, 8, 8, 1),
               ("depthwise 8, N=2, 8x8, k3 p1 (smoke)", 2, 8, 8, 8, 8)]


def _data(n, cin, cout, hw, groups, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, hw, hw), dtype=np.float32)
    w = rng.standard_normal((cout, cin // groups, 3, 3), dtype=np.float32) * 0.1
    b = rng.standard_normal(cout, dtype=np.float32)
    g = rng.standard_normal((n, cout, hw, hw), dtype=np.float32)
    return x, w, b, g


def _ours(x, w, b, g, groups):
    xt, wt, bt = (tg.Tensor(a.copy(), requires_grad=True) for a in (x, w, b))
    seed = tg.Tensor(g)

    def step():
        xt.grad = wt.grad = bt.grad = None
        conv2d(xt, wt, bt, padding=1, groups=groups).backward(seed)

    return step, lambda: (xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy())


def _torch(x, w, b, g, groups):
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    seed = torch.tensor(g)

    def step():
        xt.grad = wt.grad = bt.grad = None
        torch.nn.functional.conv2d(xt, wt, bt, padding=1, groups=groups).backward(seed)

    return step, lambda: (xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy())


def _numpy_conv(x, w, b, g, groups):
    """Textbook numpy im2col conv (stride 1, padding 1): forward, then dx, dw, db."""
    n, c, h, wd = x.shape
    co, kh, kw = w.shape[0], w.shape[2], w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))  # (N, C, H, W, kh, kw)
    if groups == 1:
        cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * wd, c * kh * kw)
        w2 = w.reshape(co, -1)
        out = (cols @ w2.T).reshape(n, h, wd, co).transpose(0, 3, 1, 2) + b[:, None, None]
        g2 = g.transpose(0, 2, 3, 1).reshape(-1, co)
        dw = (g2.T @ cols).reshape(w.shape)
        dcols = (g2 @ w2).reshape(n, h, wd, c, kh, kw)
    else:  # depthwise: one filter per channel, a broadcast multiply-sum
        out = np.einsum("nchwij,cij->nchw", win, w[:, 0]) + b[:, None, None]
        dw = np.einsum("nchwij,nchw->cij", win, g)[:, None]
        dcols = np.einsum("nchw,cij->nhwcij", g, w[:, 0])
    db = g.sum(axis=(0, 2, 3))
    dxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + h, j:j + wd] += dcols[..., i, j].transpose(0, 3, 1, 2)
    return out, dxp[:, :, 1:-1, 1:-1], dw, db


def _numpy(x, w, b, g, groups):
    result = {}

    def step():
        result["grads"] = _numpy_conv(x, w, b, g, groups)[1:]

    return step, lambda: result["grads"]


def _check(name, got, expected):
    """Guard against timing a broken path: the gradients agree (float32 tolerance)."""
    for what, a, e in zip(("dx", "dw", "db"), got, expected):
        scale = np.abs(e).max() + 1e-6
        if not np.allclose(a, e, rtol=1e-3, atol=1e-3 * scale):
            raise AssertionError(f"conv benchmark {name}: {what} differs from the reference "
                                 f"(max abs error {np.abs(a - e).max():.3g}, scale {scale:.3g})")


def run(quick: bool = False) -> list[Row]:
    """Time each case in all implementations, interleaved; return the table rows."""
    rows = []
    for label, n, cin, cout, hw, groups in (QUICK_CASES if quick else CASES):
        data = _data(n, cin, cout, hw, groups)
        sides = {"ours": _ours(*data, groups), "numpy": _numpy(*data, groups)}
        if torch is not None:
            sides["torch"] = _torch(*data, groups)
        for name, (step, grads) in sides.items():
            step()
            if name != "numpy":
                sides["numpy"][0]()
                _check(f"{label} ({name})", grads(), sides["numpy"][1]())
        candidates = {name: step for name, (step, _) in sides.items()}
        if quick:
            t = timeit_round_robin(candidates, repeats=3, min_sample=0.0, warmup=0.0)
        else:
            t = timeit_round_robin(candidates, repeats=11, min_sample=0.15, warmup=0.3)
        rows.append(Row(f"{label}: fwd+bwd vs PyTorch", t["ours"], t.get("torch"),
                        GOAL_TORCH, "PyTorch"))
        rows.append(Row(f"{label}: fwd+bwd vs numpy im2col", t["ours"], t["numpy"],
                        GOAL_NUMPY, "numpy im2col"))
    return rows


def main(quick: bool = False) -> None:
    import os

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(markdown_table(run(quick), verdicts=not quick))
    if load is not None:  # other processes skew multi-threaded timings: state how busy
        print(f"load average at start: {load[0]:.2f} (1 min), {os.cpu_count()} CPUs")


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
