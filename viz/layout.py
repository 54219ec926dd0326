"""What to draw: where each node lives, which modules collapse, what is left out.

Every node of ``tg.Graph(root)`` gets a *home*, the module path of the cluster
it is drawn in:

* a parameter named by ``params`` (``layer1.0.conv1.weight``) lives in its
  module (``layer1.0.conv1``);
* any other node lives in the scope that created it (``node.scope``);
* an unnamed top-level leaf that requires grad, used only inside one module,
  lives there (a weight created in ``__init__``, outside any scope).

``depth=k`` draws every module whose path has k parts (``layer1.0`` has 2) as
one box, with everything below it inside; shallower nodes stay as they are.
Past ``max_nodes`` the graph collapses by itself, to the deepest depth that
fits; when even depth 1 does not fit (or there are no scopes, as in a scalar
graph) only the ``max_nodes`` items nearest the outputs are drawn and the rest
becomes one "not drawn" box. Each such decision is written into ``notes``.
All walks are loops over ``tg.Graph``'s topological order or a queue: no recursion.
"""
from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_cs import Graph
from tinygrad_cs.graph import raw_value

__all__ = ["Block", "Plan", "make_plan", "param_names"]

ELIDED = "elided"  # DOT id of the box standing for the nodes left out


@dataclass
class Block:
    """A collapsed module: one box for all the nodes below ``path``."""
    path: str
    key: str                       # DOT node id
    cls: str | None = None         # module class, from ``params``' named_modules
    nodes: list = field(default_factory=list)
    params: int = 0                # elements of the named parameters inside

    @property
    def ops(self) -> int:
        return sum(1 for n in self.nodes if not n.is_leaf)


@dataclass
class Plan:
    """The drawing plan of one graph (see the module docstring)."""
    graph: Graph
    edges: list[tuple]             # graph.edges, computed once
    names: dict[int, str]          # id(node) -> parameter name
    classes: dict[str, str]        # module path -> class name
    home: dict[int, str]           # id(node) -> module path of its cluster
    item: dict[int, str]           # id(node) -> DOT id of the box that shows it
    blocks: dict[str, Block]       # collapsed modules by path
    depth: int | None              # the depth actually drawn (None: nothing collapsed)
    elided: list = field(default_factory=list)
    elided_ops: str = ""           # e.g. "Mul x300, Add x290, ..."
    notes: list[str] = field(default_factory=list)

    def drawn(self, node: Any) -> bool:
        """Is ``node`` drawn as a box of its own (not inside a block, not left out)?"""
        return self.item[id(node)] == node_id(self.graph.index(node))


def node_id(index: int) -> str:
    return f"n{index}"


def param_names(params: Any) -> tuple[dict[int, str], dict[str, str]]:
    """(id(tensor) -> name, module path -> class name) from a Module or a name->node dict."""
    if params is None:
        return {}, {}
    if hasattr(params, "named_parameters"):
        names = {id(p): name for name, p in params.named_parameters()}
        classes = {}
        if hasattr(params, "named_modules"):
            classes = {path: type(m).__name__ for path, m in params.named_modules()}
        return names, classes
    if isinstance(params, dict):
        return {id(p): str(name) for name, p in params.items()}, {}
    raise TypeError("draw_graph: params must be a Module (with named_parameters) or a dict "
                    f"name -> tensor, got {type(params).__name__}")


def _homes(graph: Graph, edges: list[tuple], names: dict[int, str]) -> dict[int, str]:
    used_in: dict[int, set[str]] = {}
    for parent, child in edges:
        used_in.setdefault(id(parent), set()).add(child.scope or "")
    home = {}
    for node in graph.nodes:
        key = id(node)
        if key in names:
            home[key] = names[key].rpartition(".")[0]
        elif node.scope:
            home[key] = node.scope
        else:
            scopes = used_in.get(key, set())
            single = next(iter(scopes)) if len(scopes) == 1 else ""
            home[key] = single if node.is_leaf and node.requires_grad else ""
    return home


def _level(path: str) -> int:
    return path.count(".") + 1 if path else 0


def _truncate(path: str, depth: int) -> str:
    return ".".join(path.split(".")[:depth])


def _count(levels: list[int], homes: list[str], depth: int | None) -> int:
    """How many boxes the graph has when collapsed at ``depth``."""
    if depth is None:
        return len(levels)
    blocks = {_truncate(h, depth) for h, lv in zip(homes, levels) if lv >= depth}
    return sum(1 for lv in levels if lv < depth) + len(blocks)


def make_plan(root: Any, params: Any = None, depth: int | None = None,
              max_nodes: int = 500) -> Plan:
    """Homes, collapsed blocks and left-out nodes for drawing the graph behind ``root``."""
    if depth is not None and (not isinstance(depth, int) or depth < 1):
        raise ValueError(f"draw_graph: depth must be a positive int or None, got {depth!r}")
    if max_nodes < 2:
        raise ValueError(f"draw_graph: max_nodes must be at least 2, got {max_nodes}")
    graph = Graph(root)
    edges = graph.edges
    names, classes = param_names(params)
    home = _homes(graph, edges, names)
    homes = [home[id(n)] for n in graph.nodes]
    levels = [_level(h) for h in homes]
    notes: list[str] = []
    total = len(graph.nodes)
    chosen = depth
    if _count(levels, homes, chosen) > max_nodes:
        start = chosen if chosen is not None else max(levels, default=0)
        fits = [d for d in range(start, 0, -1) if _count(levels, homes, d) <= max_nodes]
        chosen = fits[0] if fits else (1 if start >= 1 else None)
        if chosen is not None and chosen != depth:
            notes.append(f"{total} nodes exceed max_nodes={max_nodes}: modules collapsed "
                         f"at depth {chosen}")
    plan = Plan(graph, edges, names, classes, home, {}, {}, chosen, notes=notes)
    for index, node in enumerate(graph.nodes):
        path = home[id(node)]
        if chosen is not None and _level(path) >= chosen:
            prefix = _truncate(path, chosen)
            block = plan.blocks.get(prefix)
            if block is None:
                block = plan.blocks[prefix] = Block(prefix, f"m{len(plan.blocks)}",
                                                    classes.get(prefix))
            block.nodes.append(node)
            if id(node) in names:
                block.params += int(np.size(raw_value(node)))
            plan.item[id(node)] = block.key
        else:
            plan.item[id(node)] = node_id(index)
    if notes and plan.blocks:
        listed = ", ".join(f"{b.path} ({len(b.nodes)})" for b in list(plan.blocks.values())[:8])
        more = "" if len(plan.blocks) <= 8 else f" and {len(plan.blocks) - 8} more"
        notes.append(f"collapsed modules (nodes): {listed}{more}")
    if len(set(plan.item.values())) > max_nodes:
        _elide(plan, max_nodes)
    return plan


def _elide(plan: Plan, max_nodes: int) -> None:
    """Keep the ``max_nodes - 1`` boxes nearest the outputs; the rest become one box."""
    kept: set[str] = set()
    seen = {id(r) for r in plan.graph.outputs}
    queue = deque(plan.graph.outputs)
    while queue and len(kept) < max_nodes - 1:  # breadth first from the outputs
        node = queue.popleft()
        kept.add(plan.item[id(node)])
        for parent in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                queue.append(parent)
    for node in plan.graph.nodes:
        if plan.item[id(node)] not in kept:
            plan.elided.append(node)
            plan.item[id(node)] = ELIDED
    for path in [p for p, b in plan.blocks.items() if b.key not in kept]:
        del plan.blocks[path]
    ops = Counter(n.op or "leaf" for n in plan.elided)
    plan.elided_ops = ", ".join(f"{op} x{k}" for op, k in ops.most_common(4))
    if len(ops) > 4:
        plan.elided_ops += ", ..."
    plan.notes.append(f"{len(plan.graph.nodes)} nodes exceed max_nodes={max_nodes}: the "
                      f"{len(plan.elided)} nodes farthest from the output are not drawn "
                      f"({plan.elided_ops})")
