"""``tgcs gradcheck TARGET``: fuzz the gradients of an op or of a zoo model with Hypothesis.

TARGET is an op of the registry (``conv2d`` checks every variant: ``conv2d[dense]``,
``conv2d[grouped]``, ...) or a zoo model name (its tiny configuration, in float64, every
parameter). Each example is a gradcheck against central differences; a failure is shrunk to
the smallest input and reported with the worst element.
"""
from __future__ import annotations

import argparse

from ..testing import GradcheckError
from ..testing.fuzz import find_entries, fuzz_model, fuzz_op
from ..testing.registry import entries
from .options import UsageError

__all__ = ["add_gradcheck_options", "run_gradcheck"]


def add_gradcheck_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", nargs="?", help="an op name (see --list) or a zoo model name")
    p.add_argument("--examples", type=int, default=None,
                   help="Hypothesis examples (default: 50 for an op, 3 for a model)")
    p.add_argument("--first-order", action="store_true", help="ops: skip the second derivative")
    p.add_argument("--list", action="store_true", help="list the ops and zoo models and exit")


def _zoo():
    from ..nn.models import registry
    return registry


def run_gradcheck(args: argparse.Namespace) -> int:
    zoo = _zoo()
    if args.list or not args.target:
        ops = sorted({e.name.split("[")[0] for e in entries()})
        print("ops:   " + " ".join(ops))
        print("models: " + " ".join(zoo.names()))
        if not args.target and not args.list:
            raise UsageError("give an op or a zoo model name to check (see --list)")
        return 0
    try:
        if args.target in zoo.names():
            entry = zoo.get(args.target)
            reports = [fuzz_model(entry.tiny, args.examples or 3, name=args.target)]
        else:
            found = find_entries(args.target)
            reports = [fuzz_op(e, args.examples or 50,
                               second_order=False if args.first_order else None)
                       for e in found]
    except KeyError as error:
        raise UsageError(f"{error.args[0]}; zoo models: {', '.join(zoo.names())}") from None
    except GradcheckError as error:
        print(f"gradcheck FAILED for {args.target}:\n{error}")
        return 1
    for report in reports:
        print(report)
    return 0
