"""Random hyper-parameter search, coarse to fine (CS231n; Bergstra & Bengio 2012).

``random_search(trial_fn, space, n_trials)`` draws ``n_trials`` configurations from ``space``
(see ``search_space``), runs ``trial_fn(config) -> {"val_acc": ..., ...}`` on each, and
returns a ``SearchResult``: every trial with its configuration, metrics, status and seconds.
``coarse_to_fine`` runs a coarse search of short trials, ``refine``s the space around the best
of them, and runs a finer search of longer trials there.

Where the trials run:

* ``workers=0``: one after another in this process;
* ``workers=n``: ``n`` worker processes started with the ``spawn`` method (a ``fork``ed child
  of a process that has run a Numba parallel kernel dies), via ``ProcessPoolExecutor``;
* ``scheduler="tcp://host:port"`` (or a ``distributed.Client``, e.g. from
  ``dask_client(address, timeout)``): an existing Dask cluster (``pip install -e '.[dask]'``).

Worker processes import ``trial_fn`` by name, so it must be a module-level function of an
importable module (and a script that searches needs the usual ``if __name__ == "__main__":``
guard, as with any spawned ``multiprocessing`` worker). A trial that raises is recorded as
``"failed"`` with its error text, one that reports a non-finite metric as ``"diverged"``;
neither stops the search.
"""
from __future__ import annotations

import csv
import io
import math
import multiprocessing
import os
import pickle
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .search_space import Choice, LogUniform, Space, Uniform, ranked, refine, sample_configs

__all__ = ["CoarseToFine", "SearchResult", "Trial", "coarse_to_fine", "dask_client",
           "plot_search", "random_search", "run_trial", "save_search"]

TrialFn = Callable[[dict[str, Any]], Mapping[str, float]]


@dataclass
class Trial:
    """One trial: ``status`` is ``"ok"``, ``"failed"`` (raised: ``error`` says what) or
    ``"diverged"`` (a metric was NaN or infinite)."""
    index: int
    config: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    seconds: float = 0.0
    error: str = ""


def run_trial(trial_fn: TrialFn, index: int, config: dict[str, Any]) -> Trial:
    """Run ``trial_fn(config)`` and record it; what a worker process executes."""
    start = time.perf_counter()
    try:
        returned = trial_fn(dict(config))
        if not isinstance(returned, Mapping):
            raise TypeError(f"trial_fn returned {type(returned).__name__}, expected a dict of "
                            f"metrics such as {{'val_acc': 0.9}}")
        metrics = {str(k): float(v) for k, v in returned.items()}
    except Exception as e:  # noqa: BLE001 - a failed trial is recorded with its error, not lost
        return Trial(index, dict(config), {}, "failed", time.perf_counter() - start,
                     f"{type(e).__name__}: {e}".replace("\n", " "))
    seconds = time.perf_counter() - start
    bad = [f"{k}={v}" for k, v in metrics.items() if not math.isfinite(v)]
    if bad:
        return Trial(index, dict(config), metrics, "diverged", seconds,
                     "non-finite " + ", ".join(bad))
    return Trial(index, dict(config), metrics, "ok", seconds)


@dataclass
class SearchResult:
    """All trials of one search, and how to rank them (``metric``, ``mode`` max or min)."""
    trials: list[Trial]
    metric: str = "val_acc"
    mode: str = "max"
    space: dict[str, Any] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def ranked(self) -> list[Trial]:
        """Successful trials, best first."""
        return ranked(self.trials, self.metric, self.mode)

    @property
    def best(self) -> Trial:
        """The best successful trial; ``ValueError`` when every trial failed or diverged."""
        good = self.ranked()
        if not good:
            counts = {s: sum(t.status == s for t in self.trials) for s in ("failed", "diverged")}
            raise ValueError(f"no successful trial with a finite {self.metric!r} among "
                             f"{len(self.trials)} ({counts})")
        return good[0]

    def rows(self) -> list[dict[str, Any]]:
        """One dict per trial, best first, failed and diverged trials last (by index)."""
        good = self.ranked()
        ok = {id(t) for t in good}
        rest = sorted((t for t in self.trials if id(t) not in ok), key=lambda t: t.index)
        params = list(dict.fromkeys(k for t in self.trials for k in t.config))
        # a trial's own "seconds" metric gives way to the wall time measured around it
        metrics = list(dict.fromkeys([self.metric] + [k for t in self.trials for k in t.metrics
                                                      if k != "seconds"]))
        out = []
        for rank, t in enumerate(good + rest, start=1):
            row = {"rank": rank if id(t) in ok else "", "trial": t.index, "status": t.status}
            row.update({k: t.config.get(k, "") for k in params})
            row.update({k: t.metrics.get(k, "") for k in metrics})
            row.update({"seconds": t.seconds, "error": t.error})
            out.append(row)
        return out

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The trials as CSV (``rows()``, floats in full precision); written to ``path``."""
        rows = self.rows()
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["trial"],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return _write(path, buf.getvalue())

    def to_markdown(self, path: str | os.PathLike | None = None) -> str:
        """A markdown table of ``rows()`` (best first) under a one-line summary."""
        rows = self.rows()
        ok = sum(t.status == "ok" for t in self.trials)
        summary = (f"Random search: {len(self.trials)} trials ({ok} ok), ranked by "
                   f"{self.metric} ({self.mode}), seed {self.seed}.")
        lines = [summary, ""]
        if rows:
            lines.append("| " + " | ".join(rows[0]) + " |")
            lines.append("|" + "---|" * len(rows[0]))
            lines += ["| " + " | ".join(_cell(v) for v in row.values()) + " |" for row in rows]
        return _write(path, "\n".join(lines) + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _write(path: str | os.PathLike | None, text: str) -> str:
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def random_search(trial_fn: TrialFn, space: Space, n_trials: int, *, seed: int = 0,
                  workers: int = 2, scheduler: Any = None, fixed: Mapping[str, Any] | None = None,
                  metric: str = "val_acc", mode: str = "max",
                  progress: bool = False) -> SearchResult:
    """Run ``trial_fn`` on ``n_trials`` configurations sampled from ``space``.

    Each configuration is ``sample_configs(space, n_trials, seed)[i]`` merged with ``fixed``
    (settings shared by every trial, e.g. ``{"epochs": 1}``; a key may not be in both).
    Trials run inline (``workers=0``, or a single trial), in ``workers`` spawned processes
    (each limited to ``cpu_count // workers`` Numba/BLAS threads), or on the Dask cluster
    ``scheduler`` (an address such as ``"tcp://10.0.0.5:8786"``, or a ``distributed.Client``,
    which is left open). ``progress=True`` shows a tqdm bar. The trials come back in
    sampling order whatever order they finished in, so a search is reproducible from its
    seed when ``trial_fn`` is deterministic given its configuration.
    """
    fixed = dict(fixed or {})
    both = sorted(set(space) & set(fixed))
    if both:
        raise ValueError(f"random_search: {both} are both searched (space) and fixed")
    if mode not in ("max", "min"):
        raise ValueError(f"random_search: mode must be 'max' or 'min', got {mode!r}")
    if workers < 0:
        raise ValueError(f"random_search: workers must be >= 0, got {workers}")
    configs = [{**c, **fixed} for c in sample_configs(space, n_trials, seed)]
    bar = _progress(n_trials, metric) if progress else None
    try:
        if scheduler is not None:
            trials = _run_dask(trial_fn, configs, scheduler, bar)
        elif workers == 0 or n_trials <= 1:
            trials = [_tick(bar, run_trial(trial_fn, i, c)) for i, c in enumerate(configs)]
        else:
            trials = _run_pool(trial_fn, configs, workers, bar)
    finally:
        if bar is not None:
            bar.close()
    return SearchResult(trials, metric, mode, dict(space), fixed, seed)


def _run_pool(trial_fn: TrialFn, configs: list[dict], workers: int, bar: Any) -> list[Trial]:
    _check_picklable(trial_fn)
    workers = min(workers, len(configs))
    # Share the cores out: n workers each running all-core Numba/BLAS threads would oversubscribe
    threads = max(1, (os.cpu_count() or 1) // workers)
    trials: list[Trial | None] = [None] * len(configs)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))
    try:
        futures = {pool.submit(run_trial, trial_fn, i, c): i for i, c in enumerate(configs)}
        for future in as_completed(futures):
            i = futures[future]
            trials[i] = _tick(bar, _collect(future, i, configs[i]))
    finally:
        # on Ctrl-C, drop the queued trials rather than wait for all of them to run
        pool.shutdown(wait=True, cancel_futures=True)
    return trials


def _init_worker(threads: int) -> None:
    """Limit a worker's Numba and BLAS thread pools to its share of the cores."""
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its default thread count
        return
    threadpool_limits(threads)


def dask_client(address: str, timeout: float | None = None) -> Any:
    """A ``distributed.Client`` of the Dask scheduler at ``address`` (``"tcp://host:8786"``).

    ``timeout``: seconds to keep trying (default: Dask's ``distributed.comm.timeouts.connect``,
    30 s). An address Dask cannot parse raises ``ValueError``, a scheduler not reached in
    time ``ConnectionError``, each naming the address; ``ImportError`` without ``distributed``.
    """
    distributed = _distributed()
    kwargs = {} if timeout is None else {"timeout": timeout}
    try:
        return distributed.Client(address, **kwargs)
    except ValueError as e:
        raise ValueError(f"bad Dask scheduler address {address!r}: {e}") from e
    except OSError as e:                            # TimeoutError, refused, unknown host
        raise ConnectionError(f"cannot reach the Dask scheduler at {address} ({e})") from e


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as e:
        raise ImportError("random_search(scheduler=...) runs trials on a Dask cluster and needs "
                          "the 'distributed' package: pip install -e '.[dask]'") from e
    return distributed


def _run_dask(trial_fn: TrialFn, configs: list[dict], scheduler: Any, bar: Any) -> list[Trial]:
    distributed = _distributed()
    own = not isinstance(scheduler, distributed.Client)
    client = dask_client(scheduler) if own else scheduler
    try:
        n = len(configs)
        # pure=False: two identical configurations are two trials, not one cached result
        futures = client.map(run_trial, [trial_fn] * n, range(n), configs, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        trials: list[Trial | None] = [None] * n
        for future in distributed.as_completed(futures):
            i = index[future.key]
            trials[i] = _tick(bar, _collect(future, i, configs[i]))
        return trials
    finally:
        if own:
            client.close()


def _collect(future: Any, index: int, config: dict) -> Trial:
    """The trial a future computed; a worker that died (not the trial) is a failed trial."""
    try:
        return future.result()
    except Exception as e:  # noqa: BLE001 - a dead worker (BrokenProcessPool, KilledWorker)
        return Trial(index, dict(config), {}, "failed", 0.0,
                     f"worker failed: {type(e).__name__}: {e}".replace("\n", " "))


def _check_picklable(trial_fn: TrialFn) -> None:
    try:
        pickle.dumps(trial_fn)
    except Exception as e:
        raise TypeError(f"random_search: worker processes import trial_fn by name, but "
                        f"{trial_fn!r} cannot be pickled ({e}); define it at module level "
                        f"in an importable module, or pass workers=0") from e


def _progress(total: int, metric: str) -> Any:
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="search", unit="trial")
    bar.metric = metric   # _tick shows it for each finished trial
    return bar


def _tick(bar: Any, trial: Trial) -> Trial:
    if bar is not None:
        value = trial.metrics.get(bar.metric)
        shown = f"{bar.metric}={value:.4g}" if value is not None else trial.error[:40]
        bar.set_postfix_str(f"trial {trial.index} {trial.status} {shown}", refresh=False)
        bar.update(1)
    return trial


@dataclass
class CoarseToFine:
    """Both stages of ``coarse_to_fine``; ``fine.space`` is the refined space."""
    coarse: SearchResult
    fine: SearchResult

    @property
    def best(self) -> Trial:
        """The fine stage's best trial (its trials ran longer than the coarse ones)."""
        return self.fine.best


def coarse_to_fine(trial_fn: TrialFn, space: Space, n_coarse: int, n_fine: int, *,
                   seed: int = 0, workers: int = 2, scheduler: Any = None,
                   fixed: Mapping[str, Any] | None = None,
                   fine_fixed: Mapping[str, Any] | None = None, top_k: int = 3,
                   widen: float = 2.0, metric: str = "val_acc", mode: str = "max",
                   progress: bool = False) -> CoarseToFine:
    """A coarse random search over ``space``, then a fine one around its best ``top_k``.

    The coarse stage uses ``fixed`` (e.g. ``{"epochs": 1}``), the fine stage ``fixed``
    updated with ``fine_fixed`` (e.g. ``{"epochs": 5}``), the space ``refine(space, coarse,
    top_k, widen)`` and the seed ``seed + 1`` (fresh samples, not the coarse ones rescaled).
    """
    common = {"workers": workers, "scheduler": scheduler, "metric": metric, "mode": mode,
              "progress": progress}
    coarse = random_search(trial_fn, space, n_coarse, seed=seed, fixed=fixed, **common)
    narrow = refine(space, coarse, top_k, widen, metric=metric, mode=mode)
    fine = random_search(trial_fn, narrow, n_fine, seed=seed + 1,
                         fixed={**(fixed or {}), **(fine_fixed or {})}, **common)
    return CoarseToFine(coarse, fine)


def plot_search(result: SearchResult, path: str | os.PathLike, x: str = "lr",
                y: str | None = "weight_decay") -> Path:
    """Scatter ``x`` against ``y`` (log axes for log-uniform ones), coloured by the metric.

    With ``y=None`` the metric itself is the vertical axis. The best trial is ringed in red;
    failed and diverged trials are grey crosses (on the ``x`` axis's bottom when ``y`` is
    None); the dashed box is the range the trials were sampled from. Written with
    matplotlib's Agg backend.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for name in (x, y):
        if name is not None and not any(name in t.config for t in result.trials):
            known = sorted({k for t in result.trials for k in t.config})
            raise ValueError(f"plot_search: no trial has parameter {name!r}; known: {known}")
    metric = result.metric

    def vertical(t: Trial) -> float:
        if y is None:
            return t.metrics.get(metric, math.nan)
        return t.config.get(y, math.nan)

    good, bad = result.ranked(), [t for t in result.trials if t.status != "ok"]
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    if good:
        points = ax.scatter([t.config[x] for t in good], [vertical(t) for t in good],
                            c=[t.metrics[metric] for t in good], cmap="viridis",
                            s=40, edgecolors="k", linewidths=0.3)
        fig.colorbar(points, ax=ax, label=metric)
        best = good[0]
        ax.scatter([best.config[x]], [vertical(best)], s=180, facecolors="none",
                   edgecolors="red", linewidths=2,
                   label=f"best: {metric}={best.metrics[metric]:.4g}")
    if bad:
        low = min((vertical(t) for t in good), default=0.0) if y is None else math.nan
        ax.scatter([t.config.get(x, math.nan) for t in bad],
                   [low if y is None else vertical(t) for t in bad], marker="x", c="0.5",
                   label=f"failed/diverged ({len(bad)})")
    xdim, ydim = result.space.get(x), result.space.get(y) if y is not None else None
    if isinstance(xdim, Uniform) and isinstance(ydim, Uniform):
        ax.add_patch(matplotlib.patches.Rectangle(
            (xdim.low, ydim.low), xdim.high - xdim.low, ydim.high - ydim.low, fill=False,
            linestyle="--", edgecolor="0.4", label="search range"))
    for dim, set_scale in ((xdim, ax.set_xscale), (ydim, ax.set_yscale)):
        if isinstance(dim, LogUniform):
            set_scale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric if y is None else y)
    ax.set_title(f"random search: {len(result.trials)} trials, {metric} ({result.mode})")
    if good or bad:
        ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
    return Path(path)


def save_search(result: SearchResult | CoarseToFine,
                out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write ``search.csv``, ``search.md`` and ``search.png`` to ``out_dir``.

    A ``CoarseToFine`` writes each stage to ``out_dir/coarse`` and ``out_dir/fine``. The
    tables are written before the plot, so a missing matplotlib loses no results.
    """
    out = Path(out_dir)
    if isinstance(result, CoarseToFine):
        paths = {}
        for stage in ("coarse", "fine"):
            paths.update({f"{stage}_{k}": v
                          for k, v in save_search(getattr(result, stage), out / stage).items()})
        return paths
    out.mkdir(parents=True, exist_ok=True)
    paths = {"csv": out / "search.csv", "md": out / "search.md", "png": out / "search.png"}
    result.to_csv(paths["csv"])
    result.to_markdown(paths["md"])
    numeric = [k for k, d in result.space.items() if not isinstance(d, Choice)]
    # the classic picture is lr against weight decay; otherwise the first searched numbers
    axes = ["lr", "weight_decay"] if {"lr", "weight_decay"} <= set(numeric) else numeric[:2]
    if not axes:
        raise ValueError(f"save_search: no numeric parameter to plot in {list(result.space)}")
    plot_search(result, paths["png"], *axes, *([None] if len(axes) == 1 else []))
    return paths
