"""``tgcs``: the command line of tinygrad_cs (installed as a console script).

    tgcs train                       # a small ResNet on scikit-learn digits, into runs/<name>/
    tgcs train --model mlp --data fashion-mnist --epochs 5 --augment
    tgcs train --resume --name resnet8-digits      # continue a run where it stopped
    tgcs sanity --model softmax      # CS231n sanity checks: initial loss, overfit 20 examples
    tgcs lr-find --model resnet8     # learning-rate range test, plot and suggestion
    tgcs search --trials 12 --workers 2            # coarse-to-fine random search (lr, wd)
    tgcs graph resnet20 -o resnet20.svg --grads    # draw a zoo model's graph
    tgcs gradcheck conv2d            # fuzz an op's gradients (or a zoo model's) with Hypothesis

Bad arguments and names that do not fit together end with a one-line error and exit
status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from .commands import COMMANDS
from .options import UsageError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tgcs", description="Train, check and draw tinygrad_cs "
                                "models: the CS231n training recipe from the command line.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_options, _) in COMMANDS.items():
        # `graph` passes its arguments on to the viz command line, --help included
        cmd = sub.add_parser(name, help=help_text, description=help_text,
                             add_help=name != "graph")
        add_options(cmd)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``tgcs`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["graph"]:      # argparse's REMAINDER would stop at a leading --option
        from ..viz.__main__ import main as graph_main
        return graph_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    run = COMMANDS[args.command][2]
    try:
        return run(args)
    except UsageError as error:
        print(f"tgcs {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tgcs {args.command}: interrupted", file=sys.stderr)
        return 130

