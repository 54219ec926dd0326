"""``tgcs``: the command line of tinygrad_cs (installed as a console script).

    tgcs train                       # a small ResNet on scikit-learn digits, into runs/<name>/
    tgcs train --model mlp --data fashion-mnist --epochs 5 --augment
    tgcs train --resume --name resnet8-digits      # continue a run where it stopped
    tgcs train --model yolo --data shapes          # a detector: mAP table, detections.png
    tgcs eval runs/yolo-shapes-...                 # a detection run's mAP table again
    tgcs sanity --model softmax      # CS231n sanity checks: initial loss, overfit 20 examples
    tgcs lr-find --model resnet8     # learning-rate range test, plot and suggestion
    tgcs search --trials 12 --workers 2            # coarse-to-fine random search (lr, wd)
    tgcs graph resnet20 -o resnet20.svg --grads    # draw a zoo model's graph
    tgcs gradcheck conv2d            # fuzz an op's gradients (or a zoo model's) with Hypothesis
    tgcs learn 05 --quick            # run a chapter of the learner's path (--list lists them)
    tgcs warmup                      # compile every kernel now (a fresh install's first run
                                     # otherwise compiles the ones it meets)

Bad arguments and names that do not fit together end with a one-line error and exit
status 2; any other error (a scheduler that cannot be reached, a file that cannot be
written, ...) with a one-line error and exit status 1. ``--debug`` (every command takes
it) shows the traceback instead.
"""
from __future__ import annotations

import argparse
import sys

from .commands import COMMANDS
from .options import UsageError

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tgcs", description="Train, check and draw tinygrad_cs "
                                "models: the CS231n training recipe from the command line.",
                                epilog="`tgcs COMMAND --help` lists a command's options.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true",
                        help="on an error, show the full traceback instead of one line")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add_options, _) in COMMANDS.items():
        add_options(sub.add_parser(name, help=help_text, description=help_text,
                                   parents=[common]))
    return p


def one_line(error: BaseException) -> str:
    """``error`` as one line: its message with line breaks and runs of spaces folded, led
    by its type unless it is a ``UsageError`` (whose message is written for the user)."""
    text = " ".join(str(error).split()) or "(no message)"
    return text if isinstance(error, UsageError) else f"{type(error).__name__}: {text}"


def main(argv: list[str] | None = None) -> int:
    """Run ``tgcs`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    The one place where errors meet the user: a ``UsageError`` is one line and status 2,
    any other exception one line (naming its type, pointing at ``--debug``) and status 1,
    Ctrl-C status 130. With ``--debug`` the exception propagates with its traceback.
    """
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command is None:
        parser.print_help()
        return 2
    run = COMMANDS[args.command][2]
    try:
        return run(args)
    except KeyboardInterrupt:
        print(f"tgcs {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        hint = "" if isinstance(error, UsageError) else " (--debug shows the traceback)"
        print(f"tgcs {args.command}: error: {one_line(error)}{hint}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1
