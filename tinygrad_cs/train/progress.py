"""Progress output of ``fit``: a tqdm bar per epoch, and a one-line summary per epoch.

The bar goes to stderr, and only where stderr is a terminal or a Jupyter kernel (where
``tqdm.auto`` draws a widget): in a log file a bar is noise. The summary line goes to stdout
whenever ``progress`` is on, so logs keep one line per epoch.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm

__all__ = ["EpochBar", "summary_line"]


class EpochBar:
    """Wraps one epoch's batches; ``update(...)`` refreshes the postfix (loss, acc, lr, img/s)."""

    def __init__(self, batches: Iterable, *, epoch: int, epochs: int, enabled: bool) -> None:
        total = len(batches) if hasattr(batches, "__len__") else None
        self.bar = tqdm(batches, total=total, desc=f"epoch {epoch}/{epochs}", file=sys.stderr,
                        disable=not (enabled and _interactive()), leave=True, unit="batch",
                        dynamic_ncols=True)

    def __iter__(self):
        return iter(self.bar)

    def update(self, *, loss: float, acc: float | None, lr: float, images_per_s: float) -> None:
        if self.bar.disable:
            return
        postfix = {"loss": f"{loss:.4f}"}
        if acc is not None:
            postfix["acc"] = f"{acc:.3f}"
        postfix["lr"] = f"{lr:.3g}"
        postfix["img/s"] = f"{images_per_s:.0f}"
        self.bar.set_postfix(postfix, refresh=False)

    def close(self) -> None:
        self.bar.close()


def _interactive() -> bool:
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summary_line(row: dict[str, Any], epochs: int) -> str:
    """``epoch 3/10  train loss 0.4120 acc 0.874  val loss 0.3900 acc 0.889  lr 0.01  ...``"""
    return (f"epoch {row['epoch']}/{epochs}  train loss {_fmt(row['train_loss'], '.4f')} "
            f"acc {_fmt(row['train_acc'], '.4f')}  val loss {_fmt(row['val_loss'], '.4f')} "
            f"acc {_fmt(row['val_acc'], '.4f')}  lr {row['lr']:.3g}  "
            f"{row['seconds']:.1f}s  {row['images_per_s']:.0f} img/s")
