"""Training curves as a PNG: loss (left) and accuracy (right) against the epoch
(``plot_curves``), or any columns of a history (``plot_columns``).

matplotlib is an optional extra (``pip install -e '.[plot]'``); it is imported only when a
plot is drawn, with the non-interactive Agg backend, so training never opens a window.
"""
from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["plot_columns", "plot_curves", "pyplot"]

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


# one marker per line of a panel (fit's train "-o" and val "-s" as before)
_STYLES = ("-o", "-s", "-^", "-v", "-D", "-x")


def plot_curves(history: Iterable[dict[str, Any]], path: str | os.PathLike,
                title: str | None = None) -> str | os.PathLike:
    """Write train/val loss and accuracy per epoch to the PNG file ``path``; return ``path``.

    ``history`` is a ``History`` or any iterable of its rows (dicts with ``epoch``,
    ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``; ``None`` values are skipped).
    """
    return plot_columns(history, path, [("loss", {"train_loss": "train", "val_loss": "val"}),
                                        ("accuracy", {"train_acc": "train", "val_acc": "val"})],
                        title)


def plot_columns(history: Iterable[dict[str, Any]], path: str | os.PathLike,
                 panels: Sequence[tuple[str, dict[str, str]]],
                 title: str | None = None) -> str | os.PathLike:
    """Write any columns of ``history`` against the epoch to the PNG file ``path``.

    ``panels``: one ``(y label, {column: legend label})`` per plot, up to 3 in a row, e.g.
    ``[("loss", {"d_loss": "D", "g_loss": "G"})]``; rows where a column is ``None`` (or
    missing) are skipped. Returns ``path``.
    """
    plt = pyplot()
    rows = list(history)
    ncols = min(len(panels), 3)                  # wrap: at most 3 plots side by side
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    try:
        for ax, (label, columns) in zip(axes.flat, panels):
            for (column, legend), style in zip(columns.items(), itertools.cycle(_STYLES)):
                epochs, values = _column(rows, column)
                if epochs:
                    ax.plot(epochs, values, style, markersize=3, label=legend)
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
