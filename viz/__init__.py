"""``tinygrad_cs.viz``: draw the computation graph behind a Value or a Tensor.

``draw_graph(root)`` walks ``tg.Graph(root)`` (the engine's public graph API)
and returns a ``graphviz.Digraph``; ``render(dot, "graph.svg")`` writes it as
SVG or PNG. In a notebook the Digraph displays itself.

Two pictures, one per engine:

* ``Value`` graphs look like micrograd's: each value is a record
  ``label | data 2.0000 | grad -3.0000``, and each op is a small ellipse
  (``Mul``, ``ReLU``, ...) between its inputs and its output.
* ``Tensor`` graphs have one box per tensor: the op that made it (or the
  leaf's name), its shape and dtype; leaves that require grad are shaded.

Rendering needs a ``dot`` executable: Graphviz's own when ``dot`` is on PATH,
otherwise the pip-installable ``graphviz-pure`` port. Building the DOT source
(``dot.source``) needs neither.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

import graphviz
from graphviz.backend import dot_command

from .. import Graph, Value

__all__ = ["draw_graph", "render"]

FORMATS = ("svg", "png")
# Where a venv's or user's console scripts live, in case it is not on PATH.
_SCRIPT_DIRS = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]


def draw_graph(root, rankdir: str = "LR", name: str = "graph") -> graphviz.Digraph:
    """The DOT graph of every node that ``root`` (a node, or a list of them) was computed from.

    ``rankdir="LR"`` draws inputs on the left and outputs on the right ("TB":
    top to bottom). Node ids follow ``tg.Graph``'s topological order.
    """
    graph = Graph(root)
    dot = graphviz.Digraph(name, graph_attr={"rankdir": rankdir},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"})
    ids = {id(node): f"n{i}" for i, node in enumerate(graph.nodes)}
    for i, node in enumerate(graph.nodes):
        nid = f"n{i}"
        if isinstance(node, Value):
            dot.node(nid, _value_label(node), shape="record")
            target = nid
            if node.op is not None:  # the op gets its own small node, micrograd style
                target = f"{nid}_op"
                dot.node(target, node.op, shape="ellipse")
                dot.edge(target, nid)
        else:
            dot.node(nid, _tensor_label(node), shape="box", style="rounded,filled",
                     fillcolor="lightblue" if node.is_leaf and node.requires_grad else "white")
            target = nid
        for parent in node.parents:
            dot.edge(ids[id(parent)], target)
    _use_available_dot(required=False)  # so a notebook can display it
    return dot


def render(dot: graphviz.Digraph, path: str | os.PathLike, format: str = "svg") -> Path:
    """Write ``dot`` as an SVG or PNG image to ``path`` (".svg"/".png" added if it has no suffix).

    Uses the system's Graphviz ``dot`` when it is on PATH, else ``graphviz-pure``.
    Returns the path written.
    """
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, got {format!r}")
    _use_available_dot(required=True)
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(f".{format}")
    path.write_bytes(dot.pipe(format=format))
    return path


def _use_available_dot(required: bool) -> None:
    """Point the graphviz package at a ``dot`` binary: Graphviz's, else graphviz-pure's."""
    if shutil.which("dot"):
        dot_command.DOT_BINARY = Path("dot")
        return
    pure = shutil.which("graphviz-pure")
    for folder in _SCRIPT_DIRS:
        candidate = Path(folder) / "graphviz-pure"
        if pure is None and candidate.is_file():
            pure = str(candidate)
    if pure is not None:
        dot_command.DOT_BINARY = Path(pure)
    elif required:
        raise RuntimeError(
            "render: no Graphviz `dot` executable found. Either install Graphviz so that `dot` "
            "is on PATH (e.g. `apt install graphviz`), or `pip install graphviz-pure` "
            "(a pip-installable port, SVG and PNG only).")


def _value_label(node: Value) -> str:
    label = _escape(node.name) if node.name else ""
    return f"{{ {label} | data {_number(node.data)} | grad {_number(node.grad)} }}"


def _tensor_label(node) -> str:
    title = node.op if node.op is not None else (node.name or "leaf")
    if node.op is not None and node.name:
        title = f"{node.name} = {title}"
    lines = [title, f"{tuple(node.shape)} {node.dtype}"]
    if node.scope:
        lines.append(f"[{node.scope}]")
    return "\\n".join(lines)


def _number(x) -> str:
    """4 decimals, as micrograd draws them; a grad that is itself a node shows its value."""
    return f"{float(getattr(x, 'data', x)):.4f}"


def _escape(text: str) -> str:
    """Escape the characters that structure a record label."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text
