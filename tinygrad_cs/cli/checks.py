"""``tgcs sanity`` and ``tgcs lr-find``: the CS231n checks before a long run.

``sanity``: is the initial loss what it should be (ln C for softmax, C - 1 for the SVM), and
can the model overfit 20 training examples to 100% accuracy? Exit status 1 when one fails.
``lr-find``: an exponential learning-rate sweep (Smith 2015); writes ``lr_find.png`` with the
smoothed loss against the rate and prints the suggested learning rate.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..train import lr_find, run_sanity_checks
from .options import add_recipe_options, prepare_or_fail, recipe_from_args

__all__ = ["add_lr_find_options", "add_sanity_options", "run_lr_find", "run_sanity"]


def add_sanity_options(p: argparse.ArgumentParser) -> None:
    add_recipe_options(p)
    p.add_argument("--samples", type=int, default=20, help="examples to overfit (default 20)")
    p.add_argument("--steps", type=int, default=200, help="overfitting steps (default 200)")
    p.add_argument("--overfit-lr", type=float, default=1e-3,
                   help="Adam's learning rate for the overfitting check (default 1e-3)")


def add_lr_find_options(p: argparse.ArgumentParser) -> None:
    add_recipe_options(p)
    p.add_argument("--start-lr", type=float, default=1e-6,
                   help="the sweep's first learning rate (default 1e-6)")
    p.add_argument("--end-lr", type=float, default=10.0,
                   help="its last: the rate grows exponentially in between (default 10)")
    p.add_argument("--iters", type=int, default=100, help="sweep steps (default 100)")
    p.add_argument("-o", "--output", default="lr_find.png", help="plot file (default "
                   "lr_find.png)")


def run_sanity(args: argparse.Namespace) -> int:
    run = prepare_or_fail(recipe_from_args(args))
    results = run_sanity_checks(run.model, run.splits.train, run.loss_fn,
                                run.splits.num_classes, batch_size=run.recipe.batch_size,
                                n=args.samples, steps=args.steps, lr=args.overfit_lr,
                                seed=run.recipe.seed)
    return 0 if all(r.passed for r in results) else 1


def run_lr_find(args: argparse.Namespace) -> int:
    run = prepare_or_fail(recipe_from_args(args))
    result = lr_find(run.model, run.train_loader, run.loss_fn, run.optimizer,
                     start_lr=args.start_lr, end_lr=args.end_lr, num_iter=args.iters)
    path = result.plot(Path(args.output))
    if result.suggestion is None:
        print(f"no suggestion: the loss did not fall over the sweep (plot: {path})")
        return 1
    print(f"suggested lr: {result.suggestion:.3g}  (plot: {path})")
    return 0
