"""``tgcs search``: coarse-to-fine random search over learning rate and weight decay.

A coarse stage samples both in log space and trains each trial for ``--coarse-epochs``;
a fine stage samples again in the range around the best coarse trials and trains for
``--fine-epochs``. Trials run in ``--workers`` spawned processes, or on a Dask cluster with
``--scheduler ADDRESS`` (``pip install -e '.[dask]'``). Writes ``search.csv``, ``search.md``
and ``search.png`` (lr against weight decay, coloured by validation accuracy) for each stage.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..train.search import LogUniform, coarse_to_fine, dask_client, save_search
from ..train.trials import classifier_trial
from .options import UsageError, add_recipe_options, recipe_from_args

__all__ = ["add_search_options", "run_search"]


def add_search_options(p: argparse.ArgumentParser) -> None:
    add_recipe_options(p)
    p.add_argument("--trials", type=int, default=8, help="coarse trials (default 8)")
    p.add_argument("--fine-trials", type=int, default=4, help="fine trials (default 4)")
    p.add_argument("--coarse-epochs", type=int, default=1,
                   help="epochs each coarse trial trains: enough to rank them (default 1)")
    p.add_argument("--fine-epochs", type=int, default=3,
                   help="epochs each fine trial trains (default 3)")
    p.add_argument("--lr-range", type=float, nargs=2, default=(1e-4, 1.0),
                   metavar=("LOW", "HIGH"), help="coarse learning rates, sampled "
                   "log-uniformly between LOW and HIGH (default 1e-4 1)")
    p.add_argument("--wd-range", type=float, nargs=2, default=(1e-6, 1e-2),
                   metavar=("LOW", "HIGH"), help="coarse weight decays, sampled log-uniformly "
                   "between LOW and HIGH (default 1e-6 1e-2)")
    p.add_argument("--workers", type=int, default=2, help="trial processes (default 2; 0 runs "
                   "trials in this process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the trials on this Dask scheduler (e.g. tcp://10.0.0.5:8786)")
    p.add_argument("--connect-timeout", type=float, default=10.0, metavar="SECONDS",
                   help="give up on --scheduler after this long (default 10)")
    p.add_argument("-o", "--out-dir", default="runs/search", help="folder for the coarse/ and "
                   "fine/ results (default runs/search)")


def run_search(args: argparse.Namespace) -> int:
    recipe = recipe_from_args(args)
    for low, high, what in (*args.lr_range, "--lr-range"), (*args.wd_range, "--wd-range"):
        if not 0 < low < high:
            raise UsageError(f"{what} needs 0 < LOW < HIGH, got {low:g} {high:g}")
    space = {"lr": LogUniform(*args.lr_range), "weight_decay": LogUniform(*args.wd_range)}
    fixed = {k: v for k, v in recipe.to_dict().items() if k not in space}
    # connect once, before any trial runs or anything is written: an unreachable scheduler
    # is one line (tgcs's error handling), and it serves both stages
    client = None if args.scheduler is None else _connect(args)
    try:
        result = coarse_to_fine(
            classifier_trial, space, args.trials, args.fine_trials,
            fixed={**fixed, "epochs": args.coarse_epochs},
            fine_fixed={"epochs": args.fine_epochs}, seed=recipe.seed, workers=args.workers,
            scheduler=client, progress=True)
    except ValueError as error:                    # e.g. every coarse trial failed
        raise UsageError(str(error)) from None
    finally:
        if client is not None:
            client.close()
    out = Path(args.out_dir)
    save_search(result, out)
    for stage in ("coarse", "fine"):
        best = getattr(result, stage).best
        print(f"{stage}: best {_describe(best)}")
    print(f"wrote search.csv, search.md, search.png in {out}/coarse/ and {out}/fine/")
    return 0


def _connect(args: argparse.Namespace):
    try:
        return dask_client(args.scheduler, timeout=args.connect_timeout)
    except (ImportError, ValueError) as error:     # no dask installed, a malformed address
        raise UsageError(str(error)) from None


def _describe(trial) -> str:
    if trial is None:
        return "none (every trial failed or diverged; see search.md)"
    config = ", ".join(f"{k} {trial.config[k]:.3g}" for k in ("lr", "weight_decay"))
    return f"val_acc {trial.metrics['val_acc']:.4f} at {config}"
