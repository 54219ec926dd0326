"""The in-place methods of ``torch.Tensor``: ``zero_``, ``fill_``, ``copy_``, ``add_`` ...
``div_``, ``clamp_``, the random fills, ``+=`` and ``t[i] = v``, and the in-place forms of
the ops (``x.exp_()``, ``x.scatter_(...)``, ...).

All go through ``_inplace``, the one in-place path: it changes the tensor's array, bumps
the storage's version (so a backward that saved this tensor raises), and changes nothing
when it raises. While the graph is recorded (the tensor or an argument requires grad), the
change runs as differentiable ops on the tensor's former self instead and the tensor takes
the result's place in the graph (``inplace_history``), as PyTorch rewrites history. As in
PyTorch, the result must keep the tensor's shape and be castable to its dtype
(``same_kind``: no float result in an integer tensor).

``Tensor`` inherits these from ``InPlaceMethods``, a mixin with no state of its own
(``masked_fill_`` lives beside ``masked_fill`` in ``tensor_methods.py``).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from . import inplace_history as _history
from . import ops
from . import random as _random
from . import versions as _versions
from .engine import Node
from .grad_mode import state as _grad_state


class InPlaceMethods:
    """Mixin of ``Tensor``: see the module docstring."""

    __slots__ = ()

    def _replace_with(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``self = self.<name>(*args, **kwargs)``, in place (see the module docstring)."""
        op = name + "_"

        def recorded(old):
            return getattr(old, name)(*args, **kwargs)
        operands = (*args, *kwargs.values())
        if self._records_inplace(operands):
            return self._inplace(None, op, recorded, operands)
        result = np.asarray(getattr(self.detach(), name)(*args, **kwargs)._data)
        if result.shape != self.shape:
            raise RuntimeError(f"{op}: the result has shape {result.shape}, which does not "
                               f"match the tensor's shape {self.shape}")
        if not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"{op}: result type {result.dtype} can't be cast to the "
                               f"desired output type {self.dtype}")
        return self._inplace(lambda d: np.copyto(d, result, casting="unsafe"), op)

    # -- the in-place path and PyTorch's basic in-place methods -------------------------
    def zero_(self) -> Any:
        return self._inplace(lambda d: d.fill(0), "zero_", lambda old: ops.mul(old, 0))

    def fill_(self, value) -> Any:
        return self._inplace(lambda d: d.fill(_raw(value)), "fill_",
                             lambda old: ops.add(ops.mul(old, 0), value), (value,))

    def copy_(self, src) -> Any:
        raw_src = src._data if isinstance(src, Node) else np.asarray(src)
        try:
            np.broadcast_to(raw_src, self.shape)
        except ValueError:
            raise RuntimeError(f"copy_: source of shape {np.shape(raw_src)} cannot be "
                               f"broadcast to {self.shape}") from None
        return self._inplace(lambda d: np.copyto(d, raw_src, casting="unsafe"), "copy_",
                             lambda old: ops.add(ops.mul(old, 0), src), (src,))

    def _records_inplace(self, operands: tuple = ()) -> bool:
        """Whether an in-place change with these operands must be recorded in the graph."""
        return _grad_state.enabled and (self.requires_grad or any(
            isinstance(o, Node) and o.requires_grad for o in operands))

    def _inplace(self, fn, op: str, recorded=None, operands: tuple = ()) -> Any:
        """Apply ``fn`` to the data array in place and bump the storage's version.

        While the graph is recorded (grad mode, and this tensor or an operand requires
        grad), the change is instead ``recorded(old)``, the same change as differentiable
        ops on the tensor's former self (``inplace_history``): ``y.add_(1)`` on a non-leaf
        works as in PyTorch. A leaf that requires grad may only be modified under
        ``no_grad`` (optimizer steps, initialisation). A tensor that an op saved
        for backward may be modified: the version bump makes that backward raise
        instead of using the changed values. If the call raises, nothing changed.
        """
        if _grad_state.tracer is not None:  # tg.compile records the change as an instruction
            return _grad_state.tracer.inplace(self, fn, op, recorded, operands)
        if self._records_inplace(operands):
            if recorded is None:
                raise RuntimeError(f"{op}: records no gradient, and this tensor or an operand "
                                   "requires grad; wrap it in `with tg.no_grad():` (or use the "
                                   "out-of-place form)")
            return _history.record_inplace(self, recorded, op)
        data = self._data
        if not data.flags.writeable:  # e.g. an expand()ed view: write to a private copy
            data = data.copy()
            fn(data)
            self._data, self._counter = data, None
        else:
            fn(data)
        _versions.bump(self)
        return self

    def _ufunc_(self, ufunc, other, op: str, differentiable) -> Any:
        raw_other = _raw(other)

        def apply(d):
            try:
                ufunc(d, raw_other, out=d, casting="same_kind")
            except ValueError:
                raise RuntimeError(f"{op}: operand of shape {np.shape(raw_other)} cannot be "
                                   f"broadcast to the tensor's shape {self.shape}") from None
            except TypeError:
                raise TypeError(f"{op}: result of dtype {np.result_type(d, raw_other)} cannot "
                                f"be stored in a {self.dtype} tensor") from None
        return self._inplace(apply, op, lambda old: differentiable(old, other), (other,))

    def add_(self, other, alpha=1) -> Any:
        """self += alpha * other, in place (also the old ``add_(alpha, other)``)."""
        return self._ufunc_(np.add, _scaled(other, alpha, "add_"), "add_", ops.add)

    def sub_(self, other, alpha=1) -> Any:
        """self -= alpha * other, in place (also the old ``sub_(alpha, other)``)."""
        return self._ufunc_(np.subtract, _scaled(other, alpha, "sub_"), "sub_", ops.sub)

    def mul_(self, other) -> Any:
        return self._ufunc_(np.multiply, other, "mul_", ops.mul)

    def div_(self, other) -> Any:
        return self._ufunc_(np.divide, other, "div_", ops.div)

    def clamp_(self, min=None, max=None) -> Any:
        return self._inplace(lambda d: np.clip(d, min, max, out=d), "clamp_",
                             lambda old: ops.clamp(old, min, max))

    def normal_(self, mean: float = 0.0, std: float = 1.0, *,
                generator: np.random.Generator | None = None) -> Any:
        """Fill with N(mean, std^2), drawn from ``generator`` or the engine's seeded one."""
        z = _draw(self, "standard_normal", generator)
        return self._inplace(lambda d: np.copyto(d, mean + std * z, casting="unsafe"), "normal_")

    def uniform_(self, from_: float = 0.0, to: float = 1.0, *,
                 generator: np.random.Generator | None = None) -> Any:
        """Fill with U(from_, to), drawn from ``generator`` or the engine's seeded one."""
        u = _draw(self, "random", generator)
        return self._inplace(lambda d: np.copyto(d, from_ + (to - from_) * u,
                                                 casting="unsafe"), "uniform_")

    def _augmented(self, ufunc, other, op: str, out_of_place):
        # ``x += y`` on a non-leaf in a recorded graph rebinds x to x + y (the same values
        # and gradients, and views of x stay valid); everywhere else it modifies x in place.
        if self.requires_grad and _grad_state.enabled and self._fn is not None:
            return out_of_place(self, other)
        return self._ufunc_(ufunc, other, op, out_of_place)

    def __iadd__(self, o): return self._augmented(np.add, o, "add_", ops.add)
    def __isub__(self, o): return self._augmented(np.subtract, o, "sub_", ops.sub)
    def __imul__(self, o): return self._augmented(np.multiply, o, "mul_", ops.mul)
    def __itruediv__(self, o): return self._augmented(np.divide, o, "div_", ops.div)

    def __setitem__(self, index, value) -> None:
        raw_value = value._data if isinstance(value, Node) else value

        def assign(d):
            d[ops.movement._normalize_index(index, d.shape)] = raw_value
        self._inplace(assign, "setitem", lambda old: ops.assign_at(old, index, value), (value,))

    # -- element-wise ----------------------------------------------------------------
    def abs_(self): return self._replace_with("abs")
    def neg_(self): return self._replace_with("neg")
    def exp_(self): return self._replace_with("exp")
    def log_(self): return self._replace_with("log")
    def log1p_(self): return self._replace_with("log1p")
    def expm1_(self): return self._replace_with("expm1")
    def sqrt_(self): return self._replace_with("sqrt")
    def rsqrt_(self): return self._replace_with("rsqrt")
    def square_(self): return self._replace_with("square")
    def reciprocal_(self): return self._replace_with("reciprocal")
    def sin_(self): return self._replace_with("sin")
    def cos_(self): return self._replace_with("cos")
    def tanh_(self): return self._replace_with("tanh")
    def sigmoid_(self): return self._replace_with("sigmoid")
    def relu_(self): return self._replace_with("relu")
    def sign_(self): return self._replace_with("sign")
    def floor_(self): return self._replace_with("floor")
    def ceil_(self): return self._replace_with("ceil")
    def trunc_(self): return self._replace_with("trunc")
    def fix_(self): return self._replace_with("trunc")
    def frac_(self): return self._replace_with("frac")
    def round_(self, *, decimals: int = 0): return self._replace_with("round", decimals=decimals)
    def pow_(self, exponent): return self._replace_with("pow", exponent)
    def remainder_(self, other): return self._replace_with("remainder", other)
    def fmod_(self, other): return self._replace_with("fmod", other)
    def floor_divide_(self, other): return self._replace_with("floor_divide", other)
    def clamp_min_(self, min): return self._replace_with("clamp_min", min)
    def clamp_max_(self, max): return self._replace_with("clamp_max", max)
    def clip_(self, min=None, max=None): return self.clamp_(min, max)

    def lerp_(self, end, weight): return self._replace_with("lerp", end, weight)

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._replace_with("addcmul", tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._replace_with("addcdiv", tensor1, tensor2, value=value)

    # -- indexing ----------------------------------------------------------------------
    def scatter_(self, dim: int, index, src=None, *, value=None, reduce=None):
        return self._replace_with("scatter", dim, index, src, value=value, reduce=reduce)

    def scatter_add_(self, dim: int, index, src):
        return self._replace_with("scatter_add", dim, index, src)

    def index_add_(self, dim: int, index, source, *, alpha=1):
        return self._replace_with("index_add", dim, index, source, alpha=alpha)

    def index_fill_(self, dim: int, index, value):
        return self._replace_with("index_fill", dim, index, value)

    def index_put_(self, indices, values, accumulate: bool = False):
        return self._replace_with("index_put", indices, values, accumulate)

    def masked_scatter_(self, mask, source):
        return self._replace_with("masked_scatter", mask, source)


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Node) else x


def _draw(t: Any, method: str, generator: np.random.Generator | None) -> np.ndarray:
    """Standard samples of ``t``'s shape, drawn in ``t``'s float dtype (other dtypes: float64)."""
    rng = generator or _random.generator()
    dtype = t.dtype if t.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    return getattr(rng, method)(t.shape, dtype=dtype)


def _scaled(other, alpha, op: str):
    """``alpha * other`` for ``add_``/``sub_``: a graph node when ``other`` requires grad,
    else raw data. Accepts PyTorch's deprecated order ``(alpha, other)`` with its warning."""
    if isinstance(alpha, Node) and not isinstance(other, Node):
        warnings.warn(f"This overload of {op} is deprecated: {op}(Number alpha, Tensor other); "
                      f"use {op}(Tensor other, *, Number alpha) instead", UserWarning,
                      stacklevel=3)
        other, alpha = alpha, other
    if alpha == 1:
        return other
    if isinstance(other, Node) and other.requires_grad:
        return ops.mul(other, alpha)
    return _raw(other) * alpha
