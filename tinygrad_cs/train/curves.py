"""Training curves as a PNG: loss (left) and accuracy (right) against the epoch.

matplotlib is an optional extra (``pip install -e '.[plot]'``); it is imported only when a
plot is drawn, with the non-interactive Agg backend, so training never opens a window.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

__all__ = ["plot_curves", "pyplot"]

INSTALL_HINT = "pip install -e '.[plot]'  (or: pip install matplotlib)"


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend; ``ImportError`` saying how to install it."""
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError(f"plotting needs matplotlib, which is not installed: {INSTALL_HINT}") \
            from e
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _column(rows: list[dict], key: str) -> tuple[list[int], list[float]]:
    """(epochs, values) of the rows where ``key`` has a value."""
    pairs = [(r["epoch"], r[key]) for r in rows if r.get(key) is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_curves(history: Iterable[dict[str, Any]], path: str | os.PathLike,
                title: str | None = None) -> str | os.PathLike:
    """Write train/val loss and accuracy per epoch to the PNG file ``path``; return ``path``.

    ``history`` is a ``History`` or any iterable of its rows (dicts with ``epoch``,
    ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``; ``None`` values are skipped).
    """
    plt = pyplot()
    rows = list(history)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    try:
        for ax, metric, label in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
            for split, style in (("train", "-o"), ("val", "-s")):
                epochs, values = _column(rows, f"{split}_{metric}")
                if epochs:
                    ax.plot(epochs, values, style, markersize=3, label=split)
            ax.set_xlabel("epoch")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
            if ax.lines:
                ax.legend()
            else:
                ax.text(0.5, 0.5, f"no {label} values", ha="center", va="center",
                        transform=ax.transAxes)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
