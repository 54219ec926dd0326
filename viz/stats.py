"""Numbers behind the CS231n training diagnostics, per parameter and per layer.

* ``grad_flow(model)``: after a backward, per parameter its mean and max |grad|
  and ``|g| / |w|`` (norms; times the learning rate this is SGD's update-to-weight
  ratio, which CS231n suggests keeping near 1e-3). Parameters whose mean |grad|
  is far below the largest one are flagged as vanishing.
* ``activation_stats(model, x)``: runs ``model(x)`` with forward hooks and
  reports each layer's output mean, std and *saturated share*: for tanh
  ``|a| > 0.99``, for sigmoid ``a < 0.01 or a > 0.99`` (both where the local
  gradient is below ~0.02), for ReLU ``a == 0`` (no gradient passes). The op
  that produced the output (``output.op``) tells which rule applies.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from tinygrad_cs.graph import raw_value

__all__ = ["ActivationStat", "ActivationTable", "GradTable", "ParamGrad", "activation_stats",
           "grad_flow"]

SAMPLE = 20_000  # activation values kept per layer for histograms


class ParamGrad(NamedTuple):
    """One parameter's gradient: mean |g|, max |g|, ||g|| / ||w||, vanishing flag."""
    name: str
    shape: tuple
    mean_abs: float
    max_abs: float
    ratio: float
    vanishing: bool


class GradTable(list):
    """A list of ``ParamGrad`` rows that prints as an aligned table."""

    @property
    def vanishing(self) -> list[str]:
        """Names of the parameters flagged as vanishing."""
        return [r.name for r in self if r.vanishing]

    def __str__(self) -> str:
        rows = [("name", "shape", "mean |g|", "max |g|", "|g|/|w|", "")]
        rows += [(r.name, str(r.shape), f"{r.mean_abs:.3g}", f"{r.max_abs:.3g}",
                  "-" if np.isnan(r.ratio) else f"{r.ratio:.3g}", "vanishing" if r.vanishing else "") for r in self]
        return _table(rows)


def _named(params: Any) -> list[tuple[str, Any]]:
    if hasattr(params, "named_parameters"):
        return list(params.named_parameters())
    if isinstance(params, dict):
        return list(params.items())
    return list(params)


def grad_flow(model: Any, vanishing: float = 1e-3) -> GradTable:
    """Per-parameter gradient table of ``model`` (a Module, dict or (name, tensor) pairs).

    A parameter is vanishing when its mean |g| < ``vanishing`` x the largest mean
    |g| of the table. Parameters without a gradient are left out.
    """
    rows = []
    for name, p in _named(model):
        grad = getattr(p, "grad", None)
        if grad is None:
            continue
        g = np.abs(np.asarray(raw_value(grad), dtype=np.float64))
        w = np.linalg.norm(np.asarray(raw_value(p), dtype=np.float64))
        ratio = float(np.sqrt(np.sum(g * g)) / w) if w > 0 else float("nan")  # w = 0: undefined
        rows.append([name, tuple(np.shape(raw_value(p))), float(g.mean()) if g.size else 0.0,
                     float(g.max(initial=0.0)), ratio])
    top = max((r[2] for r in rows), default=0.0)
    return GradTable(ParamGrad(*r, vanishing=r[2] < vanishing * top) for r in rows)


class ActivationStat(NamedTuple):
    """One layer's output: mean, std, saturated share (None where no rule applies)."""
    name: str
    cls: str
    shape: tuple
    mean: float
    std: float
    saturated: float | None
    criterion: str
    sample: np.ndarray


class ActivationTable(list):
    """A list of ``ActivationStat`` rows that prints as an aligned table."""

    def __str__(self) -> str:
        rows = [("layer", "class", "shape", "mean", "std", "saturated")]
        rows += [(r.name, r.cls, str(r.shape), f"{r.mean:.3g}", f"{r.std:.3g}",
                  "" if r.saturated is None else f"{r.saturated:.0%} ({r.criterion})")
                 for r in self]
        return _table(rows)


_SATURATION: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "Tanh": ("|a| > 0.99", lambda a: np.abs(a) > 0.99),
    "Sigmoid": ("a < 0.01 or a > 0.99", lambda a: (a < 0.01) | (a > 0.99)),
    "ReLU": ("a = 0", lambda a: a == 0),
}


def activation_stats(model: Any, x: Any, layers: Any = None) -> ActivationTable:
    """Run ``model(x)`` once and summarise the output of each selected layer.

    ``layers``: None (every module without children), names, module types, or a
    predicate ``f(name, module) -> bool``. Needs ``Module.register_forward_hook``.
    """
    if not hasattr(model, "register_forward_hook"):
        raise TypeError("activation_stats: model must be an nn.Module (forward hooks), "
                        f"got {type(model).__name__}")
    chosen = [(n, m) for n, m in model.named_modules() if _selected(n, m, layers)]
    rows: list[ActivationStat] = []

    def hook_for(name: str):
        def hook(module, args, output):
            rows.append(_activation_row(name, module, output))
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in chosen]
    try:
        model(x)  # with grad on: the output's op names the activation
    finally:
        for handle in handles:
            handle.remove()
    return ActivationTable(rows)


def _selected(name: str, module: Any, layers: Any) -> bool:
    if layers is None:
        return not any(True for _ in module.children())
    if isinstance(layers, type) or (isinstance(layers, tuple) and
                                    all(isinstance(t, type) for t in layers)):
        return isinstance(module, layers)
    if callable(layers):
        return bool(layers(name, module))
    if isinstance(layers, Iterable):
        return name in set(layers)
    raise TypeError(f"activation_stats: cannot select layers with {layers!r}")


def _activation_row(name: str, module: Any, output: Any) -> ActivationStat:
    a = np.asarray(getattr(output, "data", output), dtype=np.float64)
    criterion, test = _SATURATION.get(getattr(output, "op", None) or "", ("", None))
    flat = a.reshape(-1)
    step = max(1, flat.size // SAMPLE)
    return ActivationStat(name, type(module).__name__, a.shape, float(a.mean()), float(a.std()),
                          None if test is None else float(test(a).mean()), criterion,
                          flat[::step].astype(np.float32))


def _table(rows: list[tuple]) -> str:
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
