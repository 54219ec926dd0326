"""Measure the gradient flowing through every node of a backward pass.

Usage::

    with viz.capture_grads() as flow:      # observes every backward inside the block
        loss.backward()
    draw_graph(loss, grads=flow)           # or grads=True: the latest capture

Without a capture, a plain ``loss.backward()`` leaves gradients only in ``.grad``: of
the leaves that require grad (parameters, inputs), of ``retain_grad()`` nodes, and of
every ``Value``. ``GradFlow.from_grads`` summarises those, and ``draw_graph(loss,
grads=True)`` falls back to it when no capture covers the graph.

Inside the block the engine calls back once per node with the node's total
gradient (``tg.autodiff.observe_gradients``). Only a summary is kept (``GradStat``:
L2 norm, max and mean |g|, share of zeros, finite or not), never the gradient
itself, and nodes are held by weak reference, so capturing keeps no graph alive.

ReLU-like nodes also get their *dead* statistics: where a ReLU's output is 0 its
input receives no gradient, so ``zero_share`` is the share of elements whose
gradient the ReLU blocks, and ``dead_share`` the share of units (features or
channels) whose output is 0 for every sample of the batch.
"""
from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np

from tinygrad_cs.autodiff import observe_gradients
from tinygrad_cs.graph import raw_value

__all__ = ["RELU_LIKE", "GradFlow", "GradStat", "capture_grads", "latest_capture"]

# Ops whose backward zeroes the gradient wherever the output is 0 (dead units).
RELU_LIKE = frozenset({"ReLU", "ReLU6", "relu", "relu6"})


class GradStat(NamedTuple):
    """Summary of one node's gradient g (n elements).

    norm = sqrt(sum g^2); max_abs = max |g|; mean_abs = sum |g| / n; zero_share =
    share of g == 0 (for ReLU-like nodes: of the gradient passed to the input);
    dead_share = share of units never active in the batch (ReLU-like nodes, else None).
    """
    norm: float
    max_abs: float
    mean_abs: float
    zero_share: float
    numel: int
    finite: bool
    dead_share: float | None = None


def summarize(node: Any, grad: Any) -> GradStat:
    """The ``GradStat`` of ``grad``, the total gradient of ``node``."""
    g = np.asarray(raw_value(grad), dtype=np.float64)
    finite = bool(np.isfinite(g).all())
    dead = None
    if node.op in RELU_LIKE:
        active = np.asarray(raw_value(node)) > 0
        g = np.where(active, g, 0.0)  # what the ReLU hands back to its input
        dead = _dead_share(active)
    a = np.abs(g)
    n = max(a.size, 1)
    return GradStat(norm=float(np.sqrt(np.sum(a * a))), max_abs=float(a.max(initial=0.0)),
                    mean_abs=float(a.sum() / n), zero_share=float(np.count_nonzero(a == 0) / n),
                    numel=int(a.size), finite=finite, dead_share=dead)


def _dead_share(active: np.ndarray) -> float:
    """Share of units inactive for all samples: axis 0 is the batch when ndim >= 2."""
    if active.ndim >= 2:
        ever = active.any(axis=0)
        if active.ndim > 2:  # (N, C, H, W): a channel is dead when no position fires
            ever = ever.reshape(ever.shape[0], -1).any(axis=1)
    else:
        ever = active.reshape(-1)
    return float(1.0 - ever.mean()) if ever.size else 0.0


class GradFlow:
    """Gradient summaries of the nodes seen by one capture, looked up by node.

    ``reference`` is the norm of the first gradient of the capture: the seed of
    the output that backward started from (1.0 for a scalar loss), against which
    ``draw_graph`` judges vanishing and exploding gradients. A node reached by
    several backward passes keeps the latest summary. ``captured`` is True for a
    ``capture_grads`` block (every node the backward reached), False for
    ``from_grads`` (only the nodes whose ``.grad`` a backward left behind).
    """

    def __init__(self) -> None:
        self._stats: dict[int, tuple[weakref.ref, GradStat]] = {}
        self.reference: float | None = None
        self.captured = True

    def record(self, node: Any, grad: Any) -> None:
        """The observer callback: summarise ``grad`` and remember it for ``node``."""
        stat = summarize(node, grad)
        if self.reference is None:
            self.reference = stat.norm
        self._stats[id(node)] = (weakref.ref(node), stat)

    @classmethod
    def from_grads(cls, nodes: Iterable[Any], reference: float | None = None) -> GradFlow:
        """The summaries of the ``.grad`` that ``nodes`` hold after a plain ``backward()``.

        For tensors these are the leaves that require grad and ``retain_grad()`` nodes
        (a backward frees the others'); every ``Value`` keeps its ``.grad``.
        ``reference`` is the seed's norm when known (1.0 for a scalar loss).
        """
        flow = cls()
        flow.captured = False
        for node in nodes:
            grad = node.grad
            if grad is not None:
                flow._stats[id(node)] = (weakref.ref(node), summarize(node, grad))
        flow.reference = reference
        return flow

    def get(self, node: Any) -> GradStat | None:
        """The summary for ``node``, or None if no captured backward reached it."""
        entry = self._stats.get(id(node))
        # an id can be reused once its node is freed: the weak reference tells
        if entry is None or entry[0]() is not node:
            return None
        return entry[1]

    def __contains__(self, node: Any) -> bool:
        return self.get(node) is not None

    def __len__(self) -> int:
        return sum(1 for ref, _ in self._stats.values() if ref() is not None)

    def __repr__(self) -> str:
        kind = "" if self.captured else " from .grad"
        return f"GradFlow({len(self)} nodes{kind}, reference norm {self.reference})"


_latest: list[GradFlow] = []  # the most recent capture, for draw_graph(grads=True)


@contextmanager
def capture_grads() -> Iterator[GradFlow]:
    """Record a ``GradStat`` for every node reached by the backward passes in the block."""
    flow = GradFlow()
    with observe_gradients(flow.record):
        yield flow
    _latest[:] = [flow]


def latest_capture() -> GradFlow | None:
    """The ``GradFlow`` of the most recently finished ``capture_grads`` block."""
    return _latest[0] if _latest else None
