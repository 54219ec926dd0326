"""ResNet-8 training step (CIFAR-style, BatchNorm) against PyTorch CPU.

The case: ``conv3x3(3, 16) - BN - ReLU``, then three stages of one ``BasicBlock`` each
(16, 32, 64 channels; the last two stride 2 with a 1x1 conv + BN shortcut), then
``AdaptiveAvgPool2d(1) - Flatten - Linear(64, 10)``. Input x (32, 3, 32, 32) float32, labels
(32,); one step is ``zero_grad(); CrossEntropyLoss()(model(x), y).backward(); opt.step()``
with ``SGD(lr=0.01, momentum=0.9)``, written identically for both engines from the same
initial state (torch's ``state_dict`` loaded into ours); 3 steps must agree before timing.
PyTorch 2.13 CPU on this machine (idle): 25-31 ms. Goal: ours / PyTorch <= 1.5. A second row
times both sides on one thread each (BLAS, Numba, PyTorch), steadier when the machine is busy.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_resnet8.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs import nn as tg_nn  # noqa: F401 - the import makes tg.nn available
from tinygrad_cs import optim

GOAL_TORCH = 1.5
BATCH, LR, MOMENTUM = 32, 0.01, 0.9


def _resnet8(lib):
    """The model in ``lib`` (``tinygrad_cs`` or ``torch``): x (N, 3, 32, 32) -> (N, 10)."""
    nn = lib.nn

    class BasicBlock(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.relu = nn.ReLU()
            self.shortcut = nn.Sequential()
            if stride != 1 or c_in != c_out:
                self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                              nn.BatchNorm2d(c_out))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + self.shortcut(x))

    return nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, 3, 32, 32), dtype=np.float32)
    return x, rng.integers(0, 10, BATCH)


def _side(lib, state, x, y):
    """(step, params) for one engine, starting from ``state`` (numpy arrays by name)."""
    model = _resnet8(lib)
    if lib is torch:
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        opt_cls, xt, yt = torch.optim.SGD, torch.from_numpy(x), torch.from_numpy(y)
        params = lambda: [p.detach().numpy().copy() for p in model.parameters()]
    else:
        model.load_state_dict({k: v.copy() for k, v in state.items()})
        opt_cls, xt, yt = optim.SGD, tg.Tensor(x), y
        params = lambda: [p.numpy().copy() for p in model.parameters()]
    loss_fn = lib.nn.CrossEntropyLoss()
    opt = opt_cls(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        opt.zero_grad()
        loss_fn(model(xt), yt).backward()
        opt.step()

    return step, params


def run(quick: bool = False) -> list[Row]:
    """Time ours against PyTorch (interleaved) after checking 3 steps agree; return the rows."""
    x, y = _data()
    label = "ResNet-8 (16/32/64, BN), batch 32x3x32x32, CE + SGD momentum: train step"
    if torch is None:
        tg.manual_seed(0)
        state = {k: v.numpy() for k, v in _resnet8(tg).state_dict().items()}
        step, _ = _side(tg, state, x, y)
        t = timeit_round_robin({"ours": step}, repeats=3 if quick else 11,
                               min_sample=0.002 if quick else 0.2)
        return [Row(f"{label} vs PyTorch", t["ours"], None, GOAL_TORCH, "PyTorch")]
    torch.manual_seed(0)
    state = {k: v.numpy().copy() for k, v in _resnet8(torch).state_dict().items()}
    sides = {"ours": _side(tg, state, x, y), "torch": _side(torch, state, x, y)}
    for step, _ in sides.values():
        for _ in range(3):
            step()
    for a, e in zip(sides["ours"][1](), sides["torch"][1]()):
        if not np.allclose(a, e, rtol=1e-3, atol=1e-4):
            raise AssertionError("ResNet-8 benchmark: parameters after 3 steps differ from "
                                 f"PyTorch's (max abs error {np.abs(a - e).max():.3g})")
    candidates = {name: step for name, (step, _) in sides.items()}
    if quick:
        t = timeit_round_robin(candidates, repeats=3, min_sample=0.002, warmup=0.005)
    else:
        t = timeit_round_robin(candidates, repeats=15, min_sample=0.2, warmup=0.5)
    rows = [Row(f"{label} vs PyTorch", t["ours"], t["torch"], GOAL_TORCH, "PyTorch")]
    if not quick:  # steadier on a busy machine: no fork-join stalls on either side
        with _one_thread_each():
            one = timeit_round_robin(candidates, repeats=11, min_sample=0.2, warmup=0.3)
        rows.append(Row(f"{label}, 1 thread each, vs PyTorch", one["ours"], one["torch"],
                        GOAL_TORCH, "PyTorch"))
    return rows


@contextmanager
def _one_thread_each():
    """OpenBLAS (numpy's BLAS), Numba and PyTorch on one thread inside the block."""
    import numba
    from threadpoolctl import threadpool_limits
    torch_threads, numba_threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    try:
        with threadpool_limits(1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(torch_threads)
        numba.set_num_threads(numba_threads)


def main(quick: bool = False) -> None:
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
