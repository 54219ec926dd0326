"""RoIAlign forward + backward against torchvision (when installed) and the numpy reference.

The case of issue 14: a Faster R-CNN head's pooling, 512 ROIs pooled to 7 x 7 from a
(1, 256, 50, 50) float32 feature map (stride 16 of an 800 x 800 image, sampling_ratio 2),
input gradient included (upstream gradient: a fixed random tensor).

* ``torchvision``: ``torchvision.ops.roi_align`` (its CPU kernel); ``n/a`` when torchvision
  is not importable.
* ``numpy``: ``kernels/roi_reference.py`` (Python loops over samples), on a tiny case only
  (1, 8, 20, 20) with 16 ROIs: the baseline a plain-numpy engine would reach.

All candidates run interleaved in one process (``common.timeit_round_robin``), medians of
the repeats; the results are checked to agree before anything is timed. Goal: ours /
torchvision <= 1.5.
"""
from __future__ import annotations

import os

import numpy as np

if __package__:
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_roi.py
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs.kernels import roi_reference as R
from tinygrad_cs.ops import roi_align

try:
    import torchvision
except ImportError:  # pragma: no cover - optional reference
    torchvision = None

CASE = {"shape": (1, 256, 50, 50), "count": 512, "image": 800}
TINY = {"shape": (1, 8, 20, 20), "count": 16, "image": 320}
POOLED, SAMPLING = 7, 2
GOAL = 1.5  # issue 14: ours / torchvision for the main case


def _data(shape, count: int, image: int):
    """x, rois (K, 5) in image coordinates (boxes 32..400 px wide), upstream gradient."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    size = rng.uniform(32, min(400, image), size=(count, 2))
    start = rng.uniform(0, 1, size=(count, 2)) * (image - size)
    batch = rng.integers(0, shape[0], size=(count, 1))
    rois = np.concatenate([batch, start, start + size], axis=1).astype(np.float32)
    g = rng.standard_normal((count, shape[1], POOLED, POOLED)).astype(np.float32)
    return x, rois, g, shape[2] / image


def _ours(x, rois, g, scale):
    leaf, seed = tg.tensor(x, requires_grad=True), tg.tensor(g)

    def step():
        leaf.grad = None
        roi_align(leaf, rois, POOLED, scale, SAMPLING).backward(seed)
    return step, lambda: leaf.grad.numpy()


def _torchvision(x, rois, g, scale):
    leaf, boxes, seed = torch.tensor(x, requires_grad=True), torch.tensor(rois), torch.tensor(g)

    def step():
        leaf.grad = None
        torchvision.ops.roi_align(leaf, boxes, POOLED, scale, SAMPLING).backward(seed)
    return step, lambda: leaf.grad.numpy()


def _numpy(x, rois, g, scale):
    grads = []

    def step():
        R.roi_align(x, rois, (POOLED, POOLED), scale, SAMPLING)
        grads[:] = [R.roi_align_backward(g, rois, x.shape, scale, SAMPLING)]
    return step, lambda: grads[0]


def _check_agree(name: str, got: np.ndarray, expected: np.ndarray) -> None:
    """Guard against timing a broken path: the input gradients must agree."""
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-4):
        raise AssertionError(f"roi benchmark ({name}): gradients disagree (max difference "
                             f"{np.abs(got - expected).max():.3g})")


def _timed(programs: dict, quick: bool) -> dict:
    candidates = {}
    for name, (step, grad) in programs.items():
        step()
        candidates[name] = step
        if name != "tg":
            _check_agree(name, programs["tg"][1](), grad())
    if quick:
        return timeit_round_robin(candidates, repeats=3, min_sample=0.002, warmup=0.005)
    return timeit_round_robin(candidates, repeats=15, min_sample=0.05, warmup=0.2)


def run(quick: bool = False) -> list[Row]:
    """Time the main case against torchvision and the tiny case against numpy."""
    main = _data(**(TINY if quick else CASE))
    programs = {"tg": _ours(*main)}
    if torch is not None and torchvision is not None:
        programs["torchvision"] = _torchvision(*main)
    else:
        print("(torchvision is not importable: the torchvision row is n/a)")
    t = _timed(programs, quick)
    tiny = _data(**TINY)
    t_tiny = _timed({"tg": _ours(*tiny), "numpy": _numpy(*tiny)}, quick)
    shape = (TINY if quick else CASE)["shape"]
    count = (TINY if quick else CASE)["count"]
    label = (f"roi_align fwd+bwd, {count} rois {POOLED}x{POOLED}, "
             f"({'x'.join(map(str, shape))}) float32")
    tiny_label = (f"roi_align fwd+bwd, {TINY['count']} rois {POOLED}x{POOLED}, "
                  f"({'x'.join(map(str, TINY['shape']))}) float32")
    return [Row(label, t["tg"], t.get("torchvision"), GOAL, "torchvision"),
            Row(tiny_label, t_tiny["tg"], t_tiny["numpy"], None, "numpy reference")]


def main(quick: bool = False) -> None:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(markdown_table(run(quick), verdicts=not quick))


if __name__ == "__main__":
    import sys
    main("--quick" in sys.argv)
