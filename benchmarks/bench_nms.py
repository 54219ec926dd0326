"""Non-maximum suppression: ``tinygrad_cs.vision.ops.nms`` against torchvision CPU and numpy.

The case of issue 14: ``nms`` on 10,000 float32 boxes, IoU threshold 0.5. Boxes are
scattered over a 1000 x 1000 image (corners uniform, sides uniform in [10, 100)), scores
uniform in [0, 1) (so no exact ties, and every side keeps the same boxes: checked before
timing). Goal: ours / torchvision <= 1.0. torchvision's CPU kernel is an O(N^2) loop over
the boxes sorted by score, with precomputed areas and suppressed flags; ours is the same
loop (``kernels/nms.py``) over coordinates gathered in score order, SIMD-vectorised.

* ``torchvision``: ``torchvision.ops.nms`` (and ``batched_nms``) when torchvision is
  importable; otherwise the rows say it is not installed and the run goes on.
* ``numpy``: ``kernels/nms_reference.py``, the same algorithm vectorised per kept box.
* ``batched_nms`` on the same boxes in 80 categories: for information.

All candidates run interleaved in one process (``common.timeit_round_robin``), medians
of the repeats. Check ``uptime`` first (load below 1): the machine has 2 cores.
"""
from __future__ import annotations

import os

import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_nms.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs.kernels import nms_reference as ref
from tinygrad_cs.vision import ops

try:
    import torchvision
except ImportError:  # pragma: no cover - optional reference
    torchvision = None

N = 10_000
THRESHOLD = 0.5
CATEGORIES = 80
GOAL = 1.0


def _data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, size=(n, 2))
    wh = rng.uniform(10, 100, size=(n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    return boxes, rng.random(n).astype(np.float32), rng.integers(0, CATEGORIES, size=n)


def _check_agree(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    """Guard against timing a broken path: the kept indices must be identical."""
    if not np.array_equal(ours, theirs):
        raise AssertionError(f"nms benchmark {name}: kept indices differ ({len(ours)} vs "
                             f"{len(theirs)} kept)")


def _per_category(boxes, scores, idxs) -> np.ndarray:
    """batched_nms's result by its definition: nms within each category, merged by score."""
    kept = np.concatenate([np.flatnonzero(idxs == c)[ref.nms(boxes[idxs == c],
                                                             scores[idxs == c], THRESHOLD)]
                           for c in np.unique(idxs)])
    return kept[np.argsort(-scores[kept], kind="stable")]


def candidates(n: int) -> tuple[dict, int]:
    """The timed calls of every side (checked to agree first) and the number kept."""
    boxes, scores, idxs = _data(n)
    b, s, i = tg.tensor(boxes), tg.tensor(scores), tg.tensor(idxs)
    calls = {
        "tg/nms": lambda: ops.nms(b, s, THRESHOLD),
        "numpy/nms": lambda: ref.nms(boxes, scores, THRESHOLD),
        "tg/batched": lambda: ops.batched_nms(b, s, i, THRESHOLD),
    }
    ours = calls["tg/nms"]().numpy()
    _check_agree("numpy", ours, calls["numpy/nms"]())
    _check_agree("batched, per category", calls["tg/batched"]().numpy(),
                 _per_category(boxes, scores, idxs))
    if torchvision is not None and torch is not None:
        tb, ts, ti = torch.from_numpy(boxes), torch.from_numpy(scores), torch.from_numpy(idxs)
        calls["tv/nms"] = lambda: torchvision.ops.nms(tb, ts, THRESHOLD)
        calls["tv/batched"] = lambda: torchvision.ops.batched_nms(tb, ts, ti, THRESHOLD)
        _check_agree("torchvision", ours, calls["tv/nms"]().numpy())
        if boxes.size > 4000:  # torchvision's exact per-category path (below it, the
            # coordinate trick rounds shifted float32 corners and may keep other boxes)
            _check_agree("torchvision batched", calls["tg/batched"]().numpy(),
                         calls["tv/batched"]().numpy())
    else:
        print("(torchvision is not importable: the torchvision rows are n/a)")
    return calls, len(ours)


def run(quick: bool = False) -> list[Row]:
    """Time every side interleaved; return the table rows."""
    n = 500 if quick else N
    calls, kept = candidates(n)
    if quick:
        t = timeit_round_robin(calls, repeats=3, min_sample=0.002, warmup=0.005)
    else:
        t = timeit_round_robin(calls, repeats=11, min_sample=0.1, warmup=0.2)
    case = f"nms, {n:,} boxes float32, IoU > {THRESHOLD} ({kept:,} kept)"
    return [
        Row(case, t["tg/nms"], t.get("tv/nms"), GOAL, "torchvision"),
        Row(case, t["tg/nms"], t["numpy/nms"], None, "numpy"),
        Row(f"batched_nms, {n:,} boxes in {CATEGORIES} categories", t["tg/batched"],
            t.get("tv/batched"), None, "torchvision"),
    ]


def main(quick: bool = False) -> None:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
