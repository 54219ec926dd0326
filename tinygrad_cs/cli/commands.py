"""The table of ``tgcs`` commands: name -> (help, add_options, run)."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from ..learn.__main__ import add_learn_options
from ..learn.__main__ import run_learn as run_chapters
from ..learn.chapters import ChapterNotFound
from ..viz.__main__ import add_graph_options
from ..viz.__main__ import run_graph as draw_named_model
from .checks import add_lr_find_options, add_sanity_options, run_lr_find, run_sanity
from .evaluate import add_eval_options, run_eval
from .gradcheck import add_gradcheck_options, run_gradcheck
from .options import UsageError
from .search import add_search_options, run_search
from .train import add_train_options, run_train
from .warmup import add_warmup_options, run_warmup


def run_graph(args: argparse.Namespace) -> int:
    try:
        return draw_named_model(args)
    except KeyError as error:                  # an unknown model: a usage error
        raise UsageError(error.args[0]) from None


def run_learn(args: argparse.Namespace) -> int:
    try:
        return run_chapters(args)
    except ChapterNotFound as error:           # no such chapter, or no chapters folder here
        raise UsageError(error.args[0]) from None


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "train": ("train a zoo model on a data set; curves, checkpoint and graph to runs/NAME/",
              add_train_options, run_train),
    "eval": ("print a detection run's held-out mAP table (COCO and VOC AP, per class)",
             add_eval_options, run_eval),
    "sanity": ("CS231n sanity checks: the initial loss, overfitting a small sample",
               add_sanity_options, run_sanity),
    "lr-find": ("learning-rate range test: plot and a suggested learning rate",
                add_lr_find_options, run_lr_find),
    "search": ("coarse-to-fine random search over learning rate and weight decay",
               add_search_options, run_search),
    "graph": ("draw a zoo or example model's graph to SVG, PNG or DOT; --grads colours it",
              add_graph_options, run_graph),
    "gradcheck": ("fuzz an op's or a zoo model's gradients with Hypothesis",
                  add_gradcheck_options, run_gradcheck),
    "learn": ("run the learner's chapters (docs/learn/): --list, a chapter, --all; --quick",
              add_learn_options, run_learn),
    "warmup": ("compile every kernel now (a fresh install compiles them on first use)",
               add_warmup_options, run_warmup),
}
