"""``fit_gan``: the DCGAN training loop (PyTorch's DCGAN example), with history, checkpoints,
exact resume, curves, a grid of samples and a NaN/Inf stop.

One step, for a batch of real images x (N, C, H, W) in [-1, 1] (the generator's Tanh range)
and noise z ~ N(0, I) (N, nz) drawn from tinygrad_cs' global generator::

    fake   = G(z)
    d_loss = BCEWithLogits(D(x), 1) + BCEWithLogits(D(fake.detach()), 0)    # D step
    g_loss = BCEWithLogits(D(fake), 1)              # G step, flipped labels: -log D(G(z))

each followed by ``zero_grad``, ``backward`` and ``step`` of its own Adam optimizer, D first,
so G's loss is taken with the discriminator just updated (as the example does). D never sees a
batch mixing real and fake images, so its BatchNorm statistics are per kind, as there too.

Each epoch appends one ``History`` row::

    epoch         epochs completed, from 1
    d_loss        mean discriminator loss over the epoch's real images (sum of both BCE terms)
    g_loss        mean generator loss
    d_real        mean D(x) = sigmoid(logit) on real images: the probability "real" D gives them
    d_fake        mean D(G(z)) on the fakes of the D step (before D's update, as D_G_z1 in
                  the example); at the equilibrium both are 1/2
    lr            the generator's learning rate at the epoch's last step
    seconds       wall time of the epoch (training and judging)
    images_per_s  real images per second
    ...           the ``judge``'s metrics, when one is given

The fixed noise (the example's ``fixed_noise``) comes from a private generator seeded with
``seed``: the same images are judged every epoch and drawn in ``samples.png``, and drawing
them leaves the global generator (and so training) untouched. They are generated in eval mode
(BatchNorm running statistics), then the networks go back to training mode.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Number
from typing import Any

import numpy as np

import tinygrad_cs as tg
from tinygrad_cs import Tensor, nn, optim
from tinygrad_cs.vision.utils import tile_images

from .checkpoint import CHECKPOINT, load_checkpoint, restore
from .curves import plot_columns, pyplot
from .divergence import TrainingDiverged, diverged
from .fit import finish_epoch
from .history import History
from .progress import EpochBar
from .steps import as_tensor

__all__ = ["GAN_COLUMNS", "fit_gan", "save_image"]

GAN_COLUMNS = ("epoch", "d_loss", "g_loss", "d_real", "d_fake", "lr", "seconds",
               "images_per_s")
SAMPLES = "samples.png"
_matplotlib_warned = [False]


def fit_gan(gan: Any, loader: Iterable, *, epochs: int, lr: float = 2e-4,
            lr_d: float | None = None, betas: tuple[float, float] = (0.5, 0.999),
            weight_decay: float = 0.0, cosine: bool = False,
            run_dir: str | os.PathLike | None = None, resume: bool | str | os.PathLike = False,
            progress: bool = True, judge: Callable[[np.ndarray], Mapping[str, Any]] | None = None,
            judge_samples: int = 500, num_samples: int = 64, seed: int = 0,
            callbacks: Sequence[Any] = ()) -> History:
    """Train ``gan`` (``.generator``, ``.discriminator``, e.g. ``nn.models.DCGAN``) on the real
    images of ``loader`` for ``epochs`` epochs (in total, counting resumed ones).

    Args:
        loader: yields batches of real images (N, C, H, W) in [-1, 1], alone or as the first
            field of a tuple (labels are ignored). Use ``drop_last=True`` to skip a short
            last batch as the example does.
        lr, lr_d, betas, weight_decay: ``Adam(lr, betas, weight_decay)`` for the generator;
            the discriminator's is the same with ``lr_d`` (default ``lr``). PyTorch's DCGAN
            example: lr 2e-4, betas (0.5, 0.999).
        cosine: anneal both learning rates to 0 over ``epochs`` (``CosineAnnealingLR``,
            stepped per epoch).
        run_dir: where ``checkpoint.npz`` (each epoch: both networks, both optimizers and
            schedules, the loader, the RNG, the history), ``history.csv`` / ``.json``,
            ``curves.png`` (D/G losses, D's outputs, judge metrics) and ``samples.png``
            (``num_samples`` generated images) are written; the last three at the end of
            every run, also after a divergence.
        resume: ``True`` continues from ``run_dir/checkpoint.npz``, a path from that file;
            a resumed run reproduces the uninterrupted one bit for bit.
        judge: ``judge(images) -> {name: number}``, called after each epoch with
            ``judge_samples`` images (N, C, H, W) generated from the fixed noise; its
            metrics become history columns (e.g. confident fraction, Inception Score).
        seed: seed of the fixed noise (see the module docstring).
        callbacks: as ``fit``'s: ``on_epoch_end(row)`` or ``f(row)``; ``True`` stops.

    Raises ``TrainingDiverged`` naming the loss, step and first module with a non-finite output
    when a loss is NaN/Inf; the checkpoint is then the previous epoch's, untouched.
    """
    for attr in ("generator", "discriminator"):
        if not hasattr(gan, attr):
            raise TypeError(f"fit_gan: {type(gan).__name__} has no .{attr} (pass a DCGAN-like "
                            f"Module holding both networks)")
    if resume and not isinstance(resume, bool) and run_dir is None:
        run_dir = os.path.dirname(os.path.abspath(resume))
    if resume is True and run_dir is None:
        raise ValueError("fit_gan: resume=True needs run_dir (or pass the checkpoint's path)")
    g, d = gan.generator, gan.discriminator
    opts = {"generator": optim.Adam(g.parameters(), lr=lr, betas=betas,
                                    weight_decay=weight_decay),
            "discriminator": optim.Adam(d.parameters(), lr=lr if lr_d is None else lr_d,
                                        betas=betas, weight_decay=weight_decay)}
    scheds = ({name: optim.lr_scheduler.CosineAnnealingLR(o, T_max=epochs)
               for name, o in opts.items()} if cosine else None)
    loaders = {"train": loader}
    history, start, step = History(columns=None), 0, 0
    if resume:
        path = os.path.join(run_dir, CHECKPOINT) if resume is True else resume
        ckpt = load_checkpoint(path, loop="fit_gan")
        restore(ckpt, model=gan, optimizer=opts, scheduler=scheds, loaders=loaders, path=path)
        history = History(ckpt["history"], columns=None)
        start, step = ckpt["epoch"], ckpt["global_step"]
    if run_dir is not None:
        os.makedirs(run_dir, exist_ok=True)
    fixed = g.noise(max(judge_samples if judge else 0, num_samples), seed=seed)
    loop = _GanLoop(gan, opts, progress, epochs)
    try:
        for epoch in range(start + 1, epochs + 1):
            row, step = loop.train_epoch(loader, epoch, step)
            if judge is not None:
                row.update(_judged(judge, _generate(g, fixed[:judge_samples])))
            for scheduler in (scheds or {}).values():
                scheduler.step()
            checkpoint = {"model": gan, "optimizer": opts, "scheduler": scheds,
                          "loaders": loaders, "epoch": epoch, "global_step": step,
                          "loop": "fit_gan"}
            if finish_epoch(history, row, callbacks, run_dir=run_dir, checkpoint=checkpoint,
                            summary=summary_line if progress else None, epochs=epochs):
                break
    finally:
        if run_dir is not None:
            _write_outputs(history, run_dir, _generate(g, fixed[:num_samples]))
    return history


class _GanLoop:
    """The per-batch work of ``fit_gan`` (kept apart so ``fit_gan`` reads as the epoch loop)."""

    def __init__(self, gan: Any, opts: dict[str, Any], progress: bool, epochs: int) -> None:
        self.gan, self.opt_g, self.opt_d = gan, opts["generator"], opts["discriminator"]
        self.progress, self.epochs = progress, epochs
        self.bce = nn.BCEWithLogitsLoss()
        self.dtype = next(iter(gan.discriminator.parameters())).dtype
        self._targets: dict[tuple[int, float], Tensor] = {}

    def target(self, n: int, value: float) -> Tensor:
        """(n,) labels, all ``value``, in the parameters' dtype (cached: one per batch size)."""
        key = (n, value)
        if key not in self._targets:
            self._targets[key] = tg.tensor(np.full(n, value, dtype=self.dtype))
        return self._targets[key]

    def train_epoch(self, loader: Iterable, epoch: int, step: int) -> tuple[dict, int]:
        """One pass over ``loader``; returns the partial history row and the new global step."""
        gan, g, d = self.gan, self.gan.generator, self.gan.discriminator
        gan.train()
        start = time.perf_counter()
        sums = {"d_loss": 0.0, "g_loss": 0.0, "d_real": 0.0, "d_fake": 0.0}
        seen = 0
        batches = len(loader) if hasattr(loader, "__len__") else None
        bar = EpochBar(loader, epoch=epoch, epochs=self.epochs, enabled=self.progress)
        try:
            for i, batch in enumerate(bar):
                x = as_tensor(batch[0] if isinstance(batch, (tuple, list)) else batch)
                if x.dtype != self.dtype:
                    x = tg.tensor(x.numpy().astype(self.dtype))
                n = x.shape[0]
                where = {"epoch": epoch, "batch": i + 1, "batches": batches, "global_step": step}
                z = g.noise(n)
                fake = g(z)
                real_logits, fake_logits = d(x), d(fake.detach())
                d_loss = (self.bce(real_logits, self.target(n, 1.0))
                          + self.bce(fake_logits, self.target(n, 0.0)))
                d_value = _finite_or_raise(d_loss, "discriminator", gan, z, where)
                self.opt_d.zero_grad()
                d_loss.backward()
                self.opt_d.step()
                g_loss = self.bce(d(fake), self.target(n, 1.0))
                g_value = _finite_or_raise(g_loss, "generator", gan, z, where)
                self.opt_g.zero_grad()
                g_loss.backward()
                self.opt_g.step()
                step += 1
                seen += n
                sums["d_loss"] += d_value * n
                sums["g_loss"] += g_value * n
                sums["d_real"] += float(_sigmoid(real_logits).sum())
                sums["d_fake"] += float(_sigmoid(fake_logits).sum())
                if not bar.bar.disable:
                    bar.bar.set_postfix({k: f"{v / seen:.3f}" for k, v in sums.items()}
                                        | {"img/s": f"{seen / _since(start):.0f}"},
                                        refresh=False)
        finally:
            bar.close()
        if seen == 0:
            raise ValueError(f"fit_gan: the loader yielded no batches in epoch {epoch}")
        row = {"epoch": epoch, **{k: v / seen for k, v in sums.items()},
               "lr": self.opt_g.param_groups[0]["lr"], "seconds": None,
               "images_per_s": seen / _since(start), "_start": start}
        return row, step


def _since(start: float) -> float:
    return max(time.perf_counter() - start, 1e-9)


def _sigmoid(logits: Tensor) -> np.ndarray:
    x = logits.numpy().astype(np.float64)
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + exp(-x)), without overflow


def _finite_or_raise(loss: Tensor, network: str, gan: Any, z: Tensor, where: dict) -> float:
    """``loss.item()``, or raise ``TrainingDiverged`` naming ``network``'s loss and the first
    module (of G then D, run on this batch's noise) with a non-finite output."""
    value = float(loss.item())
    if math.isfinite(value):
        return value
    error = diverged(gan, z, value, **where)
    raise TrainingDiverged(f"fit_gan: the {network} loss is not finite: {error}",
                           epoch=error.epoch, batch=error.batch, global_step=error.global_step,
                           loss=value, module=error.module)


def _generate(g: Any, z: Tensor) -> np.ndarray:
    """G(z) as a numpy array, in eval mode and without a graph; G's mode is restored."""
    was_training = g.training
    g.eval()
    try:
        with tg.no_grad():
            return g(z).numpy()
    finally:
        g.train(was_training)


def _judged(judge: Callable, images: np.ndarray) -> dict[str, Any]:
    """The judge's metrics, checked: numbers (or None) under names that are not columns."""
    metrics = dict(judge(images))
    for name, value in metrics.items():
        if name in GAN_COLUMNS or name == "_start":
            raise ValueError(f"fit_gan: judge metric {name!r} clashes with a history column")
        if value is not None and not isinstance(value, (Number, np.number)):
            raise TypeError(f"fit_gan: judge metric {name!r} must be a number, got "
                            f"{type(value).__name__}")
    return metrics


def summary_line(row: dict[str, Any], epochs: int) -> str:
    """``epoch 3/20  D loss 1.2034 G loss 0.9120  D(x) 0.561 D(G(z)) 0.402  IS 3.41  ...``"""
    judged = "".join(f"  {k} {v:.4g}" for k, v in row.items()
                     if k not in GAN_COLUMNS and v is not None)
    return (f"epoch {row['epoch']}/{epochs}  D loss {row['d_loss']:.4f} G loss "
            f"{row['g_loss']:.4f}  D(x) {row['d_real']:.3f} D(G(z)) {row['d_fake']:.3f}"
            f"{judged}  lr {row['lr']:.3g}  {row['seconds']:.1f}s  "
            f"{row['images_per_s']:.0f} img/s")


def save_image(images: np.ndarray, path: str | os.PathLike, nrow: int = 8, padding: int = 2,
               value_range: tuple[float, float] = (-1.0, 1.0), pad_value: float = 0.0,
               pixels: int = 480) -> str | os.PathLike:
    """Write images (N, C, H, W), C 1 or 3, as one PNG grid of ``nrow`` images per row, as
    torchvision's ``save_image``: values mapped from ``value_range`` to [0, 1] (clipped),
    ``padding`` pixels of ``pad_value`` (in [0, 1]; 0 is black) around the tiles; each pixel
    is enlarged so the grid is about ``pixels`` wide (8x8 digits are otherwise a thumbnail).
    Returns ``path``."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4 or images.shape[1] not in (1, 3) or len(images) == 0:
        raise ValueError(f"save_image: expected images (N, 1 or 3, H, W) with N >= 1, got "
                         f"{images.shape}")
    lo, hi = value_range
    images = np.clip((images - lo) / (hi - lo), 0.0, 1.0)
    c = images.shape[1]
    grid = tile_images(images, nrow, padding, float(pad_value))
    scale = max(1, pixels // grid.shape[2])
    grid = np.kron(grid, np.ones((1, scale, scale)))
    plt = pyplot()
    if c == 1:
        plt.imsave(path, grid[0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        plt.imsave(path, grid.transpose(1, 2, 0))
    return path


def _write_outputs(history: History, run_dir: str | os.PathLike, samples: np.ndarray) -> None:
    """history.csv / .json; curves.png and samples.png unless matplotlib is missing (warn
    once) — samples.png also not when the generator's output is no longer finite."""
    if history.columns is not None:
        history.save(run_dir)
    judged = {k: k for k in (history.columns or ()) if k not in GAN_COLUMNS}
    panels = [("loss", {"d_loss": "D", "g_loss": "G"}),
              ("mean D output (probability real)", {"d_real": "D(x)", "d_fake": "D(G(z))"})]
    panels += [(name, {name: name}) for name in judged]
    try:
        plot_columns(history, os.path.join(run_dir, "curves.png"), panels)
        if np.isfinite(samples).all():
            # grey borders: the digits' own background is black
            save_image(samples, os.path.join(run_dir, SAMPLES), pad_value=0.5)
        else:
            warnings.warn(f"fit_gan: {SAMPLES} not written: the generator's output is not "
                          f"finite", RuntimeWarning, stacklevel=3)
    except ImportError as e:
        if not _matplotlib_warned[0]:
            _matplotlib_warned[0] = True
            warnings.warn(f"fit_gan: curves.png and {SAMPLES} not written: {e}",
                          RuntimeWarning, stacklevel=3)
