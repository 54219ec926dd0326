"""Command line: run the learner's chapters (``tgcs learn`` is the same command).

    python -m tinygrad_cs.learn --list          # the chapters and their titles
    python -m tinygrad_cs.learn 05              # run chapter 05 (or: activations, 05-activations)
    python -m tinygrad_cs.learn 05 --quick      # small data, few steps: seconds, not minutes
    python -m tinygrad_cs.learn --all --quick   # every chapter, in order

Figures go to ``docs/learn/figures`` unless ``--figures DIR`` (or ``TGCS_LEARN_FIGURES``)
says otherwise. An unknown chapter exits with status 2 and one line naming the chapters.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .chapters import ChapterNotFound, find, list_chapters, run

__all__ = ["add_learn_options", "main", "run_learn"]


def add_learn_options(p: argparse.ArgumentParser) -> None:
    """The options of this command, shared with ``tgcs learn``."""
    p.add_argument("chapter", nargs="?", help="a chapter's number (05), slug (activations) "
                   "or both (05-activations)")
    p.add_argument("--list", action="store_true", help="list the chapters and exit")
    p.add_argument("--all", action="store_true", help="run every chapter, in order")
    p.add_argument("--quick", action="store_true",
                   help="small data and few steps (TGCS_LEARN_QUICK=1), as the tests run them")
    p.add_argument("--figures", type=Path, metavar="DIR",
                   help="write the figures into DIR instead of docs/learn/figures")


def run_learn(args: argparse.Namespace) -> int:
    """List or run chapters as ``args`` say. Raises ``ChapterNotFound`` for an unknown
    chapter or a missing chapters folder (an installed package)."""
    if args.list or not (args.chapter or args.all):
        for chapter in list_chapters():
            print(f"{chapter.number}  {chapter.slug:20s} {chapter.title}")
        return 0 if args.list else 2
    chapters = list_chapters() if args.all else [find(args.chapter)]
    for chapter in chapters:
        print(f"== {chapter.number} {chapter.title} ({chapter.script})", flush=True)
        start = time.perf_counter()
        run(chapter, quick=True if args.quick else None, figures=args.figures)
        print(f"== {chapter.name} done in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tinygrad_cs.learn``: an unknown chapter or a missing chapters folder
    exits 2 with one line on stderr."""
    p = argparse.ArgumentParser(prog="python -m tinygrad_cs.learn",
                                description="Run the learner's chapters (docs/learn/).")
    add_learn_options(p)
    try:
        return run_learn(p.parse_args(argv))
    except ChapterNotFound as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
