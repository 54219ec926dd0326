"""Dispatch overhead: forward + backward of tiny (1x1) tensor programs, against PyTorch CPU.

At 1x1 the arithmetic is free, so the time is the engine's per-op bookkeeping: wrapping
the output, recording the op, the backward walk, accumulating leaf gradients.

The programs, identical in both engines (float32, 1x1):

* ``add``:  ``a.grad = b.grad = None; (a + b).backward(seed)``, where ``a`` and ``b`` are
  leaves that require grad and ``seed`` is a preallocated 1x1 tensor of ones. Backward
  takes an explicit ``gradient`` rather than ``.sum().backward()`` so exactly one op is
  timed. (PyTorch measured 23.4 us for this on this machine.)
* ``chain``: the same add followed by 9 more ops, cycling ``y * c``, ``y + c``,
  ``tanh(y)`` with ``c`` a constant 1x1 tensor (no grad), then ``y.backward(seed)``.
  Per extra op = (chain - add) / 9. (PyTorch: ~4.4 us per extra op.)
* ``chain, y * 1.0001``: 9 multiplications by a Python float after the add, the common
  user spelling (PyTorch has to wrap the float into a tensor on every call).

Goal: every ratio ours / PyTorch <= 2.
"""
from __future__ import annotations

import gc

import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_dispatch.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg

GOAL = 2.0
EXTRA_OPS = 9


def _tinygrad_side():
    a = tg.tensor(np.ones((1, 1), np.float32), requires_grad=True)
    b = tg.tensor(np.ones((1, 1), np.float32), requires_grad=True)
    c = tg.tensor(np.full((1, 1), 1.0001, np.float32))
    seed = tg.tensor(np.ones((1, 1), np.float32))
    return _programs(a, b, c, seed, tg.tanh), lambda: float(a.grad.numpy().reshape(()))


def _torch_side():
    a = torch.ones((1, 1), dtype=torch.float32, requires_grad=True)
    b = torch.ones((1, 1), dtype=torch.float32, requires_grad=True)
    c = torch.full((1, 1), 1.0001, dtype=torch.float32)
    seed = torch.ones((1, 1), dtype=torch.float32)
    return _programs(a, b, c, seed, torch.tanh), lambda: float(a.grad.reshape(()))


def _programs(a, b, c, seed, tanh) -> dict:
    """The benchmark programs, written once for both engines."""
    def add():
        a.grad = None
        b.grad = None
        (a + b).backward(seed)

    def chain():
        a.grad = None
        b.grad = None
        y = a + b
        y = y * c    # 1
        y = y + c    # 2
        y = tanh(y)  # 3
        y = y * c    # 4
        y = y + c    # 5
        y = tanh(y)  # 6
        y = y * c    # 7
        y = y + c    # 8
        y = tanh(y)  # 9
        y.backward(seed)

    def chain_float():
        a.grad = None
        b.grad = None
        y = a + b
        for _ in range(EXTRA_OPS):
            y = y * 1.0001
        y.backward(seed)

    return {"add": add, "chain": chain, "chain_float": chain_float}


def _chain_derivative() -> float:
    """d/da of the ``chain`` program at a = b = 1, by forward-mode arithmetic."""
    c = 1.0001
    y, dy = 2.0, 1.0
    for _ in range(3):
        y, dy = y * c + c, dy * c
        y, dy = np.tanh(y), dy * (1.0 - np.tanh(y) ** 2)
    return float(dy)


def _gradients(programs: dict, grad_of_a) -> dict:
    """d/da of every program (run once), to check that both engines agree."""
    out = {}
    for name, fn in programs.items():
        fn()
        out[name] = grad_of_a()
    return out


def run(quick: bool = False) -> list[Row]:
    """Time every program in both engines, interleaved; return the table rows."""
    ours, ours_grad = _tinygrad_side()
    got = _gradients(ours, ours_grad)
    expected = {"add": 1.0, "chain": _chain_derivative(), "chain_float": 1.0001 ** EXTRA_OPS}
    candidates = {f"tg/{k}": v for k, v in ours.items()}
    if torch is not None:
        ref, ref_grad = _torch_side()
        for name, value in _gradients(ref, ref_grad).items():
            if not np.isclose(value, expected[name], rtol=1e-5):
                raise AssertionError(f"dispatch benchmark {name}: torch d/da = {value}, "
                                     f"expected {expected[name]}")
        candidates.update({f"torch/{k}": v for k, v in ref.items()})
    for name, value in expected.items():  # guard against timing a broken path
        if not np.isclose(got[name], value, rtol=1e-5):
            raise AssertionError(f"dispatch benchmark {name}: d/da = {got[name]}, "
                                 f"expected {value}")
    if quick:
        t = timeit_round_robin(candidates, repeats=3, min_sample=0.002, warmup=0.005)
    else:
        t = timeit_round_robin(candidates, repeats=41, min_sample=0.01, warmup=0.1)

    def get(engine: str, name: str):
        return t.get(f"{engine}/{name}")

    def per_op(engine: str, name: str):
        total, base = get(engine, name), get(engine, "add")
        return None if total is None else (total - base) / EXTRA_OPS

    ref_name = "PyTorch"
    return [
        Row("dispatch: add fwd+bwd, 1x1", get("tg", "add"), get("torch", "add"), GOAL, ref_name),
        Row("dispatch: 10-op chain fwd+bwd (add, 3x[mul, add, tanh]), 1x1",
            get("tg", "chain"), get("torch", "chain"), GOAL, ref_name),
        Row("dispatch: per extra op in the chain", per_op("tg", "chain"),
            per_op("torch", "chain"), GOAL, ref_name),
        Row("dispatch: per extra op, `y * 1.0001` (Python float)",
            per_op("tg", "chain_float"), per_op("torch", "chain_float"), GOAL, ref_name),
    ]


def main(quick: bool = False) -> None:
    print(f"gc {'on' if gc.isenabled() else 'off'}")
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
