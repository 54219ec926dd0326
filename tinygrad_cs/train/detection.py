"""``fit_detection``: the training loop of every detection model (torchvision's detection
interface), with history, checkpoints, exact resume, curves and held-out mAP.

One step, for a batch ``(images (N, 3, H, W), targets [N dicts])``::

    losses = model(images, targets)       # training mode: {"loss_...": scalar Tensor}
    loss = sum(losses.values())           # stop with TrainingDiverged if not finite
    optimizer.zero_grad(); loss.backward(); clip_grad_norm_ (optional); optimizer.step()

After every ``eval_every`` epochs (and after the last) the model detects the held-out images
(``model.eval(); model(images)``) and ``evaluate_detections`` scores them. Each epoch appends
one ``History`` row::

    epoch         epochs completed, from 1
    loss          mean summed loss over the epoch's images
    loss_...      the mean of each of the model's loss terms, under the model's names
    map_50        held-out COCO AP@.5 (None in epochs without an evaluation)
    map           held-out COCO AP@[.5:.95]
    lr            param group 0's learning rate at the epoch's last step
    seconds       wall time of the epoch (training and evaluation)
    images_per_s  training images per second

``run_dir`` receives ``checkpoint.npz`` (every epoch, ``loop="fit_detection"``),
``history.csv`` / ``.json`` and ``curves.png`` (losses and mAP), as ``fit`` writes them;
``detection_report`` draws the detections and prints the mAP table.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn.utils import clip_grad_norm_

from ..data.detection import evaluate_detections
from .checkpoint import CHECKPOINT, load_checkpoint, restore
from .curves import plot_columns
from .divergence import TrainingDiverged, diverged
from .fit import finish_epoch
from .history import History
from .progress import EpochBar

__all__ = ["LOOP", "evaluate_detector", "fit_detection", "summary_line", "total_loss"]

LOOP = "fit_detection"
_matplotlib_warned = [False]


def total_loss(losses: Any, who: str = "fit_detection") -> Any:
    """The sum of a detection model's loss dict; a ``TypeError`` naming what came instead."""
    if not isinstance(losses, dict) or not losses:
        raise TypeError(f"{who}: in training mode a detection model must return a dict of "
                        f"scalar losses, got {type(losses).__name__}")
    total = None
    for name, value in losses.items():
        if not isinstance(value, tg.Tensor) or value.numel() != 1:
            shape = tuple(value.shape) if isinstance(value, tg.Tensor) else type(value).__name__
            raise TypeError(f"{who}: loss {name!r} must be a scalar Tensor, got {shape}")
        total = value if total is None else total + value
    return total


def evaluate_detector(model: Any, loader: Iterable, *, iou_type: str = "bbox"
                      ) -> tuple[dict[str, Any], list[dict], list[dict]]:
    """``(evaluate_detections(...), predictions, targets)`` of ``model`` on every batch of
    ``loader``, in eval mode and without a graph (the mode is restored afterwards)."""
    was_training = model.training
    model.eval()
    predictions: list[dict] = []
    targets: list[dict] = []
    try:
        with tg.no_grad():
            for images, batch_targets in loader:
                predictions += model(images)
                targets += list(batch_targets)
    finally:
        model.train(was_training)
    if not targets:
        raise ValueError("evaluate_detector: the loader yielded no images")
    return evaluate_detections(predictions, targets, iou_type=iou_type), predictions, targets


def fit_detection(model: Any, train_loader: Iterable, val_loader: Iterable | None = None, *,
                  optimizer: Any, scheduler: Any = None, scheduler_interval: str = "epoch",
                  epochs: int = 10, run_dir: str | os.PathLike | None = None,
                  resume: bool | str | os.PathLike = False, progress: bool = True,
                  eval_every: int = 1, grad_clip: float | None = None,
                  callbacks: Sequence[Any] = ()) -> History:
    """Train a detection ``model`` for ``epochs`` epochs (in total, counting resumed ones).

    Args:
        train_loader, val_loader: yield ``(images, targets)`` batches (see the module
            docstring); without ``val_loader`` there is no mAP.
        scheduler: stepped per epoch, or per batch with ``scheduler_interval="batch"``.
        run_dir, resume, progress, grad_clip, callbacks: as ``fit``'s.
        eval_every: evaluate on ``val_loader`` every this many epochs, and after the last.

    Raises ``TrainingDiverged`` naming the step and the first module with a non-finite
    output when the loss is NaN/Inf; the checkpoint is then the previous epoch's.
    """
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"fit_detection: scheduler_interval must be 'epoch' or 'batch', got "
                         f"{scheduler_interval!r}")
    if eval_every < 1:
        raise ValueError(f"fit_detection: eval_every must be >= 1, got {eval_every}")
    if resume and not isinstance(resume, bool) and run_dir is None:
        run_dir = os.path.dirname(os.path.abspath(resume))
    if resume is True and run_dir is None:
        raise ValueError("fit_detection: resume=True needs run_dir (or the checkpoint's path)")
    loaders = {"train": train_loader, "val": val_loader}
    history, start, step = History(columns=None), 0, 0
    if resume:
        path = os.path.join(run_dir, CHECKPOINT) if resume is True else resume
        ckpt = load_checkpoint(path, loop=LOOP)
        restore(ckpt, model=model, optimizer=optimizer, scheduler=scheduler, loaders=loaders,
                path=path)
        history = History(ckpt["history"], columns=None)
        start, step = ckpt["epoch"], ckpt["global_step"]
    if run_dir is not None:
        os.makedirs(run_dir, exist_ok=True)
    batch_scheduler = scheduler if scheduler_interval == "batch" else None
    try:
        for epoch in range(start + 1, epochs + 1):
            means, lr, speed, started, step = _train_epoch(
                model, train_loader, optimizer, batch_scheduler, grad_clip, progress, epoch,
                epochs, step)
            row = {"epoch": epoch, **means, "map_50": None, "map": None, "lr": lr,
                   "seconds": None, "images_per_s": speed, "_start": started}
            if val_loader is not None and (epoch % eval_every == 0 or epoch == epochs):
                metrics = evaluate_detector(model, val_loader)[0]
                row["map_50"], row["map"] = metrics["map_50"], metrics["map"]
            if scheduler is not None and scheduler_interval == "epoch":
                scheduler.step()
            checkpoint = {"model": model, "optimizer": optimizer, "scheduler": scheduler,
                          "loaders": loaders, "epoch": epoch, "global_step": step, "loop": LOOP}
            if finish_epoch(history, row, callbacks, run_dir=run_dir, checkpoint=checkpoint,
                            summary=summary_line if progress else None, epochs=epochs):
                break
    finally:
        if run_dir is not None:
            _write_outputs(history, run_dir)
    return history


class _WithTargets(nn.Module):
    """``forward(images) = model(images, targets)``: how ``diverged`` re-runs a failing
    batch of a detection model (its module paths start with ``model.``)."""

    def __init__(self, model: Any, targets: list) -> None:
        super().__init__()
        self.model, self.targets = model, targets

    def forward(self, images: Any) -> Any:
        return self.model(images, self.targets)


def _train_epoch(model: Any, loader: Iterable, optimizer: Any, batch_scheduler: Any,
                 grad_clip: float | None, progress: bool, epoch: int, epochs: int,
                 step: int) -> tuple[dict, float, float, float, int]:
    """One pass over ``loader``: (mean losses, last lr, images/s, start time, global step)."""
    model.train()
    start = time.perf_counter()
    sums: dict[str, float] = {}
    seen = 0
    lr = optimizer.param_groups[0]["lr"]
    batches = len(loader) if hasattr(loader, "__len__") else None
    bar = EpochBar(loader, epoch=epoch, epochs=epochs, enabled=progress)
    try:
        for i, (images, targets) in enumerate(bar):
            losses = model(images, targets)
            loss = total_loss(losses)
            value = float(loss.item())
            if not math.isfinite(value):
                error = diverged(_WithTargets(model, targets), images, value, epoch=epoch,
                                 batch=i + 1, batches=batches, global_step=step)
                raise TrainingDiverged(f"fit_detection: {error}", epoch=error.epoch,
                                       batch=error.batch, global_step=error.global_step,
                                       loss=value, module=error.module)
            optimizer.zero_grad()
            loss.backward()
            if grad_clip is not None:
                clip_grad_norm_(model.parameters(), grad_clip)
            lr = optimizer.param_groups[0]["lr"]
            optimizer.step()
            if batch_scheduler is not None:
                batch_scheduler.step()
            step += 1
            n = len(targets)
            seen += n
            sums["loss"] = sums.get("loss", 0.0) + value * n
            for name, term in losses.items():
                sums[name] = sums.get(name, 0.0) + float(term.item()) * n
            bar.update(loss=sums["loss"] / seen, acc=None, lr=lr,
                       images_per_s=seen / max(time.perf_counter() - start, 1e-9))
    finally:
        bar.close()
    if seen == 0:
        raise ValueError(f"fit_detection: the training loader yielded no batches in epoch "
                         f"{epoch}")
    speed = seen / max(time.perf_counter() - start, 1e-9)
    return {k: v / seen for k, v in sums.items()}, lr, speed, start, step


def summary_line(row: dict[str, Any], epochs: int) -> str:
    """``epoch 3/20  loss 4.1203 (coord 1.20 obj 0.40 ...)  mAP@.5 0.612 mAP 0.301  ...``"""
    terms = " ".join(f"{k.removeprefix('loss_')} {v:.3f}" for k, v in row.items()
                     if k.startswith("loss_") and v is not None)
    held_out = ("" if row.get("map_50") is None else
                f"  held-out mAP@.5 {row['map_50']:.3f} mAP@[.5:.95] {row['map']:.3f}")
    return (f"epoch {row['epoch']}/{epochs}  loss {row['loss']:.4f} ({terms}){held_out}  "
            f"lr {row['lr']:.3g}  {row['seconds']:.1f}s  {row['images_per_s']:.0f} img/s")


def _write_outputs(history: History, run_dir: str | os.PathLike) -> None:
    """history.csv / .json; curves.png (losses, mAP) unless matplotlib is missing (warn once)."""
    if history.columns is None:
        return
    history.save(run_dir)
    terms = {k: k.removeprefix("loss_") for k in history.columns if k.startswith("loss_")}
    panels = [("loss (sum)", {"loss": "total"}), ("loss terms", terms),
              ("held-out mAP", {"map_50": "AP@.5", "map": "AP@[.5:.95]"})]
    try:
        plot_columns(history, os.path.join(run_dir, "curves.png"), panels)
    except ImportError as e:
        if not _matplotlib_warned[0]:
            _matplotlib_warned[0] = True
            warnings.warn(f"fit_detection: curves.png not written: {e}", RuntimeWarning,
                          stacklevel=3)
