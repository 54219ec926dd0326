"""MLP training step: forward, cross-entropy, backward, SGD with momentum, against PyTorch CPU.

The case: ``Linear(64, 128) - ReLU - Linear(128, 128) - ReLU - Linear(128, 10)``, batch 64,
float32, ``CrossEntropyLoss()``, ``SGD(lr=0.01, momentum=0.9)``; one step is
``zero_grad(); loss_fn(model(x), y).backward(); opt.step()``, written identically for
both engines (``tg.nn`` / ``torch.nn``) from the same initial weights. A third side runs the
same step written by hand in numpy (the same GEMMs, no graph): the floor our bookkeeping
sits on. PyTorch 2.13 CPU on this machine measured 0.41 ms. Goal: ours / PyTorch <= 2.

A second row repeats the step comparison with one thread each (OpenBLAS through
``threadpoolctl``, PyTorch through ``torch.set_num_threads``). These GEMMs (64 x 64 x 128)
are just above OpenBLAS's threading threshold, so by default every one of them is a
fork-join of both cores: on a machine busy with other processes a descheduled thread
stalls each join, and the default-threads figures swing by 10-100x. The one-thread ratio is
the steadier measure of the work each side does.

A last, informational row times the loss alone, forward + backward on (64, 10) scores:
the fused ``cross_entropy`` op against the composition ``nll_loss(log_softmax(x))``, which
is why cross-entropy is one op.
"""
from __future__ import annotations

import itertools
import os
from contextlib import contextmanager

import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_mlp.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.nn import functional as F

GOAL_TORCH = 2.0
SIZES = (64, 128, 128, 10)
BATCH, LR, MOMENTUM = 64, 0.01, 0.9


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0]), dtype=np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    weights = []
    for n_in, n_out in itertools.pairwise(SIZES):
        bound = 1 / np.sqrt(n_in)  # PyTorch's default range
        weights += [rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                    rng.uniform(-bound, bound, n_out).astype(np.float32)]
    return x, y, weights


def _layers(lib, weights):
    mods = []
    for i in range(0, len(weights), 2):
        n_out, n_in = weights[i].shape
        mods += [lib.nn.Linear(n_in, n_out), lib.nn.ReLU()]
    return lib.nn.Sequential(*mods[:-1])


def _ours(x, y, weights):
    model = _layers(tg, weights)
    for p, w in zip(model.parameters(), weights):
        p.numpy()[...] = w
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt = tg.Tensor(x)

    def step():
        opt.zero_grad()
        loss_fn(model(xt), y).backward()
        opt.step()

    return step, lambda: [p.numpy().copy() for p in model.parameters()]


def _torch(x, y, weights):
    model = _layers(torch, weights)
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights):
            p.copy_(torch.from_numpy(w))
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss_fn(model(xt), yt).backward()
        opt.step()

    return step, lambda: [p.detach().numpy().copy() for p in model.parameters()]


def _numpy(x, y, weights):
    """The same step by hand: forward keeping activations, softmax - onehot, backward GEMMs."""
    params = [w.copy() for w in weights]
    velocity = [None] * len(params)
    rows = np.arange(BATCH)

    def step():
        acts, h = [x], x
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                h = np.maximum(h, 0)
                acts.append(h)
        p = np.exp(h - h.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[rows, y] -= 1
        g = p / BATCH
        grads = [None] * len(params)
        for i in range(len(params) - 2, -1, -2):
            a = acts[i // 2]
            grads[i], grads[i + 1] = g.T @ a, g.sum(axis=0)
            if i:
                g = (g @ params[i]) * (a > 0)
        for k, (w, dw) in enumerate(zip(params, grads)):
            if velocity[k] is None:
                velocity[k] = dw.copy()
            else:
                velocity[k] *= MOMENTUM
                velocity[k] += dw
            w -= LR * velocity[k]

    return step, lambda: [w.copy() for w in params]


def _losses(seed=1):
    """Loss-only candidates: fused cross_entropy vs nll_loss(log_softmax(x))."""
    rng = np.random.default_rng(seed)
    scores = tg.Tensor(rng.standard_normal((BATCH, SIZES[-1]), dtype=np.float32),
                       requires_grad=True)
    y = rng.integers(0, SIZES[-1], BATCH)

    def fused():
        scores.grad = None
        F.cross_entropy(scores, y).backward()

    def composed():
        scores.grad = None
        F.nll_loss(F.log_softmax(scores, 1), y).backward()

    fused()
    first = scores.grad.numpy()
    composed()
    if not np.allclose(first, scores.grad.numpy(), atol=1e-6):
        raise AssertionError("MLP benchmark: fused and composed cross-entropy disagree")
    return {"fused": fused, "composed": composed}


@contextmanager
def _one_thread_each():
    """OpenBLAS (numpy's BLAS) and PyTorch on one thread inside the block."""
    from threadpoolctl import threadpool_limits
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(torch_threads)


def _threadpoolctl() -> bool:
    try:
        import threadpoolctl  # noqa: F401 - optional (scikit-learn installs it)
    except ImportError:
        return False
    return True


def _check(name, got, expected):
    """Guard against timing a broken path: three steps from the same weights agree."""
    for a, e in zip(got, expected):
        if not np.allclose(a, e, rtol=1e-4, atol=1e-5):
            raise AssertionError(f"MLP benchmark ({name}): parameters after 3 steps differ from "
                                 f"numpy's (max abs error {np.abs(a - e).max():.3g})")


def run(quick: bool = False) -> list[Row]:
    """Time the step on every side and the two loss forms, interleaved; return the rows."""
    data = _data()
    sides = {"ours": _ours(*data), "numpy": _numpy(*data)}
    if torch is not None:
        sides["torch"] = _torch(*data)
    for step, _ in sides.values():
        for _ in range(3):
            step()
    for name, (_, params) in sides.items():
        _check(name, params(), sides["numpy"][1]())
    candidates = {name: step for name, (step, _) in sides.items()}
    candidates.update({f"loss/{k}": v for k, v in _losses().items()})
    if quick:
        t = timeit_round_robin(candidates, repeats=3, min_sample=0.002, warmup=0.005)
    else:
        t = timeit_round_robin(candidates, repeats=21, min_sample=0.05, warmup=0.2)
    label = "MLP 64-128-128-10, batch 64, CE + SGD momentum: train step"
    rows = [Row(f"{label} vs PyTorch", t["ours"], t.get("torch"), GOAL_TORCH, "PyTorch"),
            Row(f"{label} vs the same step in numpy", t["ours"], t["numpy"], None, "numpy")]
    if torch is not None and not quick and _threadpoolctl():
        steps = {name: candidates[name] for name in ("ours", "torch", "numpy")}
        with _one_thread_each():
            one = timeit_round_robin(steps, repeats=21, min_sample=0.05, warmup=0.2)
        rows += [Row(f"{label}, 1 thread each, vs PyTorch", one["ours"], one["torch"],
                     GOAL_TORCH, "PyTorch"),
                 Row(f"{label}, 1 thread each, vs numpy", one["ours"], one["numpy"], None,
                     "numpy")]
    rows.append(Row("cross-entropy fwd+bwd (64, 10): fused op vs nll_loss(log_softmax)",
                    t["loss/fused"], t["loss/composed"], None, "composed"))
    return rows


def main(quick: bool = False) -> None:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
