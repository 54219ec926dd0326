"""``tgcs eval RUN_DIR``: the held-out mAP table of a detection run, from its checkpoint.

The model is rebuilt from the run's ``recipe.json`` with the parameters of its last finished
epoch (``train.load_model``), the held-out split of its data set is made again from the
recipe's seed, and the table ``tgcs train`` printed at the end is computed anew
(``train.detection_report``); ``--write`` also rewrites the run's ``metrics.json``,
``detections.png`` and ``nms.png`` (byte for byte what ``tgcs train`` wrote: the model, the
images and the drawing are the same).
"""
from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from ..data import DataLoader, load_dataset
from ..data.detection import detection_collate
from ..nn.models import registry as zoo
from ..train.checkpoint import CHECKPOINT
from ..train.detection_recipe import is_detection
from ..train.detection_report import detection_report, draw_detection_pictures
from ..train.load import load_model
from .options import UsageError, read_recipe

__all__ = ["add_eval_options", "run_eval"]


def add_eval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory of tgcs train "
                   "(runs/NAME) that trained a detection model")
    p.add_argument("--batch-size", type=int, default=100, help="images per forward pass "
                   "(default 100)")
    p.add_argument("--write", action="store_true", help="also rewrite RUN_DIR/metrics.json, "
                   "detections.png and nms.png")


def run_eval(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / "recipe.json").is_file() or not (run_dir / CHECKPOINT).is_file():
        raise UsageError(f"{run_dir} is not a finished tgcs train run (it needs recipe.json "
                         f"and {CHECKPOINT})")
    recipe = read_recipe(run_dir / "recipe.json")
    if not is_detection(recipe.model):
        task = zoo.get(recipe.model).task if recipe.model in zoo.ZOO else "unknown"
        raise UsageError(f"tgcs eval reports detection mAP; run {run_dir} trained "
                         f"{recipe.model!r}, a {task!r} model (its history.csv has its "
                         f"figures)")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be positive, got {args.batch_size}")
    model = load_model(run_dir)
    splits = load_dataset(recipe.data, seed=recipe.seed)
    loader = DataLoader(splits.test, batch_size=args.batch_size,
                        collate_fn=partial(detection_collate, stack=True))
    _, table = detection_report(model, loader, run_dir if args.write else None,
                                splits.classes)
    if args.write:
        draw_detection_pictures(model, splits.test, run_dir, splits.classes)
    print(f"{run_dir}: {recipe.model} on {recipe.data} (seed {recipe.seed})")
    print(table)
    return 0
