"""``draw_program``: a ``tg.compile`` program (``tinygrad_cs.compile.Program``) as a Graphviz graph.

Where ``draw_graph`` draws what one eager call recorded, this draws what a compiled function
replays: one box per instruction (its op, and each output's name, dtype and shape, and the
module scope it came from), in three clusters side by side, **forward**, **backward** and
**update**, so a learner sees exactly what backward computes next to the forward pass.

* Inputs (grey) and state (blue: parameters, buffers, ``.grad``, optimizer state, the RNG)
  are boxes outside the clusters, named like the printed program (``%3 = 0.weight``).
* An edge is one value flowing from the instruction that made it to one that reads it. An
  edge between two phases (a saved activation that backward reads, a gradient the update
  reads) is dashed and does not constrain the layout, which is what lets the backward
  cluster stand beside the forward one instead of below it.
* Writes (``program.writes``: the side effects a replay applies) are red dashed edges from
  the instruction that computed the new value back to the state box, labelled ``write``.
* An instruction whose ``fn`` carries an ``ops`` attribute (a fused kernel made by the
  passes) is one box, titled with its op (``Fused``), listing the ops it runs.
* The program's outputs end in one ``outputs`` box.

Building the DOT source needs no ``dot`` binary; ``render`` or the notebook needs one.
"""
from __future__ import annotations

from typing import Any

import graphviz
import numpy as np

from .backend import Drawing
from .labels import html, html_label

__all__ = ["draw_program"]

INPUT_FILL = "#eeeeee"
STATE_FILL = "lightblue"
WRITE_COLOR = "#cc3333"
_PHASES = {"forward": ("forward", "#f7f7f7"), "backward": ("backward", "#fdf0e0"),
           "update": ("update", "#e8f3e8")}


def _type(var: Any) -> str:
    dtype = np.dtype(var.dtype)
    return "object" if dtype.kind == "O" else f"{dtype.name}{list(var.shape)}"


def _fused_ops(fn: Any) -> list[str] | None:
    ops = getattr(fn, "ops", None)
    if ops is None:
        return None
    return [str(getattr(op, "op", op)) for op in ops]


def _instr_label(ins: Any) -> str:
    lines = [html(f"{v.name}: {_type(v)}") for v in ins.outputs]
    fused = _fused_ops(ins.fn)
    if fused is not None:
        lines.insert(0, html(" -> ".join(fused)))
    if ins.scope:
        lines.append(f"<I>{html(ins.scope)}</I>")
    return html_label(html(ins.op), lines)


def draw_program(program: Any, name: str = "program", rankdir: str = "TB") -> Drawing:
    """The DOT graph of ``program`` (see the module docstring); ``rankdir`` "TB" or "LR".

    ``program`` is a ``tinygrad_cs.compile.Program``, e.g. ``compiled.program`` after a
    ``tg.compile``d function ran once.
    """
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"draw_program: rankdir must be 'TB' or 'LR', got {rankdir!r}")
    dot = Drawing(name, graph_attr={"rankdir": rankdir, "fontname": "Helvetica",
                                    "newrank": "true"},
                  node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica",
                             "fontsize": "11", "fillcolor": "white"},
                  edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    where: dict[int, tuple[str, str]] = {}   # id(Var) -> (node id, phase of its producer)
    for k, var in enumerate(program.inputs):
        node = f"in{k}"
        label = html(f"{var.name}: {_type(var)}")
        title = html(var.label or f"input {k}")
        dot.node(node, html_label(title, [label]), fillcolor=INPUT_FILL)
        where[id(var)] = (node, "input")
    for k, var in enumerate(program.state):
        node = f"st{k}"
        title = html(var.label or var.name)
        dot.node(node, html_label(title, [html(f"{var.name}: {_type(var)}")]),
                 fillcolor=STATE_FILL)
        where[id(var)] = (node, "state")
    clusters = {}
    for phase, (title, fill) in _PHASES.items():
        cluster = graphviz.Digraph(f"cluster_{phase}")
        cluster.attr(label=title, style="filled", fillcolor=fill, color="#bbbbbb",
                     fontname="Helvetica")
        clusters[phase] = cluster
    edges = []
    for k, ins in enumerate(program.instrs):
        node = f"i{k}"
        phase = ins.phase if ins.phase in clusters else "forward"
        clusters[phase].node(node, _instr_label(ins))
        for var in ins.inputs:
            source = where.get(id(var))
            if source is not None:
                edges.append((source, node, phase, var))
        for var in ins.outputs:
            where[id(var)] = (node, phase)
    for phase in _PHASES:
        if clusters[phase].body:
            dot.subgraph(clusters[phase])
    for (source, source_phase), target, phase, var in edges:
        if source_phase in (phase, "input", "state"):
            dot.edge(source, target, tooltip=var.name)
        else:   # a value crossing phases: drawn, but free of the layout
            dot.edge(source, target, tooltip=var.name, style="dashed", constraint="false")
    if program.outputs:
        dot.node("outputs", html_label("outputs", [html(", ".join(v.name for v in
                                                                  program.outputs))]),
                 fillcolor=INPUT_FILL, shape="oval")
        for var in program.outputs:
            source = where.get(id(var))
            if source is not None:
                dot.edge(source[0], "outputs", tooltip=var.name)
    state_node = {id(v): f"st{k}" for k, v in enumerate(program.state)}
    for old, new in program.writes:
        source = where.get(id(new))
        if source is not None:
            dot.edge(source[0], state_node[id(old)], label="write", color=WRITE_COLOR,
                     fontcolor=WRITE_COLOR, style="dashed", constraint="false")
    return dot
