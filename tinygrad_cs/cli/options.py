"""The options every training-like command shares (``--model``, ``--data``, ``--lr``, ...).

They default to ``None`` so that a command can tell what the user set: unset options keep
the ``Recipe``'s defaults, or, on ``--resume``, the run's own recipe.
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..data import DATASETS
from ..data.registry import DETECTION_DATASETS
from ..nn.models import registry as zoo
from ..train.recipe import OPTIMIZERS, SCHEDULES, Recipe, RecipeError, prepare

__all__ = ["UsageError", "add_recipe_options", "explicit_options", "model_names",
           "prepare_or_fail", "read_recipe", "recipe_from_args"]

# option name -> Recipe field, for the options that map one to one
_FIELDS = {"model": "model", "data": "data", "epochs": "epochs", "lr": "lr",
           "optimizer": "optimizer", "batch_size": "batch_size",
           "weight_decay": "weight_decay", "lr_schedule": "lr_schedule", "augment": "augment",
           "seed": "seed", "seq_len": "seq_len", "text_file": "text_file",
           "loader_workers": "num_workers"}


class UsageError(Exception):
    """A user error: printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def model_names(generative: bool = False, detection: bool = False) -> str:
    """The zoo models a recipe can train, by kind, for ``--model``'s help."""
    kinds = [("classifiers", "classify"), ("language models (--data text)", "language")]
    if generative:
        kinds.append(("generative", "generate"))
    if detection:
        kinds.append((f"detection (--data {' or '.join(DETECTION_DATASETS)})", "detect"))
    return "; ".join(f"{what}: {', '.join(zoo.names(task))}" for what, task in kinds)


def add_recipe_options(p: argparse.ArgumentParser, generative: bool = False,
                       detection: bool = False) -> None:
    """The model/data/optimizer options (see ``tinygrad_cs.train.recipe.Recipe``);
    ``generative`` / ``detection``: the command also trains the zoo's generative / detection
    models (and ``--data`` offers the detection sets)."""
    d = Recipe()
    p.add_argument("--model", help=f"zoo model (default {d.model}). "
                   f"{model_names(generative, detection)}")
    sets = DATASETS + (DETECTION_DATASETS if detection else ())
    p.add_argument("--data", choices=sets, help=f"data set (default {d.data}, shapes for "
                   "detection models; fashion-mnist needs Debian's dataset-fashion-mnist "
                   "package; " + ", ".join(DETECTION_DATASETS) + ": detection models only)"
                   if detection else f"data set (default {d.data}; fashion-mnist needs "
                   "Debian's dataset-fashion-mnist package)")
    p.add_argument("--epochs", type=_positive_int, help=f"training epochs (default {d.epochs})")
    p.add_argument("--lr", type=_positive_float, help="learning rate (default: the "
                   "optimizer's: " + ", ".join(f"{k} {v[1]:g}" for k, v in OPTIMIZERS.items())
                   + ")")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help=f"optimizer (default "
                   f"{d.optimizer}; sgd has Nesterov momentum 0.9)")
    p.add_argument("--batch-size", type=_positive_int, help=f"training samples per batch "
                   f"(default {d.batch_size})")
    p.add_argument("--weight-decay", type=float, help=f"L2 weight decay (default "
                   f"{d.weight_decay:g})")
    p.add_argument("--lr-schedule", choices=SCHEDULES, help=f"learning-rate schedule: cosine "
                   f"annealing, one-cycle, step decay (10x at 50%% and 75%% of the epochs) or "
                   f"none (default {d.lr_schedule})")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="the data set's usual augmentation (digits: small affine jitter; "
                   "fashion-mnist: horizontal flips; detection sets: flips and scale jitter "
                   "that move the boxes; default on)")
    p.add_argument("--seed", type=int, help=f"seed of the initial weights, shuffling, "
                   f"augmentation and dropout (default {d.seed})")
    p.add_argument("--seq-len", type=_positive_int, help=f"text: characters per training "
                   f"window (default {d.seq_len})")
    p.add_argument("--text-file", help="text: train on this file (default: the Python "
                   "standard library's own source)")
    p.add_argument("--loader-workers", type=int, help="data-loading worker processes "
                   "(spawn); default 0: load in the training process")


def recipe_from_args(args: argparse.Namespace, base: Recipe | None = None) -> Recipe:
    """``base`` (default: ``Recipe()``) with every option the user set applied."""
    values = (base or Recipe()).to_dict()
    for option, field in _FIELDS.items():
        value = getattr(args, option, None)
        if value is not None:
            values[field] = value
    return Recipe(**values)


def explicit_options(args: argparse.Namespace) -> dict:
    """The recipe fields the user set on the command line."""
    return {field: getattr(args, option) for option, field in _FIELDS.items()
            if getattr(args, option, None) is not None}


def read_recipe(path: Path) -> Recipe:
    """The recipe saved in a run directory's ``recipe.json``."""
    try:
        return Recipe.read(path)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read the run's recipe {path}: {error}") from None


def prepare_or_fail(recipe: Recipe, prepare: Callable[[Recipe], Any] = prepare) -> Any:
    """``prepare(recipe)`` (or ``prepare_gan``), with the user's mistakes turned into
    ``UsageError``: names that do not fit, a data set that is not installed, a missing extra."""
    try:
        return prepare(recipe)
    except (RecipeError, KeyError, FileNotFoundError, ImportError) as error:
        raise UsageError(error.args[0] if error.args else str(error)) from None
