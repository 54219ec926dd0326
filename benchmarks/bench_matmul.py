"""matmul and linear through the engine, against numpy doing the same GEMMs (and PyTorch).

float32, square n x n operands, all inputs requiring grad on our side. Per n:

* matmul forward: ``matmul(A, B)`` vs numpy ``A @ B``;
* matmul forward+backward: ``matmul(A, B).backward(G)`` vs numpy ``A @ B; G @ B.T; A.T @ G``;
* linear forward: ``linear(X, W, b)`` vs numpy ``X @ W.T + b``;
* linear forward+backward: ``linear(X, W, b).backward(G)`` vs numpy
  ``X @ W.T + b; G @ W; G.T @ X; G.sum(0)``.

Our side pays everything a training step pays: the graph node, the backward walk and the
copy of each gradient into its leaf's ``.grad``. Goal (issue 3): at most 5% over numpy for
n >= 256. PyTorch (``torch.matmul``, forward) is listed for n = 1024: 10.7 ms here, numpy
10.7 ms.
"""
from __future__ import annotations

import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_matmul.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs.ops.linalg import linear, matmul

GOAL = 1.05
SIZES = (256, 512, 1024)
QUICK_SIZES = (8,)


def _sides(n: int) -> dict:
    """``{case: {side: callable}}`` for one size, with the same data on every side."""
    rng = np.random.default_rng(n)
    a, b, g = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(3))
    bias = rng.standard_normal(n, dtype=np.float32)
    ta, tb, tbias = (tg.Tensor(v, requires_grad=True) for v in (a, b, bias))
    seed = tg.Tensor(g)

    def ours_mm_bwd():
        ta.grad = tb.grad = None
        matmul(ta, tb).backward(seed)

    def ours_lin_bwd():
        ta.grad = tb.grad = tbias.grad = None
        linear(ta, tb, tbias).backward(seed)

    def numpy_mm_bwd():
        a @ b
        g @ b.T
        a.T @ g

    def numpy_lin_bwd():
        a @ b.T + bias
        g @ b
        g.T @ a
        g.sum(axis=0)

    cases = {
        "matmul forward": {"ours": lambda: matmul(ta, tb), "numpy": lambda: a @ b},
        "matmul forward+backward": {"ours": ours_mm_bwd, "numpy": numpy_mm_bwd},
        "linear forward": {"ours": lambda: linear(ta, tb, tbias), "numpy": lambda: a @ b.T + bias},
        "linear forward+backward": {"ours": ours_lin_bwd, "numpy": numpy_lin_bwd},
    }
    if torch is not None:
        pa, pb = torch.from_numpy(a), torch.from_numpy(b)
        cases["matmul forward"]["torch"] = lambda: torch.matmul(pa, pb)
    return cases


def run(quick: bool = False) -> list[Row]:
    """Each case at each size, sides interleaved; return the table rows."""
    rows = []
    for n in QUICK_SIZES if quick else SIZES:
        for case, sides in _sides(n).items():
            if quick:
                t = timeit_round_robin(sides, repeats=3, min_sample=0.0, warmup=0.0)
            else:
                t = timeit_round_robin(sides, repeats=15, min_sample=0.1, warmup=0.2)
            label = f"{case} {n}x{n}"
            rows.append(Row(f"{label} vs numpy", t["ours"], t["numpy"],
                            GOAL if n >= 256 else None, "numpy"))
            if "torch" in t and n == 1024:
                rows.append(Row(f"{label} vs PyTorch", t["ours"], t["torch"], None, "PyTorch"))
    return rows


def main(quick: bool = False) -> None:
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
