"""Time to build and render a 1,000-node graph: ``python -m tinygrad_cs.viz.bench``.

Two graphs of about 1,000 nodes, drawn in full (``max_nodes`` above their size):
a tensor MLP of 399 modules (one cluster each) and a scalar ``Value`` network.
For each: the time of ``draw_graph`` (walk + DOT source, no binary) and of
rendering that source to SVG with the available ``dot``; the best of ``repeat``
runs, as the renderer's start-up varies.
"""
from __future__ import annotations

import argparse
import time

import tinygrad_cs as tg

from .backend import find_dot
from .draw import draw_graph
from .examples import mlp


def tensor_graph(layers: int = 250):
    """An MLP of ``layers`` Linear layers (4 nodes per layer with its ReLU): 1,001 nodes."""
    tg.manual_seed(0)
    model = mlp([8] * (layers + 1))
    return model(tg.randn(4, 8)).sum(), model


def scalar_graph(width: int = 16):
    """micrograd's MLP(3, [width, width, 1]) on one point: 1,025 Value nodes at width 16."""
    from tinygrad_cs.nn.scalar import MLP
    tg.manual_seed(0)
    return MLP(3, [width, width, 1])([1.0, -2.0, 0.5]), None


def measure(root, params, repeat: int = 3) -> tuple[int, float, float]:
    """(nodes, seconds to build the DOT source, seconds to render it to SVG)."""
    nodes = len(tg.Graph(root))
    build, render = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        dot = draw_graph(root, params=params, max_nodes=10 * nodes)
        _ = dot.source
        t1 = time.perf_counter()
        svg = dot.pipe(format="svg")
        t2 = time.perf_counter()
        assert svg.rstrip().endswith(b"</svg>")
        build.append(t1 - t0)
        render.append(t2 - t1)
    return nodes, min(build), min(render)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tinygrad_cs.viz.bench")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    kind, path = find_dot() or ("none", "")
    print(f"renderer: {kind} ({path})")
    for name, (root, params) in [("tensor MLP, 499 modules", tensor_graph()),
                                 ("scalar Value MLP", scalar_graph())]:
        nodes, build, render = measure(root, params, args.repeat)
        print(f"{name:24s} {nodes:5d} nodes  build {build * 1e3:7.1f} ms  "
              f"render SVG {render:6.2f} s")


if __name__ == "__main__":
    main()
