"""The hot ops of issue 3 in one table: conv, batch norm + pooling, LSTM, matmul/linear, threads.

    python -m benchmarks.bench_kernels            # full run (several minutes)
    python -m benchmarks.bench_kernels --quick    # smoke run (figures not meaningful)
    python -m benchmarks.bench_kernels --jit      # also the JIT cold-compile / warm-start rows

Each module measures its sides (ours, PyTorch CPU when installed, numpy) interleaved in one
process, medians of repetitions, and reports ratios ours / reference against the issue's
goals. ``benchmarks/run.py`` runs the same modules among all the others.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

if __package__:
    from .common import environment, markdown_table
else:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.common import environment, markdown_table

# (name, module): the modules are imported when run, so a missing one is reported, not fatal
MODULES = [("conv", "bench_conv"), ("norm_pool", "bench_norm_pool"), ("lstm", "bench_lstm"),
           ("matmul", "bench_matmul"), ("threads", "bench_threads")]
JIT = ("jit", "bench_jit")


def load(module: str):
    """``benchmarks.<module>``, or None (with a note) when it does not exist yet."""
    try:
        return importlib.import_module(f"benchmarks.{module}")
    except ModuleNotFoundError as e:
        if e.name != f"benchmarks.{module}":
            raise
        print(f"(benchmarks/{module}.py not found: skipped)")
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_kernels",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke run (seconds); the figures are not meaningful")
    parser.add_argument("--jit", action="store_true",
                        help="add the JIT rows (cold compile of every kernel: minutes)")
    parser.add_argument("--only", choices=[n for n, _ in MODULES + [JIT]], action="append",
                        help="run only this module (repeatable)")
    args = parser.parse_args(argv)
    print(environment())
    chosen = MODULES + ([JIT] if args.jit or (args.only and "jit" in args.only) else [])
    rows, start = [], time.perf_counter()
    for name, module_name in chosen:
        if args.only and name not in args.only:
            continue
        module = load(module_name)
        if module is not None:
            rows.extend(module.run(quick=args.quick))
    print()
    print(markdown_table(rows, verdicts=not args.quick))
    print(f"\n({'quick smoke run, ' if args.quick else ''}{time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
