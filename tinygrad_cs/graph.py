"""``tg.Graph(output)``: a read-only view of the graph behind one or more outputs.

This is the public walk that ``viz``, anomaly reports and tests use instead of
private attributes. Every node reachable from the outputs through op inputs
is included (also constants that do not require grad), in topological order.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from .engine import Node


class NodeInfo(NamedTuple):
    """What ``Graph`` reports about one node."""
    index: int            # position in topological order
    op: str | None        # op name, None for leaves
    shape: tuple
    dtype: str
    scope: str            # module path that created it ("" at top level)
    name: str | None      # user label (t.name / Value label)
    is_leaf: bool
    requires_grad: bool


class Graph:
    """Nodes, edges and topological order of the graph that produced ``outputs``."""

    def __init__(self, outputs) -> None:
        roots = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
        for r in roots:
            if not isinstance(r, Node):
                raise TypeError(f"Graph: expected Tensor or Value outputs, got {type(r).__name__}")
        self.outputs: list[Node] = roots
        self.nodes: list[Node] = _walk(roots)
        self._index = {id(n): i for i, n in enumerate(self.nodes)}

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __contains__(self, node: Node) -> bool:
        return id(node) in self._index

    def index(self, node: Node) -> int:
        """Position of ``node`` in topological order."""
        return self._index[id(node)]

    @property
    def order(self) -> list[Node]:
        """Nodes in topological order: every node after all of its inputs."""
        return self.nodes

    @property
    def edges(self) -> list[tuple[Node, Node]]:
        """(input, output) pairs, one per op argument (repeated inputs repeat)."""
        return [(p, n) for n in self.nodes for p in n.parents]

    @property
    def leaves(self) -> list[Node]:
        return [n for n in self.nodes if n.is_leaf]

    @property
    def ops(self) -> list[str]:
        """Op name of every non-leaf node, in topological order."""
        return [n.op for n in self.nodes if not n.is_leaf]

    def info(self, node: Node) -> NodeInfo:
        """Op, shape, dtype, scope and label of ``node``."""
        return NodeInfo(self.index(node), node.op, tuple(getattr(node, "shape", ())),
                        str(getattr(node, "dtype", "")), node.scope or "", node.name,
                        node.is_leaf, node.requires_grad)

    def __repr__(self) -> str:
        return f"Graph({len(self.nodes)} nodes, {len(self.edges)} edges)"


def raw_value(x: Any) -> Any:
    """The raw value behind a graph node: a Tensor's numpy array, a Value's float.

    Anything else (a raw gradient, a constant) is returned as it is. This is what
    ``Context.saved_tensors`` holds in a plain backward, so ``raw_value(node) is
    saved`` tells whether an op saved that node.
    """
    return x._data if isinstance(x, Node) else x


def _walk(roots: list[Node]) -> list[Node]:
    """Iterative post-order DFS: inputs before the nodes computed from them."""
    order: list[Node] = []
    seen: set[int] = set()
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in reversed(node.parents):
            if id(parent) not in seen:
                stack.append((parent, False))
    return order
