"""Fuzz gradients with Hypothesis outside pytest: one registered op, or any model.

The property suite (``tests/test_op_registry_fuzz.py``) and ``tgcs gradcheck`` share these::

    for entry in find_entries("conv2d"):        # conv2d[dense], conv2d[grouped], ...
        fuzz_op(entry, max_examples=50)         # gradcheck (+ gradgradcheck) per example
    fuzz_model(lambda: (model, x), max_examples=5)   # every parameter, random directions

Each drawn example must pass ``gradcheck`` (float64 central differences, the CS231n relative
error per input); the first failure is shrunk by Hypothesis to the smallest input and raised
as ``GradcheckError`` (its report names the input and the worst element).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..random import manual_seed
from ..tensor import Tensor
from .gradcheck import gradcheck, gradgradcheck
from .registry import OpEntry, entries
from .strategies import layouts, relayout

__all__ = ["FuzzReport", "as_inputs", "directional_check", "draw_args", "find_entries", "flatten_outputs",
           "fuzz_model", "fuzz_op"]


class FuzzReport(NamedTuple):
    """What a fuzz run checked: how many examples, and the worst relative error seen."""
    target: str
    examples: int
    max_rel_error: float

    def __str__(self) -> str:
        return (f"{self.target}: {self.examples} examples passed, worst relative error "
                f"{self.max_rel_error:.2e}")


def draw_args(data: Any, entry: OpEntry) -> tuple:
    """The entry's arguments drawn from ``data``, each float array in a random memory layout."""
    args = data.draw(entry.inputs, label="args")
    out = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray) and a.ndim:
            a = relayout(a, data.draw(layouts(), label=f"layout of arg {i}"))
        out.append(a)
    return tuple(out)


def as_inputs(args: tuple) -> tuple:
    """float64 arrays -> Tensors that require grad; everything else unchanged."""
    return tuple(Tensor(a, requires_grad=True)
                 if isinstance(a, np.ndarray) and a.dtype == np.float64 else a for a in args)


def find_entries(name: str) -> list[OpEntry]:
    """The registry entries of op ``name``: ``"conv2d"`` gives ``conv2d[dense]``, ... and
    ``"conv2d[dense]"`` that variant alone. ``KeyError`` listing close names when none match."""
    known = entries()
    found = [e for e in known if e.name == name or e.name.startswith(name + "[")]
    if not found:
        close = sorted({e.name.split("[")[0] for e in known if name in e.name}) or sorted(
            {e.name.split("[")[0] for e in known})
        raise KeyError(f"no registered op called {name!r}; known: {', '.join(close)}")
    return found


def _settings(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, database=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz_op(entry: OpEntry, max_examples: int = 50,
            second_order: bool | None = None) -> FuzzReport:
    """Check ``entry``'s gradient (and second derivative) on ``max_examples`` drawn inputs.

    ``second_order=None`` follows the entry's own ``second_order`` flag.
    """
    second = entry.second_order if second_order is None else second_order
    worst = [0.0]

    @_settings(max_examples)
    @given(data=st.data())
    def check(data: Any) -> None:
        inputs = as_inputs(draw_args(data, entry))
        result = gradcheck(entry.fn, inputs, eps=entry.eps, atol=entry.atol, rtol=entry.rtol)
        worst[0] = max(worst[0], result.max_rel_error)
        if second:
            gradgradcheck(entry.fn, inputs, eps=entry.eps, atol=entry.atol, rtol=entry.rtol)

    check()
    return FuzzReport(entry.name, max_examples, worst[0])


def flatten_outputs(out: Any) -> tuple:
    """A model's output as a tuple of Tensors (dicts and nested tuples flattened)."""
    if isinstance(out, dict):
        out = tuple(out.values())
    if isinstance(out, (tuple, list)):
        return tuple(t for part in out for t in flatten_outputs(part))
    return (out,) if isinstance(out, Tensor) else ()


def directional_check(fn: Callable[[], Any], params: tuple, rng: np.random.Generator,
                      eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3) -> float:
    """One random-direction gradient check of all ``params`` at once; the relative error.

    With fixed random weights ``r`` on the outputs, ``L(theta) = sum_k r_k y_k(theta)``; for a
    random unit direction ``v`` over every parameter element, the analytic directional
    derivative ``<dL/dtheta, v>`` (one backward pass) must match the central difference
    ``(L(theta + eps v) - L(theta - eps v)) / (2 eps)`` (PyTorch's ``fast_mode`` idea: two
    extra forwards instead of two per parameter element). Raises ``GradcheckError``-like
    ``AssertionError`` naming both numbers when ``|a - n| > atol + rtol |n|``.
    """
    outputs = flatten_outputs(fn())
    weights = [rng.standard_normal(t.shape) for t in outputs]

    def loss() -> Any:
        total = None
        for t, w in zip(flatten_outputs(fn()), weights):
            term = (t * Tensor(w)).sum()
            total = term if total is None else total + term
        return total

    for p in params:
        p.grad = None
    loss().backward()
    directions = [rng.standard_normal(p.shape) for p in params]
    norm = np.sqrt(sum(float((d * d).sum()) for d in directions))
    directions = [d / norm for d in directions]
    analytic = sum(float((p.grad.numpy() * d).sum()) if p.grad is not None else 0.0
                   for p, d in zip(params, directions))
    saved = [p.numpy().copy() for p in params]
    try:
        for p, d, c in zip(params, directions, saved):
            p.data = c + eps * d
        plus = float(loss().item())
        for p, d, c in zip(params, directions, saved):
            p.data = c - eps * d
        minus = float(loss().item())
    finally:
        for p, c in zip(params, saved):
            p.data = c
    numeric = (plus - minus) / (2 * eps)
    error = abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-300)
    if abs(analytic - numeric) > atol + rtol * abs(numeric):
        raise AssertionError(f"directional derivative over {len(params)} parameters: analytic "
                             f"{analytic!r} vs central difference {numeric!r} (relative error "
                             f"{error:.3g})")
    return error


def fuzz_model(make: Callable[[], tuple[Any, Any]], max_examples: int = 5,
               name: str = "model", full: bool = False, atol: float = 1e-5,
               rtol: float = 1e-3) -> FuzzReport:
    """Check the gradients of ``make()``'s model with respect to every parameter.

    ``make()`` returns ``(model, example_input)``; for each example Hypothesis draws a seed,
    the model and its input are made under ``tg.manual_seed(seed)`` and cast to float64
    (integer inputs such as token ids pass unchanged). ``full=False`` runs three
    random-direction checks (``directional_check``) per example, which costs a few forward
    passes whatever the model's size; ``full=True`` runs ``gradcheck`` on every parameter
    element (two forwards per element: for tiny models only).
    """
    worst = [0.0]

    @_settings(max_examples)
    @given(seed=st.integers(0, 2**31 - 1))
    def check(seed: int) -> None:
        manual_seed(seed)
        model, x = make()
        model.double()
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            x = x.double()
        params = tuple(p for p in model.parameters() if p.requires_grad)
        if full:
            result = gradcheck(lambda *_: flatten_outputs(model(x)), params, atol=atol, rtol=rtol)
            worst[0] = max(worst[0], result.max_rel_error)
            return
        rng = np.random.default_rng(seed)
        for _ in range(3):
            error = directional_check(lambda: model(x), params, rng, atol=atol, rtol=rtol)
            worst[0] = max(worst[0], error)

    check()
    return FuzzReport(name, max_examples, worst[0])
