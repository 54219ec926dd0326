"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates"; fastai's lr_find).

Train for ``num_iter`` mini-batches while the learning rate grows exponentially::

    lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1)),   i = 0 .. num_iter-1

and record the loss of each batch, smoothed exponentially (as torch-lr-finder)::

    s_0 = l_0,   s_i = smooth_f * l_i + (1 - smooth_f) * s_{i-1}

The sweep stops early once ``s_i > diverge_th * min_j s_j`` (or a loss is NaN/Inf). Too
small a rate barely moves the loss; too large a rate makes it explode; in between the loss
falls fastest. The **suggestion** is the rate at the steepest descent of the smoothed curve,
``argmin d s / d log10(lr)`` (central differences), searched from point ``skip_start`` up to
the lowest smoothed loss (and never in the last ``skip_end`` points): the start is dominated
by the smoothing's warm-up, and after the minimum the loss is blowing up, not descending. ``lr_min`` is fastai's other rule of thumb:
the rate of the lowest smoothed loss, divided by 10.

The smoothing lags: a change in the loss shows in ``s`` about ``1 / smooth_f`` iterations
later, i.e. ``log10(end_lr / start_lr) / (num_iter * smooth_f)`` decades (1.6 with the defaults),
so the suggestion sits at the high end of the good range. That is the usual reading of the
plot (and the value torch-lr-finder and fastai report); the raw batch losses are kept
(``raw_losses``, drawn in grey) for a second look.

The model, the optimizer, the loader's state (if it has ``state_dict``) and the global RNG
are restored afterwards: the sweep is a measurement, not training.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_cs as tg

from .curves import pyplot
from .steps import batch_loss, split_batch

__all__ = ["LRFinderResult", "lr_find"]


@dataclass
class LRFinderResult:
    """The sweep: learning rates tried, smoothed losses, and the suggested learning rate.

    ``raw_losses`` are the unsmoothed batch losses; ``lr_min`` = (lr of the lowest smoothed
    loss) / 10; ``diverged_at`` is the lr at which the sweep stopped early (``None`` if it ran
    to ``end_lr``). ``suggestion`` is ``None`` when too few points were recorded.
    """
    lrs: list[float]
    losses: list[float]
    suggestion: float | None
    raw_losses: list[float] = field(default_factory=list)
    lr_min: float | None = None
    diverged_at: float | None = None

    def plot(self, path: str | os.PathLike,
             title: str = "learning-rate range test") -> str | os.PathLike:
        """Write the smoothed loss against lr (log x axis) with the suggestion marked, as PNG;
        returns ``path``."""
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 4))
        try:
            ax.plot(self.lrs, self.raw_losses, color="0.75", linewidth=0.8, label="batch loss")
            ax.plot(self.lrs, self.losses, label="smoothed loss")
            if self.suggestion is not None:
                ax.axvline(self.suggestion, color="C3", linestyle="--",
                           label=f"suggestion {self.suggestion:.2g}")
            if self.lr_min is not None:
                ax.axvline(self.lr_min, color="C2", linestyle=":",
                           label=f"min-loss lr / 10 = {self.lr_min:.2g}")
            ax.set_xscale("log")
            ax.set_xlabel("learning rate")
            ax.set_ylabel("loss")
            finite = [v for v in self.losses if math.isfinite(v)]
            if finite:  # keep the interesting part visible when the last points explode
                ax.set_ylim(min(finite) * 0.9, min(max(finite), 4 * finite[0]) * 1.05)
            ax.set_title(title)
            ax.grid(alpha=0.3, which="both")
            ax.legend()
            fig.tight_layout()
            fig.savefig(path, dpi=100)
        finally:
            plt.close(fig)
        return path


def _suggest(lrs: list[float], losses: list[float], skip_start: int,
             skip_end: int) -> float | None:
    """lr at the steepest negative slope of ``losses`` against log10(lr)."""
    if len(lrs) < skip_start + skip_end + 3:
        skip_start, skip_end = 0, 0  # a short sweep: use every point rather than none
    # only the descent counts: stop at the lowest loss, so that noise in the blow-up after it
    # (a smoothed loss can fall again there) is never taken for the steepest descent
    end = min(len(lrs) - skip_end, int(np.argmin(losses)) + 1)
    if end - skip_start < 3:
        end = len(lrs) - skip_end
    x, y = np.log10(lrs[skip_start:end]), np.asarray(losses[skip_start:end])
    if len(x) < 3:
        return None
    return float(10 ** x[int(np.argmin(np.gradient(y, x)))])


def lr_find(model: Any, train_loader: Iterable, loss_fn: Callable, optimizer: Any, *,
            start_lr: float = 1e-7, end_lr: float = 10.0, num_iter: int = 100,
            smooth_f: float = 0.05, diverge_th: float = 5.0, skip_start: int = 10,
            skip_end: int = 5) -> LRFinderResult:
    """Run the range test (see the module docstring); batches cycle through ``train_loader``.

    Every parameter group of ``optimizer`` gets the swept lr. Model, optimizer, loader state
    and RNG are put back afterwards.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if num_iter < 2:
        raise ValueError(f"lr_find: num_iter must be >= 2, got {num_iter}")
    saved_model = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    saved_opt, saved_rng, training = optimizer.state_dict(), tg.get_rng_state(), model.training
    get_loader_state = getattr(train_loader, "state_dict", None)
    saved_loader = get_loader_state() if callable(get_loader_state) else None
    lrs, raw, smooth, diverged_at = [], [], [], None
    ratio = end_lr / start_lr
    try:
        model.train()
        batches = iter(train_loader)
        for i in range(num_iter):
            lr = start_lr * ratio ** (i / (num_iter - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            try:
                batch = next(batches)
            except StopIteration:  # more iterations than batches: start another epoch
                batches = iter(train_loader)
                batch = next(batches)
            x, y = split_batch(batch)
            optimizer.zero_grad()
            loss = batch_loss(loss_fn, model(x), y)
            value = float(loss.item())
            if not math.isfinite(value):
                diverged_at = lr
                break
            loss.backward()
            optimizer.step()
            s = value if not smooth else smooth_f * value + (1 - smooth_f) * smooth[-1]
            lrs.append(lr)
            raw.append(value)
            smooth.append(s)
            if s > diverge_th * min(smooth):
                diverged_at = lr
                break
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        optimizer.zero_grad()
        model.train(training)
        tg.set_rng_state(saved_rng)
        if saved_loader is not None:
            train_loader.load_state_dict(saved_loader)
    lr_min = lrs[int(np.argmin(smooth))] / 10 if smooth else None
    return LRFinderResult(lrs, smooth, _suggest(lrs, smooth, skip_start, skip_end), raw,
                          lr_min, diverged_at)
