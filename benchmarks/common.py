"""Timing harness shared by the benchmarks: interleaved, warmed-up, median-of-repeats.

Every comparison runs all candidates in one process, round-robin (A, B, C, A, B, C, ...)
so that machine noise (frequency changes, other processes) hits every side alike. Each
timed sample runs a candidate ``inner`` times in a row and divides, so that even a
microsecond-sized call is measured over milliseconds of ``time.perf_counter``.

References are optional: ``torch`` and ``micrograd`` are ``None`` when not installed, and a
benchmark then reports only our side.

Two things keep one side from slowing the other down in a shared process:

* ``tinygrad_cs`` is imported before ``torch``, as in a user's process: its thread settings
  (``kernels/_threads.py``: OpenBLAS's and libgomp's idle spin) then apply as they would
  for a user. Imported after torch, the libgomp setting did not reach Numba's kernels
  (the ResNet-8 step ran as slowly as with the default spin), most likely because Numba's
  OpenMP layer then binds to the ``libgomp.so.1`` torch had already loaded; this way
  PyTorch's OpenMP threads run with the same setting as ours.
* before each timed sample the harness sleeps ``HANDOVER`` seconds, so the other side's idle
  threads, which keep spinning for a while after its last call, are asleep again and do not
  take a core from the candidate being timed.
"""
from __future__ import annotations

import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

#: Seconds of sleep before each timed sample (see the module docstring).
HANDOVER = 0.01

# Benchmark this checkout's tinygrad_cs (one level up), also when a file is run as a script.
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_REPO, "tinygrad_cs")) and _REPO not in sys.path:
    sys.path.insert(0, _REPO)

import tinygrad_cs  # noqa: F401 - before torch: see the module docstring

try:
    import torch
except ImportError:  # pragma: no cover - optional reference
    torch = None

try:
    import micrograd.engine
    import micrograd.nn
except ImportError:  # pragma: no cover - optional reference
    micrograd = None


def timeit_round_robin(candidates: dict[str, Callable[[], object]], *, repeats: int = 7,
                       min_sample: float = 0.02, warmup: float = 0.05,
                       inner: int | dict[str, int] | None = None,
                       settle: bool = False) -> dict[str, float]:
    """Median seconds per call of each candidate, measured interleaved.

    Each candidate is first warmed up (at least ``warmup`` seconds, and at least one call),
    which also calibrates ``inner``: how many calls make one timed sample last about
    ``min_sample`` seconds (unless ``inner`` is given). Then ``repeats`` rounds run every
    candidate once per round, in the same order; the result is the median over rounds of
    (sample time / inner). The garbage collector stays as the caller set it.

    ``settle`` is for candidates that leave garbage for the cyclic collector: before each
    timed sample, an untimed ``gc.collect()`` and one untimed call, so that a sample pays
    for collecting its own candidate's garbage (the previous call's, as in a steady-state
    loop), never for another candidate's.
    """
    calls: dict[str, int] = {}
    for name, fn in candidates.items():
        start = time.perf_counter()
        n = 0
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - start
            if elapsed >= warmup:
                break
        per_call = elapsed / n
        if isinstance(inner, dict):
            calls[name] = inner[name]
        elif inner is not None:
            calls[name] = inner
        else:
            calls[name] = max(1, math.ceil(min_sample / per_call)) if min_sample > 0 else 1
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    perf_counter = time.perf_counter
    for _ in range(repeats):
        for name, fn in candidates.items():
            n = calls[name]
            if settle:
                gc.collect()
                fn()
            if len(candidates) > 1:
                time.sleep(HANDOVER)
            t0 = perf_counter()
            for _ in range(n):
                fn()
            samples[name].append((perf_counter() - t0) / n)
    return {name: statistics.median(s) for name, s in samples.items()}


@dataclass
class Row:
    """One line of the results table. Times in seconds; ``None`` when a side is absent.

    ``goal`` is the largest acceptable ratio ours / reference (None: informational row);
    ``unit`` overrides the default time formatting (e.g. "nodes").
    """
    case: str
    ours: float | None
    reference: float | None
    goal: float | None = None
    reference_name: str = ""
    unit: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.ours is None or self.reference is None or self.reference == 0:
            return None
        return self.ours / self.reference

    @property
    def met(self) -> bool | None:
        r = self.ratio
        return None if r is None or self.goal is None else r <= self.goal


def format_time(seconds: float | None) -> str:
    """``1.23 us`` / ``4.56 ms`` / ``1.20 s``; ``n/a`` for a missing side."""
    if seconds is None:
        return "n/a"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}" if unit != "s" else f"{seconds:.3f} s"
    return f"{seconds} s"  # pragma: no cover


def _format(value: float | None, unit: str | None) -> str:
    if unit is None:
        return format_time(value)
    return "n/a" if value is None else f"{value:,.0f} {unit}"


def markdown_table(rows: list[Row], verdicts: bool = True) -> str:
    """The results as a markdown table: case | tinygrad_cs | reference | ratio | goal.

    ``verdicts=False`` (smoke runs) states the goals without judging them.
    """
    lines = ["| case | tinygrad_cs | reference | ratio (ours / reference) | goal |",
             "|---|---:|---:|---:|---|"]
    for row in rows:
        ref = _format(row.reference, row.unit)
        if row.reference_name and row.reference is not None:
            ref = f"{ref} ({row.reference_name})"
        elif row.reference_name and row.reference is None:
            ref = f"n/a ({row.reference_name} not installed)"
        ratio = "n/a" if row.ratio is None else f"{row.ratio:.2f}"
        if row.goal is None:
            goal = ""
        else:
            verdict = {True: " (met)", False: " (missed)", None: ""}[row.met] if verdicts else ""
            goal = f"<= {row.goal:g}{verdict}"
        lines.append(f"| {row.case} | {_format(row.ours, row.unit)} | {ref} | {ratio} | {goal} |")
    return "\n".join(lines)


def _version(dist: str) -> str:
    from importlib import metadata
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "(version unknown)"


def environment() -> str:
    """One line naming the interpreter and the library versions in play."""
    import numpy as np

    parts = [f"Python {sys.version.split()[0]}", f"numpy {np.__version__}",
             f"torch {torch.__version__}" if torch is not None else "torch: not installed",
             f"micrograd {_version('micrograd')}" if micrograd is not None
             else "micrograd: not installed",
             (f"gc {'on' if gc.isenabled() else 'off'} "
              f"({len(gc.get_objects()):,} tracked objects at start)")]
    return ", ".join(parts)
