"""Gradient recording switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``.

The state is thread-local, as in PyTorch: a data-loading thread that disables
recording does not affect the training thread. The current module scope
(``tg.scope``) lives here too, so two threads running two models label their
nodes with their own module names.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _State(threading.local):
    enabled = True
    anomaly = False
    observers = ()   # callbacks fn(node, grad) run on every node's total gradient
    scope = ""       # the dotted module path new nodes are labelled with (scopes.py)
    tracer = None    # the active ``tg.compile`` tracer (compile/trace.py), else None
    # True while an op runs to be recorded by that tracer: an op whose saved values have a
    # data-dependent form (None or an array) then keeps the array form (ops/cross_entropy.py)
    in_trace = False


state = _State()


def untraceable(what: str) -> None:
    """Tell an active ``tg.compile`` trace that ``what`` is a Python side effect a replay
    would not repeat (a scheduler step, a tensor stored on a module): the trace stops and
    the compiled function runs eagerly (a graph break). No effect outside a trace."""
    if state.tracer is not None:
        state.tracer.stop(f"{what}: Python work (a side effect, or numbers computed in numpy) "
                          "that a replay would not repeat")


def is_grad_enabled() -> bool:
    """True when ops record the graph needed for backward."""
    return state.enabled


@contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    """Turn graph recording on or off inside the ``with`` block."""
    previous = state.enabled
    state.enabled = bool(mode)
    try:
        yield
    finally:
        state.enabled = previous


def no_grad():
    """``with tg.no_grad():`` ops inside record no graph (evaluation, optimizer steps)."""
    return set_grad_enabled(False)


def enable_grad():
    """``with tg.enable_grad():`` turns recording back on inside a ``no_grad`` block."""
    return set_grad_enabled(True)
