"""The in-place forms (``x.exp_()``, ``x.scatter_(...)``, ...) of ``torch.Tensor``'s ops.

Each computes its out-of-place op on a detached view of the tensor, then writes the
result into the tensor's array through ``Tensor._inplace``, the one in-place path: it
bumps the storage's version (so a backward that saved this tensor raises), and changes
nothing when it raises. While the graph is recorded (the tensor or an argument requires
grad), the out-of-place op runs on the tensor's former self instead and the tensor takes
its result's place in the graph (``inplace_history``), as PyTorch rewrites history. As in PyTorch, the result must
keep the tensor's shape and be castable to its dtype (``same_kind``: no float result in
an integer tensor).

``Tensor`` inherits these from ``InPlaceMethods``, a mixin with no state of its own.
(``add_``, ``sub_``, ``mul_``, ``div_``, ``clamp_``, ``zero_``, ``fill_``, ``copy_``,
``masked_fill_`` and the random fills live beside the operators in ``tensor.py`` and
``tensor_methods.py``.)
"""
from __future__ import annotations

from typing import Any

import numpy as np


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
