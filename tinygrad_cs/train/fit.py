"""``fit``: the training loop, with history, checkpoints, exact resume and a NaN/Inf stop.

One epoch is::

    model.train()
    for x, y in train_loader:            # (N, ...) inputs, (N,) or (N, T) targets
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)       # stop with TrainingDiverged if not finite
        loss.backward()
        clip_grad_norm_(params, grad_clip)          # optional
        optimizer.step()
        scheduler.step()                  # only with scheduler_interval="batch" (OneCycleLR)
    model.eval(); with no_grad: validation loss and accuracy
    scheduler.step()                      # per epoch; ReduceLROnPlateau.step(val_loss)
    checkpoint -> run_dir/checkpoint.npz; history row; callbacks

A loader is anything iterable that yields ``(x, y)`` batches (``DataLoader``, or a list).
If it has ``state_dict()`` / ``load_state_dict()`` (``DataLoader`` does: its shuffle seed
and epoch counter) they go into the checkpoint, so a resumed run visits the batches in the
same order as an uninterrupted one; with the RNG state (dropout) the resumed run then
reproduces the uninterrupted one bit for bit.

``compile=True`` runs the per-batch step (zero_grad, forward, loss, backward, clip,
optimizer step) as one ``tg.compile``d function (``_Loop.step``): traced on the first
batches, replayed after, with the same results as eager. The loss is read from the tensor
it returns, after the step, so reading it is no graph break; a non-finite loss is
therefore caught after that batch's update (eager catches it before), and the run stops
with ``TrainingDiverged`` all the same, its last checkpoint untouched.
"""
from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tinygrad_cs import no_grad
from tinygrad_cs.compile import compile as tg_compile
from tinygrad_cs.nn.utils import clip_grad_norm_
from tinygrad_cs.optim.lr_scheduler import ReduceLROnPlateau

from .checkpoint import CHECKPOINT, load_checkpoint, restore, save_checkpoint
from .curves import plot_curves
from .divergence import diverged
from .history import History
from .progress import EpochBar, summary_line
from .steps import batch_loss, correct, split_batch

__all__ = ["fit"]

_matplotlib_warned = [False]


def fit(model: Any, train_loader: Iterable, val_loader: Iterable | None = None, *,
        loss_fn: Callable, optimizer: Any, scheduler: Any = None, epochs: int = 10,
        run_dir: str | os.PathLike | None = None, resume: bool | str | os.PathLike = False,
        progress: bool = True, scheduler_interval: str = "epoch",
        grad_clip: float | None = None, callbacks: Sequence[Any] = (),
        compile: bool = False) -> History:
    """Train ``model`` for ``epochs`` epochs (in total, counting resumed ones); return the
    ``History``.

    Args:
        loss_fn: ``loss_fn(outputs, targets) -> scalar Tensor`` (e.g. ``nn.CrossEntropyLoss()``);
            outputs ``(N, T, V)`` with targets ``(N, T)`` are flattened first.
        scheduler: stepped once per epoch, or per batch with ``scheduler_interval="batch"``;
            a ``ReduceLROnPlateau`` is stepped with the validation loss (the training loss
            when there is no ``val_loader``).
        run_dir: where ``checkpoint.npz`` (each epoch), ``history.csv`` / ``history.json``
            and ``curves.png`` (end of every run, also after a divergence) are written.
        resume: ``True`` continues from ``run_dir/checkpoint.npz``; a path continues from
            that file (``run_dir`` defaults to its folder). Restores model, optimizer,
            scheduler, loader states, RNG state and history, then runs the remaining epochs.
        progress: tqdm bars on stderr (when it is a terminal) and a summary line per epoch.
        grad_clip: if given, ``clip_grad_norm_(model.parameters(), grad_clip)`` every step.
        callbacks: objects with ``on_epoch_end(row)``, or plain callables ``f(row)``, called
            after each epoch's checkpoint; returning ``True`` stops training.
        compile: run each training step as a ``tg.compile``d program (module docstring).

    Raises ``TrainingDiverged`` (a ``FloatingPointError``) on a NaN/Inf loss; the last
    checkpoint is then the previous epoch's, untouched.
    """
    if scheduler_interval not in ("epoch", "batch"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'batch', got "
                         f"{scheduler_interval!r}")
    if isinstance(scheduler, ReduceLROnPlateau) and scheduler_interval == "batch":
        raise ValueError("fit: ReduceLROnPlateau monitors an epoch's loss; use "
                         "scheduler_interval='epoch'")
    if resume and not isinstance(resume, bool) and run_dir is None:
        run_dir = os.path.dirname(os.path.abspath(resume))
    if resume is True and run_dir is None:
        raise ValueError("fit: resume=True needs run_dir (or pass the checkpoint's path)")
    loaders = {"train": train_loader, "val": val_loader}
    history, start, step = History(), 0, 0
    if resume:
        path = os.path.join(run_dir, CHECKPOINT) if resume is True else resume
        ckpt = load_checkpoint(path)
        restore(ckpt, model=model, optimizer=optimizer, scheduler=scheduler, loaders=loaders,
                path=path)
        history, start, step = History(ckpt["history"]), ckpt["epoch"], ckpt["global_step"]
    if run_dir is not None:
        os.makedirs(run_dir, exist_ok=True)
    loop = _Loop(model, loss_fn, optimizer, scheduler if scheduler_interval == "batch" else None,
                 grad_clip, progress, epochs, compile)
    try:
        for epoch in range(start + 1, epochs + 1):
            row, step = loop.train_epoch(train_loader, epoch, step)
            if val_loader is not None:
                row["val_loss"], row["val_acc"] = evaluate(model, val_loader, loss_fn)
            if scheduler is not None and scheduler_interval == "epoch":
                if isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step(row["train_loss"] if row["val_loss"] is None
                                   else row["val_loss"])
                else:
                    scheduler.step()
            checkpoint = {"model": model, "optimizer": optimizer, "scheduler": scheduler,
                          "loaders": loaders, "epoch": epoch, "global_step": step}
            if finish_epoch(history, row, callbacks, run_dir=run_dir, checkpoint=checkpoint,
                            summary=summary_line if progress else None, epochs=epochs):
                break
    finally:
        if run_dir is not None:
            _write_outputs(history, run_dir)
    return history


class _Loop:
    """The per-batch work of ``fit`` (kept apart so ``fit`` reads as the epoch loop)."""

    def __init__(self, model: Any, loss_fn: Callable, optimizer: Any, batch_scheduler: Any,
                 grad_clip: float | None, progress: bool, epochs: int,
                 compiled: bool = False) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.batch_scheduler, self.grad_clip = batch_scheduler, grad_clip
        self.progress, self.epochs = progress, epochs
        self.compiled = tg_compile(self.step) if compiled else None

    def step(self, x: Any, y: Any) -> tuple:
        """One optimisation step on a batch: (loss, detached outputs)."""
        self.optimizer.zero_grad()
        out = self.model(x)
        loss = batch_loss(self.loss_fn, out, y)
        loss.backward()
        if self.grad_clip is not None:
            clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        return loss.detach(), out.detach()

    def train_epoch(self, loader: Iterable, epoch: int, step: int) -> tuple[dict, int]:
        """One pass over ``loader``; returns the partial history row and the new global step."""
        model, optimizer = self.model, self.optimizer
        model.train()
        start = time.perf_counter()
        total_loss, seen, hits, counted = 0.0, 0, 0, 0
        lr = optimizer.param_groups[0]["lr"]
        batches = len(loader) if hasattr(loader, "__len__") else None
        bar = EpochBar(loader, epoch=epoch, epochs=self.epochs, enabled=self.progress)
        try:
            for i, batch in enumerate(bar):
                x, y = split_batch(batch)
                lr = optimizer.param_groups[0]["lr"]
                if self.compiled is not None:
                    loss, out = self.compiled(x, y)
                    value = float(loss.item())
                else:
                    optimizer.zero_grad()
                    out = model(x)
                    loss = batch_loss(self.loss_fn, out, y)
                    value = float(loss.item())
                if not math.isfinite(value):
                    raise diverged(model, x, value, epoch=epoch, batch=i + 1, batches=batches,
                                   global_step=step)
                if self.compiled is None:
                    loss.backward()
                    if self.grad_clip is not None:
                        clip_grad_norm_(model.parameters(), self.grad_clip)
                    optimizer.step()
                if self.batch_scheduler is not None:
                    self.batch_scheduler.step()
                step += 1
                n = x.shape[0]
                total_loss, seen = total_loss + value * n, seen + n
                right = correct(out, y)
                if right is not None:
                    hits, counted = hits + right[0], counted + right[1]
                bar.update(loss=total_loss / seen, acc=hits / counted if counted else None,
                           lr=lr, images_per_s=seen / max(time.perf_counter() - start, 1e-9))
        finally:
            bar.close()
        if seen == 0:
            raise ValueError(f"fit: the training loader yielded no batches in epoch {epoch}")
        elapsed = max(time.perf_counter() - start, 1e-9)
        row = {"epoch": epoch, "train_loss": total_loss / seen,
               "train_acc": hits / counted if counted else None, "val_loss": None,
               "val_acc": None, "lr": lr, "images_per_s": seen / elapsed, "_start": start}
        return row, step


def evaluate(model: Any, loader: Iterable, loss_fn: Callable) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) of ``model`` over ``loader``, in eval mode, without grad.

    The model's training/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    total, seen, hits, counted = 0.0, 0, 0, 0
    try:
        with no_grad():
            for batch in loader:
                x, y = split_batch(batch)
                out = model(x)
                n = x.shape[0]
                total, seen = total + float(batch_loss(loss_fn, out, y).item()) * n, seen + n
                right = correct(out, y)
                if right is not None:
                    hits, counted = hits + right[0], counted + right[1]
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return total / seen, (hits / counted if counted else None)


def finish_epoch(history: History, row: dict, callbacks: Sequence[Any], *,
                 run_dir: str | os.PathLike | None, checkpoint: dict[str, Any],
                 summary: Callable[[dict, int], str] | None, epochs: int) -> bool:
    """The end of an epoch, for ``fit`` and ``fit_gan``: time and record ``row``, write the
    checkpoint (``save_checkpoint(**checkpoint)`` plus the history) when there is a
    ``run_dir``, print ``summary(row, epochs)``, and return whether a callback asks to stop."""
    row["seconds"] = time.perf_counter() - row.pop("_start")
    history.append(row)
    if run_dir is not None:
        save_checkpoint(os.path.join(run_dir, CHECKPOINT), history=history.rows, **checkpoint)
    if summary is not None:
        print(summary(history.last, epochs), file=sys.stdout, flush=True)
    return _callbacks_stop(callbacks, history.last)


def _callbacks_stop(callbacks: Sequence[Any], row: dict) -> bool:
    stop = False
    for cb in callbacks:
        hook = getattr(cb, "on_epoch_end", None)
        if hook is None and callable(cb):
            hook = cb
        if hook is not None and hook(row) is True:
            stop = True
    return stop


def _write_outputs(history: History, run_dir: str | os.PathLike) -> None:
    """history.csv / history.json, and curves.png unless matplotlib is missing (warn once)."""
    history.save(run_dir)
    try:
        plot_curves(history, os.path.join(run_dir, "curves.png"))
    except ImportError as e:
        if not _matplotlib_warned[0]:
            _matplotlib_warned[0] = True
            warnings.warn(f"fit: curves.png not written: {e}", RuntimeWarning, stacklevel=3)
