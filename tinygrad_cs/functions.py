"""Top-level ``torch.X`` functions that are not factories: ``torch.X(input, *args)`` is
``input.X(*args)`` for every ``Tensor`` method listed in ``METHODS`` (the same code, so
the same semantics and gradients), plus the few functions with no method form
(``is_tensor``, ``as_tensor``, ``randperm``, ``normal``, ``meshgrid``, ``hstack``,
``broadcast_tensors``, ``std_mean``, ...).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import devices as _device
from . import dtypes, ops
from .random import generator as _generator
from .random import numpy_generator as _numpy_generator
from .tensor import Tensor, _to_array

#: Tensor methods that PyTorch also offers as ``torch.X(input, ...)``.
METHODS = [
    "mm", "bmm", "t", "flip", "fliplr", "flipud", "unbind", "clone", "detach", "detach_", "numel",
    "isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit", "all", "any", "square",
    "rsqrt", "reciprocal", "lerp", "addmm", "addcmul", "addcdiv", "masked_fill", "index_select",
    "narrow", "swapaxes", "swapdims", "movedim", "moveaxis", "select", "take", "tile", "unflatten",
    "ravel", "repeat_interleave", "diag", "diagonal", "trace", "outer", "ger",
    "dot", "vdot", "inner", "mv", "dist", "absolute", "negative", "positive", "sgn", "subtract",
    "multiply", "divide", "true_divide", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "xlogy", "logit", "logaddexp", "hypot", "float_power", "isclose", "allclose", "equal",
    "logical_and", "logical_or", "logical_xor", "logical_not", "count_nonzero", "nansum",
    "nanmean", "nan_to_num", "aminmax", "bernoulli", "multinomial", "is_floating_point",
    "is_complex", "is_nonzero", "is_same_size", "is_signed", "get_device", "adjoint", "abs_",
    "neg_", "exp_", "log_", "sqrt_", "rsqrt_", "square_", "reciprocal_", "sin_", "cos_", "tanh_",
    "sigmoid_", "relu_", "floor_", "ceil_", "trunc_", "fix_", "frac_", "round_", "clamp_",
    "clamp_min_", "clamp_max_", "clip_", "log1p_", "expm1_", "zero_", "fill_",
]


def _forward(name: str):
    method = getattr(Tensor, name)

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:
        return method(input if isinstance(input, Tensor) else Tensor(input), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``torch.{name}(input, ...)``: ``input.{name}(...)``."
    return function


for _name in METHODS:
    globals()[_name] = _forward(_name)
del _name


def fill(input: Tensor, value) -> Tensor:
    """A new tensor of ``input``'s shape and dtype filled with ``value``."""
    return Tensor(np.full(input.shape, value, input.dtype))


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a Tensor (or a subclass: a Parameter)."""
    return isinstance(obj, Tensor)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    """``data`` as a Tensor, sharing memory where it can: a Tensor of that dtype is returned
    as is, a numpy array of that dtype is wrapped without a copy."""
    _device.check(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    return Tensor(_to_array(data, dtype, op="as_tensor"))


asarray = as_tensor


def randperm(n: int, *, generator=None, dtype=None, requires_grad: bool = False,
             device=None) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype``)."""
    _device.check(device, "randperm")
    rng = _generator() if generator is None else _numpy_generator(generator)
    dtype = dtypes.int64 if dtype is None else dtypes.check(dtype, "randperm")
    return Tensor(rng.permutation(int(n)).astype(dtype), requires_grad=requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None) -> Tensor:
    """Draws from N(mean, std**2): ``mean``/``std`` numbers (then ``size`` is required) or
    tensors (broadcast together)."""
    rng = _generator() if generator is None else _numpy_generator(generator)
    m, s = np.asarray(getattr(mean, "_data", mean)), np.asarray(getattr(std, "_data", std))
    shape = np.broadcast_shapes(m.shape, s.shape) if size is None else tuple(size)
    like = next((x.dtype for x in (mean, std) if isinstance(x, Tensor)),
                dtypes.get_default_dtype())
    return Tensor((m + s * rng.standard_normal(shape)).astype(like))


def empty_like(input: Tensor, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor of ``input``'s shape (filled with zeros: numpy gives no uninitialised
    memory worth exposing)."""
    _device.check(device, "empty_like")
    return Tensor(np.zeros(input.shape, dtype or input.dtype), requires_grad=requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype=None,
                 device=None) -> Tensor:
    """Integers uniform on [low, high) (one bound: [0, low)) of ``input``'s shape and dtype."""
    _device.check(device, "randint_like")
    if high is None:
        low, high = 0, low
    draw = _generator().integers(low, high, input.shape)
    return Tensor(draw.astype(dtype or input.dtype))


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (``indexing='ij'``, PyTorch's default, or ``'xy'``);
    each output is its input broadcast, so gradients flow back."""
    tensors = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)) \
        else tensors
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    sizes = [t.shape[0] if t.ndim else 1 for t in tensors]
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        order[0], order[1] = 1, 0
    shape = tuple(sizes[i] for i in order)
    grids = []
    for k, t in enumerate(tensors):
        view = [1] * len(tensors)
        view[order.index(k)] = sizes[k]
        grids.append(ops.broadcast_to(ops.reshape(t, tuple(view)), shape))
    return tuple(grids)


def broadcast_tensors(*tensors) -> tuple:
    """The tensors broadcast to their common shape."""
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(ops.broadcast_to(t, shape) for t in tensors)


def concat(tensors, dim: int = 0) -> Tensor:
    """``cat``."""
    return ops.cat(tensors, dim)


concatenate = concat


def atleast_1d(t: Tensor) -> Tensor:
    return ops.reshape(t, (1,)) if t.ndim == 0 else t


def atleast_2d(t: Tensor) -> Tensor:
    return ops.reshape(t, (1,) * (2 - t.ndim) + t.shape) if t.ndim < 2 else t


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [atleast_1d(t) for t in tensors]
    return ops.cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, 1-D tensors taken as rows."""
    return ops.cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def column_stack(tensors) -> Tensor:
    """Join as columns: 0-D and 1-D tensors become (n, 1) columns."""
    columns = [ops.reshape(t, (t.numel(), 1)) if t.ndim < 2 else t for t in tensors]
    return ops.cat(columns, 1)


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(std, mean)`` over ``dim``."""
    return (ops.std(input, dim, unbiased, keepdim, correction=correction),
            ops.mean(input, dim, keepdim))


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(var, mean)`` over ``dim``."""
    return (ops.var(input, dim, unbiased, keepdim, correction=correction),
            ops.mean(input, dim, keepdim))


def rsub(input: Tensor, other, *, alpha=1) -> Tensor:
    """other - alpha * input."""
    return ops.sub(other, input if alpha == 1 else ops.mul(input, alpha))


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, n) row/column indices of the lower triangle (row-major order)."""
    _device.check(device, "tril_indices")
    return Tensor(np.stack(np.tril_indices(row, offset, col)).astype(dtype or np.int64))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None) -> Tensor:
    """The (2, n) row/column indices of the upper triangle (row-major order)."""
    _device.check(device, "triu_indices")
    return Tensor(np.stack(np.triu_indices(row, offset, col)).astype(dtype or np.int64))


__all__ = ["as_tensor", "asarray", "atleast_1d", "atleast_2d", "broadcast_tensors",
           "column_stack", "concat", "concatenate", "empty_like", "fill", "hstack", "is_tensor",
           "meshgrid", "normal", "randint_like", "randperm", "row_stack", "rsub", "std_mean",
           "tril_indices", "triu_indices", "var_mean", "vstack"]
__all__.extend(METHODS)
