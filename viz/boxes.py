"""One function per kind of box that ``draw_graph`` draws.

* ``value_node``: micrograd's record ``label | data | grad`` and, for an op's
  output, a small ellipse with the op's name that its inputs point to;
* ``tensor_node``: the op (or the leaf's name), shape and dtype;
* ``block_node``: a collapsed module, its class, path and size;
* ``elided_node``: the nodes left out of a graph too large to draw.

With gradients (``Look.scale`` set) a box is filled by its gradient norm and
marked as ``colors`` describes; ``grad_marks`` holds that logic for every kind.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_cs import Node
from tinygrad_cs.graph import raw_value

from .colors import EXPLODING_BORDER, NAN_COLOR, GradScale
from .gradflow import RELU_LIKE, GradFlow, GradStat
from .labels import escape_record, fixed4, html, html_label, shape_text, short, values_text

__all__ = ["Look", "block_node", "edge_marks", "elided_node", "grad_marks", "saved_parts", "tensor_node",
           "value_node"]

PARAM_FILL = "lightblue"
INPUT_FILL = "#eeeeee"
BLOCK_FILL = "#dde8f5"
SAVED_FILL = "#fdd49e"


@dataclass
class Look:
    """The drawing options shared by every box."""
    show_shapes: bool = True
    show_saved: bool = False
    show_values: bool = False
    flow: GradFlow | None = None
    scale: GradScale | None = None


def grad_marks(stat: GradStat | None, look: Look, attrs: dict) -> list[str]:
    """Colour ``attrs`` by the gradient norm in ``stat``; return the label lines to add."""
    if look.scale is None or stat is None:
        return []
    scale = look.scale
    status = scale.status(stat.norm, stat.finite)
    if status == "nan":
        attrs.update(fillcolor=NAN_COLOR, fontcolor="white", color=NAN_COLOR, penwidth="2")
        return ["<B>grad NaN/Inf</B>"]
    attrs.update(fillcolor=scale.color(stat.norm), fontcolor=scale.font_color(stat.norm))
    line = f"grad norm {short(stat.norm)}"
    if status == "vanishing":
        attrs["style"] = attrs.get("style", "filled") + ",dashed"
        attrs["penwidth"] = "2"
        line += " <I>vanishing</I>"
    elif status == "exploding":
        attrs.update(color=EXPLODING_BORDER, penwidth="4")
        line += " <I>exploding</I>"
    lines = [line]
    if stat.dead_share is not None:
        lines.append(f"zero grad {stat.zero_share:.0%}, dead units {stat.dead_share:.0%}")
    return lines


def edge_marks(stat: GradStat | None, look: Look) -> dict:
    """Edge attributes for the gradient ``stat`` of the tensor an edge carries."""
    if look.scale is None or stat is None:
        return {}
    scale = look.scale
    status = scale.status(stat.norm, stat.finite)
    attrs = {"color": NAN_COLOR if status == "nan" else scale.color(stat.norm),
             "penwidth": str(scale.width(stat.norm))}
    if status == "vanishing":
        attrs["style"] = "dashed"
    return attrs


def value_node(dot, nid: str, node: Any, look: Look, is_root: bool) -> None:
    """A scalar ``Value``: record ``label | data | grad``, plus its op's ellipse."""
    label = escape_record(node.name) if node.name else ""
    attrs: dict = {"shape": "record"}
    stat = look.flow.get(node) if look.flow is not None else None
    if grad_marks(stat, look, attrs) and "style" not in attrs:
        attrs["style"] = "filled"
    if is_root:
        attrs["penwidth"] = "2"
    dot.node(nid, f"{{ {label} | data {fixed4(raw_value(node))} | grad {fixed4(raw_value(node.grad))} }}",
             **attrs)
    if node.op is None:
        return
    lines = [html(t) for t in saved_parts(node)] if look.show_saved else []
    if stat is not None and node.op in RELU_LIKE and stat.zero_share == 1.0:
        lines.append("passes no grad")
    text = html_label(html(node.op), lines, bold=False) if lines else node.op
    dot.node(f"{nid}_op", text, shape="ellipse")
    dot.edge(f"{nid}_op", nid, **(edge_marks(stat, look) if look.flow is not None else {}))


def tensor_node(dot, nid: str, node: Any, name: str | None, look: Look, is_root: bool) -> None:
    """A tensor: title (op, user name or parameter name), shape and dtype, extras."""
    if node.op is None:
        title = name or node.name or "leaf"
    else:
        title = f"{node.name} = {node.op}" if node.name else node.op
    lines = [f"{shape_text(node.shape)} {node.dtype}"] if look.show_shapes else []
    if look.show_values:
        lines += [html(t) for t in values_text(raw_value(node))]
    if look.show_saved and node.op is not None:
        lines += [html(t) for t in saved_parts(node)]
    attrs = {"shape": "box", "style": "rounded,filled", "fillcolor": "white"}
    if node.is_leaf:
        attrs.update(style="filled", fillcolor=PARAM_FILL if node.requires_grad else INPUT_FILL)
    if look.flow is not None:
        lines += grad_marks(look.flow.get(node), look, attrs)
    if is_root:
        attrs["penwidth"] = "2"
    dot.node(nid, html_label(html(title), lines), **attrs)
    if look.show_saved and node.op is not None:
        _saved_arrays(dot, nid, node)


def saved_parts(node: Any) -> list[str]:
    """What the op that made ``node`` saved for backward, in words ("saved: input 0, output")."""
    ctx = node.grad_fn
    if ctx.freed:
        return ["saved: freed by backward"]
    parts = []
    for value in ctx.saved_tensors:
        position = _input_position(ctx.inputs, value)
        if value is node or value is raw_value(node):
            parts.append("output")
        elif position is not None:
            parts.append(f"input {position}")
        elif isinstance(value, np.ndarray):
            parts.append(f"array {shape_text(value.shape)}")
        elif value is not None:
            parts.append(short(value) if isinstance(value, float) else type(value).__name__)
    return ["saved: " + ", ".join(parts)] if parts else ["saved: nothing"]


def _input_position(inputs: tuple, value: Any) -> int | None:
    """Which input ``value`` is (the node itself, or its data while not recording)."""
    for k, x in enumerate(inputs):
        if value is x or (isinstance(x, Node) and value is raw_value(x)):
            return k
    return None


def _saved_arrays(dot, nid: str, node: Any) -> None:
    """Saved arrays that are neither an input nor the output: one orange box each."""
    ctx = node.grad_fn
    if ctx.freed:
        return
    for k, value in enumerate(ctx.saved_tensors):
        if isinstance(value, np.ndarray) and value is not raw_value(node) and \
                _input_position(ctx.inputs, value) is None:
            sid = f"{nid}_saved{k}"
            dot.node(sid, f"saved\\n{shape_text(value.shape)} {value.dtype}", shape="box",
                     style="filled", fillcolor=SAVED_FILL, fontsize="9")
            dot.edge(sid, nid, style="dashed", arrowhead="none")


def block_node(dot, block: Any, look: Look, stat: GradStat | None) -> None:
    """A collapsed module: class, path, and how many ops and parameters it holds."""
    title = html(block.cls) if block.cls else "module"
    size = f"{block.ops} op{'s' if block.ops != 1 else ''}"
    if block.params:
        size += f", {block.params:,} params"
    lines = [html(block.path), size]
    attrs = {"shape": "box3d", "style": "filled", "fillcolor": BLOCK_FILL}
    if look.flow is not None:
        marks = grad_marks(stat, look, attrs)
        lines += [f"out {m}" for m in marks[:1]] + marks[1:]  # the gradient leaving it
    dot.node(block.key, html_label(title, lines), **attrs)


def elided_node(dot, key: str, count: int, note: str) -> None:
    """The box that stands for the nodes a too-large graph leaves out."""
    lines = [html(note)]
    dot.node(key, html_label(f"{count} nodes not drawn", lines), shape="note",
             style="filled", fillcolor=INPUT_FILL)
