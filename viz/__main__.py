"""Command line: draw a registered model's graph to a file.

    python -m tinygrad_cs.viz --list
    python -m tinygrad_cs.viz resnet-mini -o resnet.svg --depth 2
    python -m tinygrad_cs.viz deep-sigmoid-small -o flow.png --grads
    python -m tinygrad_cs.viz mlp -o mlp.gv --format dot      # DOT source, no renderer needed

``--grads`` runs backward from the model's output inside ``capture_grads`` (from the sum
of its elements when the output is not a scalar) and colours the graph by gradient norm. The output format follows ``--format``, else
the file's suffix, else SVG.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tinygrad_cs.creation import ones_like
from tinygrad_cs.graph import raw_value

from .backend import render
from .draw import draw_graph
from .gradflow import capture_grads
from .registry import get_model, list_models


def add_graph_options(p: argparse.ArgumentParser) -> None:
    """The options of this command, shared with ``tgcs graph``."""
    p.add_argument("model", nargs="?", help="a registered model name (see --list)")
    p.add_argument("-o", "--output", help="file to write (default: MODEL.svg)")
    p.add_argument("--format", choices=["svg", "png", "pdf", "dot"],
                   help="image format, or 'dot' for the DOT source (default: from the suffix)")
    p.add_argument("--list", action="store_true", help="list the registered models and exit")
    p.add_argument("--depth", type=int, help="collapse modules this deep into one box each "
                   "(default: the model's suggested depth)")
    p.add_argument("--full", action="store_true", help="ignore the model's suggested depth")
    p.add_argument("--rankdir", default="TB", choices=["TB", "LR", "BT", "RL"],
                   help="direction of the data flow: TB top to bottom (default), LR left to "
                   "right, BT, RL")
    p.add_argument("--max-nodes", type=int, default=500,
                   help="past this many nodes the graph collapses by module (default 500)")
    p.add_argument("--grads", action="store_true",
                   help="run backward and colour by gradient norm")
    p.add_argument("--show-saved", action="store_true", help="what each op saved for backward")
    p.add_argument("--show-values", action="store_true", help="tensor values / statistics")
    p.add_argument("--no-shapes", action="store_true", help="leave shapes and dtypes out")


def run_graph(args: argparse.Namespace) -> int:
    """Draw ``args.model`` as the options say; prints the file written (and notes on
    stderr). Raises ``KeyError`` for an unknown model, ``RuntimeError`` / ``ValueError``
    when the picture cannot be written."""
    if args.list or not args.model:
        for name, description in list_models().items():
            print(f"{name:22s} {description}")
        return 0 if args.list else 2
    sample = get_model(args.model)
    flow = None
    if args.grads:
        out = sample.output
        seed = None if np.size(raw_value(out)) == 1 else ones_like(out)  # d(sum of outputs)
        with capture_grads() as flow:
            out.backward(seed, retain_graph=args.show_saved)
    depth = args.depth if args.depth is not None or args.full else sample.depth
    dot = draw_graph(sample.output, params=sample.params, show_shapes=not args.no_shapes,
                     show_saved=args.show_saved, show_values=args.show_values, depth=depth,
                     rankdir=args.rankdir, max_nodes=args.max_nodes, grads=flow,
                     name=args.model)
    out = Path(args.output or f"{args.model}.{args.format or 'svg'}")
    fmt = args.format or (out.suffix[1:].lower() if out.suffix else "svg")
    if fmt in ("dot", "gv"):
        out.write_text(dot.source, encoding="utf-8")
    else:
        out = render(dot, out, format=fmt)
    for note in dot.notes:
        print(f"note: {note}", file=sys.stderr)
    print(out)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tinygrad_cs.viz``: an unknown model exits 2, a picture that cannot be
    written 1, each with one line on stderr."""
    p = argparse.ArgumentParser(prog="python -m tinygrad_cs.viz",
                                description="Draw the computation graph of a named model.")
    add_graph_options(p)
    try:
        return run_graph(p.parse_args(argv))
    except KeyError as error:
        print(f"error: {error.args[0]}", file=sys.stderr)
        return 2
    except (RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
