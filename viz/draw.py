"""``draw_graph``: the computation graph behind a Value or a Tensor, as a ``graphviz.Digraph``.

The steps: ``layout.make_plan`` decides where each node lives (module clusters,
collapsed modules, left-out nodes); ``boxes`` draws each node or block inside
its cluster; edges follow ``tg.Graph``'s edges, and with gradients captured
(``capture_grads``) everything is coloured by gradient norm and a legend is added
(after a plain ``backward()``, only the leaves' ``.grad``, and the legend says so).
Building the DOT source never runs a ``dot`` binary.
"""
from __future__ import annotations

import math
from typing import Any

import graphviz
import numpy as np

from tinygrad_cs import Value
from tinygrad_cs.graph import raw_value

from .backend import Drawing, use_available_dot
from .boxes import Look, block_node, edge_marks, elided_node, tensor_node, value_node
from .colors import GradScale
from .gradflow import GradFlow, GradStat, latest_capture
from .labels import shape_text
from .layout import ELIDED, Plan, make_plan, node_id

__all__ = ["draw_graph"]

_CLUSTER_FILLS = ("#f7f7f7", "#efefef", "#e6e6e6", "#dedede")


def draw_graph(root: Any, params: Any = None, show_shapes: bool = True,
               show_saved: bool = False, show_values: bool = False, depth: int | None = None,
               rankdir: str = "TB", max_nodes: int = 500, grads: bool | GradFlow = False,
               *, vanishing: float = 1e-4, exploding: float = 1e4,
               grad_range: tuple[float, float] | None = None,
               name: str = "graph") -> Drawing:
    """The DOT graph of every node that ``root`` (a node, or a list of nodes) came from.

    ``params``: a Module or a dict name -> tensor; its names label the leaves
    (``layer1.0.conv1.weight``) and its module classes label clusters and blocks.
    ``show_shapes``: shape and dtype in each tensor box (and on edges between
    collapsed modules); ``show_saved``: what each op saved for backward;
    ``show_values``: the values of small tensors, statistics of large ones.
    ``depth=k``: each module k levels deep becomes one box. ``max_nodes``: past
    it the graph collapses by itself (see ``Drawing.notes``). ``rankdir``: "TB"
    (inputs on top) or "LR".

    ``grads``: a ``GradFlow`` from ``with capture_grads() as flow: loss.backward()``,
    or True for the latest capture of this graph, else (after a plain
    ``loss.backward()``) the ``.grad`` it left on the leaves that require grad;
    then only those are coloured, and the legend says how to colour the rest.
    Boxes and edges are coloured by gradient norm (log scale, from
    ``grad_range=(smallest, largest)`` or the graph's own span), marked vanishing
    below ``vanishing`` x the loss gradient's norm, exploding above ``exploding``
    x it, red for NaN/Inf; ReLU boxes show the share of zero gradients and of
    dead units.
    """
    plan = make_plan(root, params, depth, max_nodes)
    flow = _resolve_grads(grads, plan)
    look = Look(show_shapes, show_saved, show_values, flow,
                None if flow is None else _scale(flow, plan, vanishing, exploding, grad_range))
    dot = Drawing(name, graph_attr={"rankdir": rankdir, "fontname": "Helvetica",
                                    "fontsize": "11", "newrank": "true"},
                  node_attr={"fontname": "Helvetica", "fontsize": "11"},
                  edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    clusters = _Clusters(dot, plan)
    roots = {id(r) for r in plan.graph.outputs}
    for index, node in enumerate(plan.graph.nodes):
        if not plan.drawn(node):
            continue
        box = clusters.container(plan.home[id(node)])
        if isinstance(node, Value):
            value_node(box, node_id(index), node, look, id(node) in roots)
        else:
            tensor_node(box, node_id(index), node, plan.names.get(id(node)), look,
                        id(node) in roots)
    outputs = _block_outputs(plan)
    for block in plan.blocks.values():
        stat = None if flow is None else _worst(flow, outputs[block.key], block.nodes)
        block_node(clusters.container(block.path.rpartition(".")[0]), block, look, stat)
    if plan.elided:
        elided_node(dot, ELIDED, len(plan.elided), plan.elided_ops)
    clusters.attach()
    _draw_edges(dot, plan, look)
    if look.scale is not None:
        dot.node("legend", look.scale.legend_html(note=_uncoloured_note(flow, plan)),
                 shape="plaintext")
    if plan.notes:
        dot.attr(label="\\l".join(plan.notes) + "\\l", labelloc="t", labeljust="l")
    dot.notes = tuple(plan.notes)
    use_available_dot(required=False)  # so a notebook can display it, if a dot exists
    return dot


def _resolve_grads(grads: Any, plan: Plan) -> GradFlow | None:
    if grads is None or grads is False:
        return None
    if grads is not True and not isinstance(grads, GradFlow):
        raise TypeError("draw_graph: grads must be a GradFlow (from viz.capture_grads()), "
                        f"True or None, got {type(grads).__name__}")
    nodes = plan.graph.nodes
    if grads is not True:
        if not any(n in grads for n in nodes):
            raise RuntimeError("draw_graph: the GradFlow passed as grads= holds no node of "
                               "this graph; pass the capture of this graph's backward")
        return grads
    latest = latest_capture()
    if latest is not None and any(n in latest for n in nodes):
        return latest
    scalar = all(np.size(raw_value(out)) == 1 for out in plan.graph.outputs)
    stored = GradFlow.from_grads(nodes, reference=1.0 if scalar else None)
    if not len(stored):
        raise RuntimeError(
            "draw_graph: no gradients for this graph: call its backward() first (the "
            "leaves' .grad are then coloured), or run it inside `with "
            "tinygrad_cs.viz.capture_grads() as flow:` and pass grads=flow to colour every node")
    return stored


def _uncoloured_note(flow: GradFlow, plan: Plan) -> str | None:
    """The legend's line when ``flow`` holds only ``.grad`` and some op is left white."""
    if flow.captured or all(n in flow for n in plan.graph.nodes if not n.is_leaf):
        return None
    return ("only the leaves' .grad is coloured: run backward inside "
            "`with viz.capture_grads() as flow:` and pass grads=flow to colour the ops too")


def _scale(flow: GradFlow, plan: Plan, vanishing: float, exploding: float,
           grad_range: tuple[float, float] | None) -> GradScale:
    reference = flow.reference or 1.0
    if grad_range is not None:
        lo, hi = grad_range
        return GradScale(math.log10(lo), math.log10(hi), reference, vanishing, exploding)
    norms = [s.norm for s in map(flow.get, plan.graph.nodes) if s is not None]
    return GradScale.spanning(norms, reference=reference, vanishing=vanishing,
                              exploding=exploding)


class _Clusters:
    """One Graphviz cluster per module path, nested like the modules (no recursion)."""

    def __init__(self, dot: graphviz.Digraph, plan: Plan) -> None:
        self.dot, self.plan = dot, plan
        self.subgraphs: dict[str, graphviz.Digraph] = {}

    def container(self, path: str) -> graphviz.Digraph:
        """The cluster of ``path`` (created with its ancestors on first use); "" is the root."""
        if not path:
            return self.dot
        parts = path.split(".")
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if prefix not in self.subgraphs:
                cls = self.plan.classes.get(prefix)
                label = f"{prefix}: {cls}" if cls else prefix
                self.subgraphs[prefix] = graphviz.Digraph(
                    name=f"cluster_{len(self.subgraphs)}",
                    graph_attr={"label": label, "style": "rounded,filled", "color": "#aaaaaa",
                                "fillcolor": _CLUSTER_FILLS[(k - 1) % len(_CLUSTER_FILLS)],
                                "labeljust": "l", "fontsize": "10"})
        return self.subgraphs[path]

    def attach(self) -> None:
        """Put each cluster into its parent, deepest first (a subgraph is copied when added)."""
        order = sorted(self.subgraphs, key=lambda p: -p.count("."))
        for path in order:
            parent = path.rpartition(".")[0]
            self.container(parent).subgraph(self.subgraphs[path])


def _block_outputs(plan: Plan) -> dict[str, list]:
    """For each block, its nodes read from outside it (or that are graph outputs)."""
    outs: dict[str, list] = {b.key: [] for b in plan.blocks.values()}
    seen: set[int] = set()
    leaving = [p for p, c in plan.edges if plan.item[id(p)] != plan.item[id(c)]]
    for node in leaving + plan.graph.outputs:
        key = plan.item[id(node)]
        if key in outs and id(node) not in seen:
            seen.add(id(node))
            outs[key].append(node)
    return outs


def _worst(flow: GradFlow, outputs: list, inside: list) -> GradStat | None:
    """A block's gradient: its largest output gradient; NaN/Inf anywhere inside wins."""
    for node in inside:
        stat = flow.get(node)
        if stat is not None and not stat.finite:
            return stat
    stats = [s for s in map(flow.get, outputs) if s is not None]
    return max(stats, key=lambda s: s.norm) if stats else None


def _draw_edges(dot: graphviz.Digraph, plan: Plan, look: Look) -> None:
    """One edge per op argument; between blocks, one per distinct tensor, labelled by shape.

    An edge carries a tensor forward and that tensor's gradient backward, so with
    gradients it is coloured by the gradient of its source node.
    """
    plain = {node_id(i) for i, n in enumerate(plan.graph.nodes) if plan.drawn(n)}
    done: set[tuple] = set()
    for parent, child in plan.edges:
        src, dst = plan.item[id(parent)], plan.item[id(child)]
        if src == dst:
            continue  # inside one collapsed block
        attrs: dict = {}
        if src not in plain or dst not in plain:
            # one edge per tensor between blocks; one per pair around the left-out box
            key = (src, dst) if ELIDED in (src, dst) else (src, dst, id(parent))
            if key in done:
                continue
            done.add(key)
            if look.show_shapes and not isinstance(parent, Value) and ELIDED not in key:
                attrs["label"] = f" {shape_text(parent.shape)}"
        if dst in plain and isinstance(child, Value):
            dst = f"{dst}_op"  # a Value's inputs point at its op's ellipse
        if look.flow is not None:
            attrs.update(edge_marks(look.flow.get(parent), look))
        dot.edge(src, dst, **attrs)
