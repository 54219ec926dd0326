"""Run every benchmark and print one markdown table.

    python -m benchmarks            # full run (several minutes)
    python -m benchmarks --quick    # smoke run in seconds (for CI; figures not meaningful)
    python -m benchmarks --only lstm --only matmul
    python benchmarks/run.py [--quick]

A reference that is not installed (PyTorch, micrograd) is reported as ``n/a``. The JIT
rows (cold compile of every kernel, minutes) run only when asked: ``--only jit``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

if __package__:
    from . import bench_kernels
    from .common import environment, markdown_table
else:  # run as a script
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks import bench_kernels
    from benchmarks.common import environment, markdown_table

BENCHMARKS = [("dispatch", "bench_dispatch"), ("scalar", "bench_scalar"), ("mlp", "bench_mlp"),
              ("resnet8", "bench_resnet8"), ("lstm_layer", "bench_lstm_layer"),
              ("fashion_epoch", "bench_fashion_epoch"), ("nms", "bench_nms"), ("roi", "bench_roi"),
              ("compile", "bench_compile"),
              *bench_kernels.MODULES]
ON_REQUEST = [bench_kernels.JIT]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny smoke run (seconds); the figures are not meaningful")
    parser.add_argument("--only", choices=[name for name, _ in BENCHMARKS + ON_REQUEST],
                        action="append", help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    print(environment())
    rows, notes = [], []
    start = time.perf_counter()
    for name, module_name in BENCHMARKS + ON_REQUEST:
        if (args.only and name not in args.only) or (not args.only and
                                                     (name, module_name) in ON_REQUEST):
            continue
        module = bench_kernels.load(module_name)
        if module is None:
            continue
        module_rows = module.run(quick=args.quick)
        rows.extend(module_rows)
        if name == "scalar":
            notes.append(module.speedup_note(module_rows))
    print()
    print(markdown_table(rows, verdicts=not args.quick))
    print()
    if args.quick:
        notes = ["smoke run: the figures are not meaningful and goals are not judged"]
    for note in notes:
        print(note)
    print(f"({'quick smoke run, ' if args.quick else ''}{time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
