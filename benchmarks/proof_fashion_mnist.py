"""Proof: the zoo's ResNet-8 reaches >= 92% test accuracy on the real Fashion-MNIST.

The recipe, all on the package's public APIs:

* data: ``load_dataset("fashion-mnist")`` — the official 60,000 / 10,000 split of Debian's
  ``dataset-fashion-mnist`` files, x (N, 1, 28, 28) float32 in [0, 1], standardised with the
  training split's mean and std; augmentation ``RandomHorizontalFlip()`` drawn per batch from
  the loader's seed (``--augment crop-flip`` adds ``RandomCrop(28, padding=2)``: over 8 epochs
  it under-fits, 91.27% test accuracy at 91.6% training accuracy);
* model: ``resnet8(in_channels=1, num_classes=10)`` — He et al.'s CIFAR ResNet-8 (conv3x3-16,
  three BasicBlocks of 16/32/64 channels, option-A shortcuts, global average pool, linear),
  75K parameters, unchanged for 28x28 inputs (feature maps 28 -> 14 -> 7);
* training: ``CrossEntropyLoss``, ``SGD(momentum=0.9, nesterov=True, weight_decay=5e-4)``,
  batch 128, ``OneCycleLR(max_lr=0.1)`` stepped per batch over ``--epochs`` epochs (default 8),
  ``fit(...)`` with a checkpoint per epoch in ``--run-dir`` (``--resume`` continues it);
* result: accuracy on the official 10,000 test images (eval mode: BatchNorm's running
  statistics) after the last epoch, seconds per epoch and the total wall time.

    python -m benchmarks.proof_fashion_mnist [--epochs 8] [--run-dir /tmp/proof_fashion_mnist]

Measured (seed 0, 8 epochs, on the shared 2-core machine at load average 4-5): 92.17% test
accuracy (93.7% training accuracy), median 85.4 s per epoch, 684 s in all. The margin over 92%
is small: more epochs (``--epochs 10``) buy more of it.

Exit status 0 when the test accuracy reaches the target (``--target``, default 0.92), 1 when it
does not, 2 when the data are absent. Seconds per epoch against PyTorch for the same model and
batch size: ``python -m benchmarks.bench_fashion_epoch``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import tinygrad_cs as tg
from tinygrad_cs import nn, optim
from tinygrad_cs.data import DataLoader, load_dataset
from tinygrad_cs.data import transforms as T
from tinygrad_cs.nn.models.resnet import resnet8
from tinygrad_cs.train import fit


def _load() -> str:
    """The 1-, 5- and 15-minute load averages: timings depend on what else the machine runs."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


AUGMENTATIONS = ("flip", "crop-flip", "none")


def _augmentation(name: str, black: float) -> T.Compose | None:
    """``flip``: RandomHorizontalFlip; ``crop-flip``: also RandomCrop(28, padding=2) filled
    with ``black``; ``none``."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"proof_fashion_mnist: augment must be one of {AUGMENTATIONS}, "
                         f"got {name!r}")
    steps = {"flip": [T.RandomHorizontalFlip()],
             "crop-flip": [T.RandomCrop(28, padding=2, fill=black), T.RandomHorizontalFlip()],
             "none": []}[name]
    return T.Compose(steps) if steps else None


def run(epochs: int = 8, lr: float = 0.1, batch_size: int = 128, seed: int = 0,
        run_dir: str = "/tmp/proof_fashion_mnist", resume: bool = False,
        progress: bool = True, augment: str = "flip") -> dict:
    """Train the recipe of the module docstring; return the figures as a dict."""
    start, load_start = time.perf_counter(), _load()
    tg.manual_seed(seed)
    splits = load_dataset("fashion-mnist", seed=seed)
    norm = splits.extra["normalize"]
    black = float(-norm.mean[0] / norm.std[0])  # the value a 0 pixel has after Normalize
    train_loader = DataLoader(splits.train, batch_size=batch_size, shuffle=True, seed=seed,
                              transform=_augmentation(augment, black))
    test_loader = DataLoader(splits.test, batch_size=1000)
    model = resnet8(in_channels=1, num_classes=splits.num_classes)
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs,
                                              steps_per_epoch=len(train_loader))
    history = fit(model, train_loader, test_loader, loss_fn=nn.CrossEntropyLoss(),
                  optimizer=optimizer, scheduler=scheduler, scheduler_interval="batch",
                  epochs=epochs, run_dir=run_dir, resume=resume, progress=progress)
    rows = history.rows
    result = {
        "model": "resnet8(in_channels=1, num_classes=10)",
        "parameters": sum(p.numel() for p in model.parameters()),
        "epochs": epochs, "lr": lr, "batch_size": batch_size, "seed": seed, "augment": augment,
        "test_acc": rows[-1]["val_acc"], "test_loss": rows[-1]["val_loss"],
        "train_acc": rows[-1]["train_acc"],
        "seconds_per_epoch": [round(r["seconds"], 1) for r in rows],
        "median_seconds_per_epoch": round(statistics.median(r["seconds"] for r in rows), 1),
        "total_seconds_this_process": round(time.perf_counter() - start, 1),
        "load_average_start": load_start, "load_average_end": _load(),
        "run_dir": run_dir,
    }
    with open(os.path.join(run_dir, "proof.json"), "w") as f:
        json.dump(result, f, indent=2)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.proof_fashion_mnist",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.1, help="OneCycleLR's max_lr")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default="/tmp/proof_fashion_mnist")
    parser.add_argument("--resume", action="store_true", help="continue the run in --run-dir")
    parser.add_argument("--augment", choices=AUGMENTATIONS, default="flip")
    parser.add_argument("--target", type=float, default=0.92)
    args = parser.parse_args(argv)
    try:
        result = run(args.epochs, args.lr, args.batch_size, args.seed, args.run_dir, args.resume,
                     augment=args.augment)
    except FileNotFoundError as e:  # the data set is not installed: say how to get it
        print(e, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    verdict = "reached" if result["test_acc"] >= args.target else "missed"
    print(f"test accuracy {result['test_acc']:.4f} ({verdict} the target {args.target}); "
          f"median {result['median_seconds_per_epoch']} s per epoch; "
          f"load average {result['load_average_start']} -> {result['load_average_end']}")
    return 0 if verdict == "reached" else 1


if __name__ == "__main__":
    sys.exit(main())
