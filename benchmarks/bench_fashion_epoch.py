"""Seconds per Fashion-MNIST training epoch: the zoo's ResNet-8 against PyTorch CPU.

The case is the one of ``benchmarks/proof_fashion_mnist.py``: ``resnet8(in_channels=1,
num_classes=10)`` (He et al.'s CIFAR ResNet-8, option-A shortcuts, 75K parameters) on x
(128, 1, 28, 28) float32, one step = ``zero_grad(); CrossEntropyLoss()(model(x), y).backward();
opt.step()`` with ``SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)``; PyTorch runs
a twin with the same parameter names, loaded from our initial ``state_dict``; before timing, 3
steps in float64 must agree to 1e-9 (in float32 the two engines' different summation orders
already differ by ~0.5% in the first layer's gradient). The batches are real training images (synthetic ones of the same shape
when the files are absent: the time does not depend on the values).

Both sides run ``CHUNK`` consecutive steps per timed sample, interleaved (ours, torch, ours, ...);
seconds per epoch = median seconds per step x ceil(60000 / 128) = 469 steps (cycling over 20
real batches: the cost of a step does not depend on which images it sees). A second row times
both sides on one thread each (BLAS, Numba, PyTorch): steadier on a busy machine, where two
engines' thread pools fight the other processes for the cores. ``--full`` instead
times whole epochs (all 469 steps, one of ours then one of PyTorch's, ``--repeats`` times).
Data loading and augmentation are left out: both sides see the same prepared batches.
Measured on the shared 2-core machine at load average ~3: ours 52.9 s, PyTorch 34.1 s (1.55);
one thread each 76.7 s against 62.4 s (1.23). Under heavier load (8-12) PyTorch's default
thread pool collapses (459-2029 s per epoch) while the one-thread ratio stays 1.2-1.4.

    python -m benchmarks.bench_fashion_epoch [--quick | --full] [--repeats N]
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

if __package__:
    from .bench_resnet8 import _one_thread_each
    from .common import Row, markdown_table, timeit_round_robin, torch
else:  # run as a script: python benchmarks/bench_fashion_epoch.py
    from bench_resnet8 import _one_thread_each
    from common import Row, markdown_table, timeit_round_robin, torch

import tinygrad_cs as tg
from tinygrad_cs import optim
from tinygrad_cs.nn import CrossEntropyLoss
from tinygrad_cs.nn.models.resnet import resnet8

BATCH, TRAIN_SIZE, CHUNK = 128, 60000, 10
STEPS_PER_EPOCH = math.ceil(TRAIN_SIZE / BATCH)
SGD_ARGS = {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4}


def _torch_resnet8():
    """PyTorch twin of ``resnet8(in_channels=1, num_classes=10)``: same layers, same names."""
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self, c_in: int, c_out: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.stride, self.extra = stride, c_out - c_in

        def forward(self, x):
            identity = x[:, :, ::self.stride, ::self.stride] if self.stride > 1 else x
            if self.extra:  # option A: zero channels, half before and half after
                identity = F.pad(identity, (0, 0, 0, 0, self.extra // 2,
                                            self.extra - self.extra // 2))
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out)) + identity)

    class ResNet8(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.layer1 = nn.Sequential(Block(16, 16, 1))
            self.layer2 = nn.Sequential(Block(16, 32, 2))
            self.layer3 = nn.Sequential(Block(32, 64, 2))
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    return ResNet8()


def _batches(n: int, seed: int = 0) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """``n`` training batches ((128, 1, 28, 28) float32 standardised, (128,) int64) and where
    they came from."""
    from tinygrad_cs.data.fashion_mnist import load_fashion_mnist

    rng = np.random.default_rng(seed)
    try:
        images, labels, _, _ = load_fashion_mnist()
        source = "Fashion-MNIST"
    except FileNotFoundError:
        images = rng.integers(0, 256, (n * BATCH, 28, 28), dtype=np.uint8)
        labels, source = rng.integers(0, 10, n * BATCH), "synthetic (Fashion-MNIST absent)"
    x = images[:, None].astype(np.float32) / 255
    x = (x - x.mean()) / x.std()
    order = rng.permutation(len(x))[:n * BATCH].reshape(n, BATCH)
    return [(x[i], labels[i].astype(np.int64)) for i in order], source


def _side(lib, state: dict[str, np.ndarray], batches, double: bool = False):
    """(run(k): k steps cycling over ``batches``, params()) for ``tinygrad_cs`` or ``torch``;
    float64 model and inputs with ``double``."""
    dtype = np.float64 if double else np.float32
    if lib is torch:
        model = _torch_resnet8().to(torch.float64 if double else torch.float32)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        opt = torch.optim.SGD(model.parameters(), **SGD_ARGS)
        data = [(torch.from_numpy(x.astype(dtype)), torch.from_numpy(y)) for x, y in batches]
        loss_fn = torch.nn.CrossEntropyLoss()
        params = lambda: [p.detach().numpy().copy() for p in model.parameters()]
    else:
        model = resnet8(in_channels=1, num_classes=10)
        model = model.double() if double else model
        model.load_state_dict({k: v.copy() for k, v in state.items()})
        opt = optim.SGD(model.parameters(), **SGD_ARGS)
        data = [(tg.Tensor(x.astype(dtype)), tg.Tensor(y)) for x, y in batches]
        loss_fn = CrossEntropyLoss()
        params = lambda: [p.numpy().copy() for p in model.parameters()]
    position = [0]

    def run(k: int) -> None:
        for _ in range(k):
            x, y = data[position[0] % len(data)]
            position[0] += 1
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    return run, params


def _check_agreement(state: dict[str, np.ndarray], batches) -> None:
    """3 float64 steps of both engines from ``state`` give the same parameters."""
    state = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in state.items()}
    sides = {"ours": _side(tg, state, batches, True), "torch": _side(torch, state, batches, True)}
    for run, _ in sides.values():
        run(3)
    for a, e in zip(sides["ours"][1](), sides["torch"][1]()):
        if not np.allclose(a, e, rtol=1e-9, atol=1e-9):
            raise AssertionError("Fashion-MNIST epoch benchmark: ResNet-8 parameters after 3 "
                                 f"float64 steps differ from PyTorch's, shape {a.shape}, max "
                                 f"abs error {np.abs(a - e).max():.3g}")


def run(quick: bool = False, full: bool = False, repeats: int = 7) -> list[Row]:
    """Seconds per epoch, ours and PyTorch's (interleaved), after checking 3 steps agree.

    ``full``: whole epochs instead of sampled steps; ``repeats``: timed rounds per side."""
    tg.manual_seed(0)
    state = {k: v.numpy().copy()
             for k, v in resnet8(in_channels=1, num_classes=10).state_dict().items()}
    batches, source = _batches(4 if quick else 2 * CHUNK)  # the steps cycle over them
    sides = {"ours": _side(tg, state, batches)}
    if torch is not None:
        sides["torch"] = _side(torch, state, batches)
        _check_agreement(state, batches)
    label = f"ResNet-8 on {source}, batch {BATCH}, SGD: seconds per epoch ({STEPS_PER_EPOCH} steps"
    if full:
        times: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(repeats):
            for name, (step, _) in sides.items():
                t0 = time.perf_counter()
                step(STEPS_PER_EPOCH)
                times[name].append(time.perf_counter() - t0)
        epoch = {name: float(np.median(t)) for name, t in times.items()}
        label += f", whole epochs, median of {repeats})"
        return [Row(label, epoch["ours"], epoch.get("torch"), None, "PyTorch")]
    chunk = 1 if quick else CHUNK
    candidates = {name: (lambda s=s: s(chunk)) for name, (s, _) in sides.items()}

    def per_epoch() -> dict[str, float]:
        per_chunk = timeit_round_robin(candidates, repeats=3 if quick else repeats, inner=1,
                                       warmup=0.0 if quick else 1.0)
        return {name: t / chunk * STEPS_PER_EPOCH for name, t in per_chunk.items()}

    label += f", from medians of {chunk}-step samples)"
    epoch = per_epoch()
    rows = [Row(label, epoch["ours"], epoch.get("torch"), None, "PyTorch")]
    if not quick and torch is not None:
        with _one_thread_each():
            one = per_epoch()
        rows.append(Row(label.replace("seconds per epoch", "1 thread each, seconds per epoch"),
                        one["ours"], one["torch"], None, "PyTorch"))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_fashion_epoch",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run (seconds)")
    parser.add_argument("--full", action="store_true", help="time whole epochs")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds per side")
    args = parser.parse_args(argv)
    print(markdown_table(run(args.quick, args.full, args.repeats), verdicts=not args.quick))


if __name__ == "__main__":
    main()
