"""Gradient checks: the engine's analytic derivatives against central finite differences.

For a function ``y = f(x_1, ..., x_k)`` (one output or a tuple of outputs,
flattened and concatenated into a vector ``y`` of length ``m``), every checked
input ``x_i`` (a leaf with ``requires_grad``, flattened to length ``n_i``) gets
two ``n_i x m`` Jacobians:

* analytic:  ``A[p, q] = d y_q / d x_i[p]``, one backward pass per output
  element ``q`` with a one-hot ``grad_outputs`` (``tg.grad``);
* numeric:   ``N[p, q] = (y_q(x_i + eps e_p) - y_q(x_i - eps e_p)) / (2 eps)``,
  the central difference, whose error is O(eps**2) for smooth ``f``.

They agree when, elementwise, ``|A - N| <= atol + rtol |N|`` (``torch.allclose``,
as ``torch.autograd.gradcheck``). Failures (and the returned result) report the
CS231n relative error ``|a - n| / max(|a|, |n|)``, worst element per input;
entries where both ``|a|`` and ``|n|`` are below ``atol`` count as 0, since
there the ratio is rounding noise.

Everything runs in float64: a checked Tensor that is not float64 raises a
``TypeError`` naming it (with eps = 1e-6, float32 rounding would swamp the
difference quotient). ``Value`` inputs are Python floats, i.e. float64.

``gradgradcheck`` applies the same check to the function
``(x, v) -> d<f(x), v>/dx`` computed with ``create_graph=True``: it tests that
the backward pass is itself correctly differentiable (second derivatives).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..autodiff import grad as _grad
from ..engine import Node
from ..grad_mode import enable_grad
from ..tensor import Tensor
from ..value import Value


class GradcheckError(RuntimeError):
    """Analytic and numeric Jacobians disagree; ``.result`` holds the full report."""

    def __init__(self, result: GradcheckResult) -> None:
        super().__init__(str(result))
        self.result = result


@dataclass(frozen=True)
class InputReport:
    """How one checked input fared.

    ``worst`` is ``(input_element, output_element, analytic, numeric)`` at the
    largest relative error (``None`` when the Jacobian is empty); ``problem``
    names a structural failure (wrong gradient shape, non-finite values).
    """

    index: int
    shape: tuple
    ok: bool
    max_rel_error: float
    max_abs_error: float
    worst: tuple | None = None
    problem: str | None = None
    label: str | None = None

    def describe(self) -> str:
        name = self.label or f"input {self.index}"
        head = (f"{name} (shape {self.shape}): max relative error "
                f"{self.max_rel_error:.3g}, max abs error {self.max_abs_error:.3g}")
        if self.problem:
            head += f" -- {self.problem}"
        if self.worst is not None and not self.ok:
            elem, out, a, n = self.worst
            head += (f"\n    worst at input element {elem}, output element {out}: "
                     f"analytic {a!r} vs numeric {n!r}")
        return head


@dataclass(frozen=True)
class GradcheckResult:
    """Outcome of ``gradcheck`` / ``gradgradcheck``; truthy when every input passed."""

    ok: bool
    inputs: tuple
    check: str = "gradcheck"

    def __bool__(self) -> bool:
        return self.ok

    @property
    def max_rel_error(self) -> float:
        """Worst CS231n relative error over all checked inputs."""
        return max((r.max_rel_error for r in self.inputs), default=0.0)

    @property
    def rel_errors(self) -> dict:
        """``{input index: worst relative error}``."""
        return {r.index: r.max_rel_error for r in self.inputs}

    def __str__(self) -> str:
        status = "passed" if self.ok else "FAILED: analytic and numeric Jacobians differ"
        lines = [f"{self.check} {status}"] + ["  " + r.describe() for r in self.inputs]
        return "\n".join(lines)


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Elementwise ``|a - n| / max(|a|, |n|)``; 0 where ``max(|a|, |n|) <= floor``."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric, dtype=np.float64)
    scale = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(a - n) / scale
    rel = np.where(scale > floor, rel, 0.0)
    return np.where(np.isnan(a) | np.isnan(n), np.inf, rel)


# -- helpers ------------------------------------------------------------------
def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _is_float_output(o: Any) -> bool:
    if isinstance(o, Value):
        return True
    if isinstance(o, Tensor):
        return o.dtype.kind == "f"
    return isinstance(o, (float, np.floating)) or (
        isinstance(o, np.ndarray) and o.dtype.kind == "f")


def _flat(o: Any) -> np.ndarray:
    """A float64 copy of an output, flattened (copied: outputs may alias inputs)."""
    data = o._data if isinstance(o, Node) else o
    return np.array(data, dtype=np.float64).reshape(-1)


def _checked(inputs: tuple) -> list[int]:
    """Positions of the inputs to check; raise for a non-float64 Tensor among them."""
    positions = []
    for i, x in enumerate(inputs):
        if not isinstance(x, Node) or not x.requires_grad:
            continue
        if isinstance(x, Tensor) and x.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} (shape {x.shape}) requires grad but has dtype "
                f"{x.dtype}; checks run in float64: pass x.double() (or a float64 tensor)")
        positions.append(i)
    if not positions:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    return positions


def _outputs(fn: Callable, inputs: tuple) -> tuple:
    return tuple(o for o in _as_tuple(fn(*inputs)) if _is_float_output(o))


def _analytic(fn: Callable, inputs: tuple, positions: list[int]):
    """Per checked input an (n_i, m) Jacobian, plus per input a shape problem (or None)."""
    outs = _outputs(fn, inputs)
    sizes = [np.size(o._data if isinstance(o, Node) else o) for o in outs]
    targets = [inputs[i] for i in positions]
    jac = [np.zeros((np.size(t._data), sum(sizes))) for t in targets]
    problems: list[str | None] = [None] * len(targets)
    col = 0
    for o, size in zip(outs, sizes):
        if not (isinstance(o, Node) and o.requires_grad):
            col += size  # a constant output: its Jacobian block is zero
            continue
        for q in range(size):
            seed = 1.0
            if isinstance(o, Tensor):
                seed = np.zeros(o.shape, dtype=o.dtype)
                seed.reshape(-1)[q] = 1.0
            grads = _grad(o, targets, grad_outputs=seed, retain_graph=True, allow_unused=True)
            for k, (t, g) in enumerate(zip(targets, grads)):
                if g is None:
                    continue
                g = np.asarray(g._data if isinstance(g, Node) else g, dtype=np.float64)
                if g.shape != np.shape(t._data):
                    problems[k] = (f"backward returned a gradient of shape {g.shape}, "
                                   f"expected {np.shape(t._data)}")
                    continue
                jac[k][:, col + q] = g.reshape(-1)
        col += size
    return jac, problems


def _numeric(fn: Callable, inputs: tuple, positions: list[int], eps: float) -> list:
    """Per checked input the (n_i, m) central-difference Jacobian.

    Tensors are perturbed in a private float64 copy swapped in for ``.data``
    (the original array, possibly a read-only or non-contiguous view, is
    restored afterwards); Values by reassigning their float.
    """
    jacobians = []
    for i in positions:
        x = inputs[i]
        original = x._data
        if isinstance(x, Tensor):
            buf = np.array(original, dtype=np.float64, order="C")
            flat = buf.reshape(-1)  # a view, since buf is C-contiguous
            x._data = buf
        rows = []
        try:
            for p in range(np.size(original)):
                if isinstance(x, Tensor):
                    centre = flat[p]
                    flat[p] = centre + eps
                    plus = _eval(fn, inputs)
                    flat[p] = centre - eps
                    minus = _eval(fn, inputs)
                    flat[p] = centre
                else:
                    x._data = original + eps
                    plus = _eval(fn, inputs)
                    x._data = original - eps
                    minus = _eval(fn, inputs)
                    x._data = original
                rows.append((plus - minus) / (2.0 * eps))
        finally:
            x._data = original
        width = rows[0].size if rows else _eval(fn, inputs).size
        jacobians.append(np.array(rows).reshape(len(rows), width))
    return jacobians


def _eval(fn: Callable, inputs: tuple) -> np.ndarray:
    outs = _outputs(fn, inputs)
    return np.concatenate([_flat(o) for o in outs]) if outs else np.zeros(0)


def _compare(inputs: tuple, positions: list[int], analytic: list, numeric: list,
             problems: list, atol: float, rtol: float) -> tuple:
    reports = []
    for k, i in enumerate(positions):
        a, n = analytic[k], numeric[k]
        problem = problems[k]
        if a.shape != n.shape:
            problem = problem or f"Jacobian shapes differ: analytic {a.shape}, numeric {n.shape}"
            reports.append(InputReport(i, np.shape(inputs[i]._data), False, np.inf, np.inf,
                                       None, problem))
            continue
        if not np.all(np.isfinite(n)):
            problem = problem or "the function is not finite near this input"
        close = np.abs(a - n) <= atol + rtol * np.abs(n)
        ok = bool(np.all(close)) and problem is None
        rel = relative_error(a, n, floor=atol)
        worst = None
        if rel.size:
            p, q = np.unravel_index(int(np.argmax(rel)), rel.shape)
            elem = np.unravel_index(p, np.shape(inputs[i]._data)) if a.shape[0] else ()
            worst = (tuple(int(e) for e in elem), int(q), float(a[p, q]), float(n[p, q]))
        reports.append(InputReport(
            index=i, shape=tuple(np.shape(inputs[i]._data)), ok=ok,
            max_rel_error=float(rel.max()) if rel.size else 0.0,
            max_abs_error=float(np.abs(a - n).max()) if rel.size else 0.0,
            worst=worst, problem=problem))
    return tuple(reports)


# -- public API -----------------------------------------------------------------
def gradcheck(fn: Callable, inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> GradcheckResult:
    """Check ``fn``'s analytic gradients against central differences (see module docstring).

    Args:
        fn: called as ``fn(*inputs)``; returns a Tensor/Value or a tuple of them
            (integer outputs, e.g. the indices of ``max(dim)``, are ignored).
        inputs: a Tensor/Value or a tuple of arguments. Tensors and Values with
            ``requires_grad`` are checked (Tensors must be float64); anything
            else is passed through unchanged. A whole model is checked by
            passing its parameters and closing over the data in ``fn``.
        eps: finite-difference step.
        atol, rtol: pass when ``|analytic - numeric| <= atol + rtol * |numeric|``.
        raise_exception: raise ``GradcheckError`` on failure instead of
            returning a falsy result.

    Returns:
        ``GradcheckResult``: ``.ok``, truthy on success (``assert gradcheck(...)``
        works), ``.rel_errors`` = worst relative error per checked input.
    """
    inputs = _as_tuple(inputs)
    positions = _checked(inputs)
    with enable_grad():
        analytic, problems = _analytic(fn, inputs, positions)
        numeric = _numeric(fn, inputs, positions, eps)
    reports = _compare(inputs, positions, analytic, numeric, problems, atol, rtol)
    result = GradcheckResult(all(r.ok for r in reports), reports, "gradcheck")
    if not result.ok and raise_exception:
        raise GradcheckError(result)
    return result


def gradgradcheck(fn: Callable, inputs: Any, grad_outputs: Sequence | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> GradcheckResult:
    """Check second derivatives: gradcheck of ``(x, v) -> sum_q v_q d y_q / d x``.

    For ``y = fn(x)`` and cotangents ``v`` (one per float output, same shape),
    the vector-Jacobian product ``g(x, v) = J(x)^T v`` is computed by
    ``tg.grad(y, x, v, create_graph=True)``, and its own Jacobians --
    ``d g / d x = sum_q v_q H_q`` (Hessians of the outputs) and
    ``d g / d v = J^T`` -- are checked by ``gradcheck``.

    ``grad_outputs`` defaults to random float64 cotangents (seeded, so a check
    is reproducible) that require grad and are checked too; given ones are
    checked only if they require grad. Other arguments as ``gradcheck``.
    """
    inputs = _as_tuple(inputs)
    positions = _checked(inputs)
    with enable_grad():
        outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(_random_like(o, rng) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outs):
        raise ValueError(f"gradgradcheck: got {len(grad_outputs)} grad_outputs for "
                         f"{len(outs)} floating-point outputs")
    n_in = len(inputs)

    def vjp(*args):
        xs, vs = args[:n_in], args[n_in:]
        targets = [xs[i] for i in positions]
        with enable_grad():
            ys = _outputs(fn, xs)
            pairs = [(y, v) for y, v in zip(ys, vs) if isinstance(y, Node) and y.requires_grad]
            if not pairs:
                return ()
            grads = _grad([y for y, _ in pairs], targets, grad_outputs=[v for _, v in pairs],
                          create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    result = gradcheck(vjp, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                       raise_exception=False)
    reports = tuple(r if r.index < n_in else replace(r, label=f"grad_outputs[{r.index - n_in}]")
                    for r in result.inputs)
    result = GradcheckResult(result.ok, reports, "gradgradcheck")
    if not result.ok and raise_exception:
        raise GradcheckError(result)
    return result


def _random_like(out: Any, rng: np.random.Generator) -> Any:
    if isinstance(out, Value):
        return Value(float(rng.standard_normal()))
    data = out._data if isinstance(out, Node) else np.asarray(out)
    return Tensor(rng.standard_normal(np.shape(data)), requires_grad=True)
