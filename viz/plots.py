"""Matplotlib pictures of ``grad_flow`` and ``activation_stats`` (matplotlib is optional).

Both functions build a ``matplotlib.figure.Figure`` directly, not through pyplot,
so they change no global state (a notebook's backend stays as it is) and work
headless; they save it when given a path and return it. Each takes one result
or a dict ``{title: result}`` to compare networks side by side.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from .stats import ActivationTable, GradTable, activation_stats, grad_flow

__all__ = ["MAX_COLUMNS", "PANEL_SIZE", "panel_grid", "plot_activation_stats", "plot_grad_flow"]

MAX_COLUMNS = 6             # plot_activation_stats: panels per row
PANEL_SIZE = (2.3, 2.0)     # inches (width, height) of one panel
VANISHING_COLOR = "#e31a1c"
MEAN_COLOR = "#08519c"
MAX_COLOR = "#9ecae1"


def _matplotlib():
    """(Figure, Patch), or an ImportError that says how to get them."""
    try:
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as error:
        raise ImportError("plotting needs matplotlib, an optional dependency: "
                          "`pip install matplotlib` (or `pip install tinygrad_cs[plot]`)"
                          ) from error
    return Figure, Patch


def _panels(result: Any, make) -> dict[str, Any]:
    """A dict title -> table, whatever the caller passed."""
    if isinstance(result, dict):
        return {str(k): make(v) for k, v in result.items()}
    return {"": make(result)}


def plot_grad_flow(model: Any, path: str | os.PathLike | None = None,
                   vanishing: float = 1e-3, title: str | None = None, biases: bool = False):
    """Bar chart of mean and max |grad| per parameter (log scale), vanishing ones in red.

    ``model``: a Module after backward, a ``GradTable``, or a dict of either.
    Biases are left out unless ``biases`` (one bar per layer reads better).
    Returns the Figure; writes it to ``path`` (format from the suffix) if given.
    """
    Figure, Patch = _matplotlib()

    def make(m):
        table = m if isinstance(m, GradTable) else grad_flow(m, vanishing)
        return GradTable(r for r in table if biases or not r.name.endswith("bias"))

    panels = _panels(model, make)
    fig = Figure(figsize=(max(6.0, 5.5 * len(panels)), 4.2), layout="constrained")
    # one y axis for all panels: comparing networks is the point
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (name, table) in zip(axes, panels.items()):
        x = np.arange(len(table))
        means = [max(r.mean_abs, 1e-30) for r in table]
        maxes = [max(r.max_abs, 1e-30) for r in table]
        ax.bar(x, maxes, color=MAX_COLOR)
        ax.bar(x, means, width=0.5,
               color=[VANISHING_COLOR if r.vanishing else MEAN_COLOR for r in table])
        ax.set_yscale("log")
        ax.set_xticks(x, [r.name for r in table], rotation=60, ha="right", fontsize=7)
        for tick, row in zip(ax.get_xticklabels(), table):
            if row.vanishing:
                tick.set_color(VANISHING_COLOR)
        ax.set_ylabel("|grad|")
        ax.set_title(name or "gradient flow", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        keys = [("max |grad|", MAX_COLOR), ("mean |grad|", MEAN_COLOR)]
        if table.vanishing:
            keys.append((f"vanishing: mean < {vanishing:g} x largest", VANISHING_COLOR))
        ax.legend(handles=[Patch(color=c, label=k) for k, c in keys], fontsize=7, loc="best")
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def panel_grid(count: int, max_columns: int = MAX_COLUMNS) -> tuple[int, int]:
    """(rows, columns) for ``count`` panels read left to right, top to bottom: at most
    ``max_columns`` per row, ``ceil(count / columns)`` rows."""
    if count < 1 or max_columns < 1:
        raise ValueError(f"panel_grid: need count >= 1 and max_columns >= 1, got {count} "
                         f"and {max_columns}")
    columns = min(count, max_columns)
    return -(-count // columns), columns


def plot_activation_stats(stats: Any, path: str | os.PathLike | None = None,
                          x: Any = None, bins: int = 40, title: str | None = None):
    """Per-layer histograms of activations, std per layer first, one block per network.

    ``stats``: an ``ActivationTable``, a Module (then ``x`` is its input), or a
    dict of either. A network's panels fill a grid of up to ``MAX_COLUMNS`` columns
    (``panel_grid``; each panel ``PANEL_SIZE`` inches): first each layer's std (where
    activations die, it falls to 0), then one histogram per layer with its saturated
    share, on one x range per network (ReLU's exact zeros are counted, not drawn).
    With a dict, each network gets its own titled block of rows, on the same columns.
    Returns the Figure; writes it to ``path`` if given.
    """
    Figure, _ = _matplotlib()

    def make(s):
        if isinstance(s, ActivationTable):
            return s
        if x is None:
            raise ValueError("plot_activation_stats: pass x, the input to run the model on")
        return activation_stats(s, x)

    panels = _panels(stats, make)
    columns = panel_grid(1 + max(len(t) for t in panels.values()))[1]
    rows = [panel_grid(1 + len(t), columns)[0] for t in panels.values()]
    width, height = PANEL_SIZE
    fig = Figure(figsize=(width * columns + 0.3,
                          height * sum(rows) + 0.35 * len(panels) + (0.4 if title else 0.0)),
                 layout="constrained")
    blocks = fig.subfigures(len(panels), 1, height_ratios=rows, squeeze=False)[:, 0]
    for block, n_rows, (name, table) in zip(blocks, rows, panels.items()):
        grid = block.add_gridspec(n_rows, columns)
        cells = [block.add_subplot(grid[k // columns, k % columns])
                 for k in range(1 + len(table))]
        if name:
            block.suptitle(name, fontsize=9, fontweight="bold", x=0.0, ha="left")
        _std_panel(cells[0], table)
        span = _span(table)
        for ax, r in zip(cells[1:], table):
            values, sat = r.sample, ""
            if r.criterion == "a = 0":  # ReLU: the zeros would dwarf the rest
                values, sat = values[values != 0], f"\nzeros {r.saturated:.0%} (left out)"
            elif r.saturated is not None:
                sat = f"\nsaturated {r.saturated:.0%}"
            ax.hist(values, bins=bins, range=span, color="#3182bd")
            ax.set_title(f"{r.name}\nmean {r.mean:.2g} std {r.std:.2g}{sat}", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.set_yticks([])
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, dpi=100)
    return fig


def _std_panel(ax: Any, table: ActivationTable) -> None:
    """Each layer's std against its position: where activations die, it falls to 0."""
    ax.plot(range(1, len(table) + 1), [r.std for r in table], "o-", color="#08519c")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("layer", fontsize=8)
    ax.set_title("std per layer", fontsize=8)
    ax.tick_params(labelsize=7)


def _span(table: ActivationTable) -> tuple[float, float]:
    """One x range for a network's histograms, so a shrinking spread shows as a spike."""
    lo = min((float(r.sample.min()) for r in table if r.sample.size), default=-1.0)
    hi = max((float(r.sample.max()) for r in table if r.sample.size), default=1.0)
    return (lo, hi) if hi > lo else (lo - 1.0, hi + 1.0)
