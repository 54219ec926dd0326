"""Search spaces for random hyper-parameter search, and their coarse-to-fine refinement.

A space is a plain dict from a parameter's name to a distribution::

    space = {"lr": LogUniform(1e-4, 1e-1), "weight_decay": LogUniform(1e-6, 1e-2),
             "momentum": Uniform(0.5, 0.99), "optimizer": Choice(["sgd", "adam"])}

Random search (Bergstra & Bengio 2012) draws every parameter independently, so each trial
tries a new value of *every* dimension; a grid of the same size would repeat the values of
the dimensions that matter. Scale parameters (learning rate, weight decay) are drawn
log-uniformly: ``log x ~ U(log low, log high)``, i.e. as many trials per decade.

``refine(space, trials, top_k, widen)`` is CS231n's "coarse to fine" step: a narrower space
spanning the best ``top_k`` trials (in log space for log-uniform dimensions), widened by a
factor and clipped to the bounds of the space it refines.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Choice", "LogUniform", "Uniform", "ranked", "refine", "sample_configs"]

# When the top trials all share one value, the refined span would collapse to a point:
# keep at least this fraction of the refined dimension's span instead.
MIN_SPAN_FRACTION = 0.1


@dataclass(frozen=True)
class Uniform:
    """``x ~ U(low, high)``."""
    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"Uniform needs finite low < high, got ({self.low}, {self.high})")

    def sample(self, rng: np.random.Generator, n: int) -> list[float]:
        return [float(v) for v in rng.uniform(self.low, self.high, size=n)]

    # The coordinate in which the space is uniform, and back: refine works in it.
    def _to(self, x: float) -> float:
        return float(x)

    def _from(self, u: float) -> float:
        return float(u)

    def _narrowed(self, lo: float, hi: float) -> Uniform:
        return Uniform(lo, hi)


@dataclass(frozen=True)
class LogUniform(Uniform):
    """``log x ~ U(log low, log high)`` (``0 < low < high``): scale parameters, e.g. lr."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.low <= 0:
            raise ValueError(f"LogUniform needs 0 < low, got ({self.low}, {self.high})")

    def sample(self, rng: np.random.Generator, n: int) -> list[float]:
        logs = rng.uniform(math.log(self.low), math.log(self.high), size=n)
        # exp(log(high)) can overshoot high by one ulp: clip keeps samples inside the bounds
        return [float(v) for v in np.clip(np.exp(logs), self.low, self.high)]

    def _to(self, x: float) -> float:
        return math.log(x)

    def _from(self, u: float) -> float:
        return math.exp(u)

    def _narrowed(self, lo: float, hi: float) -> LogUniform:
        return LogUniform(lo, hi)


@dataclass(frozen=True)
class Choice:
    """One of ``options``, each with probability ``1 / len(options)``."""
    options: tuple

    def __init__(self, options: Iterable[Any]) -> None:
        options = tuple(options)
        if not options:
            raise ValueError("Choice needs at least one option")
        object.__setattr__(self, "options", options)

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        # indices, not rng.choice(options): options may be of mixed types (None, str, int)
        return [self.options[i] for i in rng.integers(len(self.options), size=n)]


Space = Mapping[str, Uniform | Choice]


def sample_configs(space: Space, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` configurations drawn from ``space`` with ``np.random.default_rng(seed)``.

    Dimensions are drawn one after another in the space's key order (``n`` values each), so
    the same space, ``n`` and seed always give the same configurations.
    """
    if n < 0:
        raise ValueError(f"sample_configs: n must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    columns = {name: _check_dim(name, dim).sample(rng, n) for name, dim in space.items()}
    return [{name: values[i] for name, values in columns.items()} for i in range(n)]


def _check_dim(name: str, dim: Any) -> Uniform | Choice:
    if not isinstance(dim, (Uniform, Choice)):
        raise TypeError(f"search space entry {name!r} is {dim!r}: expected LogUniform, "
                        f"Uniform or Choice")
    return dim


def refine(space: Space, trials: Sequence[Any], top_k: int = 3, widen: float = 2.0, *,
           metric: str = "val_acc", mode: str = "max") -> dict[str, Uniform | Choice]:
    """A narrower space around the best ``top_k`` successful trials.

    ``trials`` are ``Trial`` records (``.config``, ``.metrics``, ``.status``) or a
    ``SearchResult``. For a (log-)uniform dimension with top-k values spanning ``[a, b]``
    (in log space for ``LogUniform``), the refined range is centred on ``(a + b) / 2`` with
    span ``widen * (b - a)`` (at least ``MIN_SPAN_FRACTION`` of the old span), shifted to
    lie inside the old bounds where it would cross them and clipped to them. A ``Choice``
    keeps the options the top-k trials used. Raises ``ValueError`` when no trial succeeded.
    """
    if top_k < 1 or widen < 1:
        raise ValueError(f"refine: need top_k >= 1 and widen >= 1, got {top_k}, {widen}")
    trials = list(getattr(trials, "trials", trials))
    best = ranked(trials, metric, mode)[:top_k]
    if not best:
        raise ValueError(f"refine: none of the {len(trials)} trials succeeded with a finite "
                         f"{metric!r}, so there is nothing to refine around")
    refined: dict[str, Uniform | Choice] = {}
    for name, dim in space.items():
        values = [t.config[name] for t in best]
        if isinstance(_check_dim(name, dim), Choice):
            refined[name] = Choice(o for o in dim.options if o in values)
        else:
            refined[name] = _narrow(dim, [dim._to(v) for v in values], widen)
    return refined


def _narrow(dim: Uniform, coords: list[float], widen: float) -> Uniform:
    """Widen ``[min, max]`` of ``coords`` about its centre, keep it inside ``dim``'s range."""
    lo, hi = dim._to(dim.low), dim._to(dim.high)
    span = min(hi - lo, max(widen * (max(coords) - min(coords)), MIN_SPAN_FRACTION * (hi - lo)))
    centre = (max(coords) + min(coords)) / 2
    # shift rather than cut at a bound: the refined range keeps its span
    new_lo = min(max(centre - span / 2, lo), hi - span)
    new_hi = new_lo + span
    return dim._narrowed(max(dim.low, dim._from(new_lo)), min(dim.high, dim._from(new_hi)))


def ranked(trials: Iterable[Any], metric: str = "val_acc", mode: str = "max") -> list[Any]:
    """The trials with status ``"ok"`` and a finite ``metric``, best first (stable)."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    good = [t for t in trials if t.status == "ok" and _finite(t.metrics.get(metric))]
    return sorted(good, key=lambda t: t.metrics[metric], reverse=mode == "max")


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
