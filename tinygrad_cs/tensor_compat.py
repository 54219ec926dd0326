"""The rest of ``torch.Tensor``'s everyday surface, as compositions of the engine's ops:
PyTorch's alternative names (``multiply``, ``greater``, ``moveaxis``, ``arctan``, ...),
predicates and sizes (``is_floating_point``, ``nbytes``), shape helpers (``movedim``,
``unflatten``, ``tile``, ``repeat_interleave``, ``unfold``), small products
(``dot``, ``outer``, ``mv``, ``trace``), NaN-aware and logical reductions, and the random
fills (``bernoulli``, ``multinomial``, ``exponential_``, ``random_``).

``Tensor`` inherits them from ``CompatMethods`` (a mixin with no state of its own).
Everything differentiable here is built from ``ops``, so gradients (and second derivatives)
come from the ops it uses; predicates, indices and random draws are constants.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from . import ops
from . import random as _random
from .engine import Node
from .ops._util import constant, normalize_dim, raw
from .ops.movement import _infer_shape

AMinMaxResult = namedtuple("AMinMaxResult", ["min", "max"])  # torch.return_types.aminmax


def _rng(generator) -> np.random.Generator:
    """The numpy Generator to draw from: ``generator``'s (a tg or numpy Generator), else the
    engine's global one."""
    return _random.generator() if generator is None else _random.numpy_generator(generator)


def _dims(dims: tuple) -> tuple:
    """``(1, 2)`` or ``((1, 2),)`` as ``(1, 2)``."""
    return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims


class CompatMethods:
    """Mixin of ``Tensor``: see the module docstring."""

    __slots__ = ()

    # -- PyTorch's other names for existing ops ------------------------------------------
    def absolute(self): return ops.abs(self)
    def negative(self): return ops.neg(self)
    def positive(self): return self
    def sgn(self): return ops.sign(self)
    def multiply(self, other): return ops.mul(self, other)
    def true_divide(self, other): return ops.div(self, other)
    def greater(self, other): return ops.gt(self, other)
    def greater_equal(self, other): return ops.ge(self, other)
    def less(self, other): return ops.lt(self, other)
    def less_equal(self, other): return ops.le(self, other)
    def not_equal(self, other): return ops.ne(self, other)
    def swapdims(self, dim0, dim1): return ops.transpose(self, dim0, dim1)
    def ger(self, vec2): return self.outer(vec2)

    def subtract(self, other, *, alpha=1):
        """self - alpha * other."""
        return ops.sub(self, other if alpha == 1 else ops.mul(other, alpha))

    def divide(self, other, *, rounding_mode: str | None = None):
        """self / other; ``rounding_mode`` ``'trunc'`` or ``'floor'`` rounds the quotient
        (then with gradient 0, as PyTorch)."""
        if rounding_mode is None:
            return ops.div(self, other)
        if rounding_mode == "floor":
            return ops.floor_divide(self, other)
        if rounding_mode == "trunc":
            return ops.trunc(ops.div(self, other))
        raise ValueError(f"divide: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")


    def byte(self): return self.to(np.uint8)
    def char(self): return self.to(np.int8)
    def short(self): return self.to(np.int16)

    # -- predicates and sizes ----------------------------------------------------------------
    def is_floating_point(self) -> bool: return self.dtype.kind == "f"
    def is_complex(self) -> bool: return False
    def is_signed(self) -> bool: return self.dtype.kind in "fi"
    def is_same_size(self, other) -> bool: return self.shape == other.shape
    def get_device(self) -> int: return -1  # PyTorch's answer for a CPU tensor

    def is_nonzero(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(f"is_nonzero: Boolean value of Tensor with {self.numel()} "
                               f"elements (shape {self.shape}) is ambiguous")
        return bool(self._data.reshape(()) != 0)

    @property
    def is_cpu(self) -> bool: return True

    @property
    def is_sparse(self) -> bool: return False

    @property
    def is_quantized(self) -> bool: return False

    @property
    def nbytes(self) -> int: return int(self._data.nbytes)

    @property
    def itemsize(self) -> int: return int(self._data.itemsize)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf after ``retain_grad()`` (PyTorch's meaning)."""
        return self._fn is not None and self._retains_grad

    @property
    def H(self): return self.t()  # the conjugate transpose: real tensors only

    @property
    def mH(self): return self.mT

    def adjoint(self): return self.mT

    # -- shape helpers -------------------------------------------------------------------
    def reshape_as(self, other): return ops.reshape(self, other.shape)
    def ravel(self): return ops.reshape(self, (self.numel(),))
    def broadcast_to(self, size): return ops.broadcast_to(self, tuple(size))
    def sum_to_size(self, *size): return ops.sum_to(self, _dims(size))
    def fliplr(self): return self.flip(1)
    def flipud(self): return self.flip(0)

    def movedim(self, source, destination):
        """Dims ``source`` moved to positions ``destination`` (ints or sequences); the
        others keep their order."""
        src = source if isinstance(source, (tuple, list)) else (source,)
        dst = destination if isinstance(destination, (tuple, list)) else (destination,)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src}) "
                               f"and destination ({dst}) must have the same number of dims")
        n = self.ndim
        src = [normalize_dim(d, n, "movedim", self.shape) for d in src]
        dst = [normalize_dim(d, n, "movedim", self.shape) for d in dst]
        order = [None] * n
        for s, d in zip(src, dst):
            order[d] = s
        rest = iter(d for d in range(n) if d not in src)
        return ops.permute(self, tuple(o if o is not None else next(rest) for o in order))

    moveaxis = movedim

    def unflatten(self, dim: int, sizes):
        """Dim ``dim`` split into ``sizes`` (one entry may be -1)."""
        d = normalize_dim(dim, self.ndim, "unflatten", self.shape)
        try:
            inner = _infer_shape(tuple(sizes), (self.shape[d],))
        except RuntimeError:
            raise RuntimeError(f"unflatten: Provided sizes {tuple(sizes)} don't multiply up to "
                               f"the size of dim {dim} ({self.shape[d]}) in the input tensor "
                               f"of shape {self.shape}") from None
        return ops.reshape(self, self.shape[:d] + tuple(inner) + self.shape[d + 1:])

    def select(self, dim: int, index: int):
        """The slice at ``index`` along ``dim`` (that dim removed)."""
        d = normalize_dim(dim, self.ndim, "select", self.shape)
        return ops.getitem(self, (slice(None),) * d + (index,))

    def take(self, index):
        """The elements of the flattened tensor at ``index`` (shaped like ``index``)."""
        return ops.getitem(self.ravel(), (np.asarray(raw(index)),))

    def tile(self, *dims):
        """``repeat`` with ``dims`` padded by leading 1s to at least this many dims."""
        dims = _dims(dims)
        return ops.repeat(self, (1,) * (self.ndim - len(dims)) + tuple(dims))

    def repeat_interleave(self, repeats, dim: int | None = None):
        """Each element (``dim=None``: of the flattened tensor) repeated ``repeats`` times
        (an int, or one count per element) along ``dim``."""
        x = self.ravel() if dim is None else self
        d = 0 if dim is None else normalize_dim(dim, self.ndim, "repeat_interleave", self.shape)
        index = np.repeat(np.arange(x.shape[d]), np.asarray(raw(repeats)))
        return ops.getitem(x, (slice(None),) * d + (index,))

    def unfold(self, dimension: int, size: int, step: int):
        """All windows of ``size`` elements, ``step`` apart, along ``dimension``: that dim
        becomes the window count, and a last dim of ``size`` is added."""
        d = normalize_dim(dimension, max(self.ndim, 1), "unfold", self.shape)
        n = self.shape[d] if self.ndim else 1
        if size > n or step <= 0:
            raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but "
                               f"size is {size} (step {step} must be positive)")
        windows = np.arange((n - size) // step + 1)[:, None] * step + np.arange(size)
        out = ops.getitem(self, (slice(None),) * d + (windows,))
        return ops.permute(out, tuple(i for i in range(out.ndim) if i != d + 1) + (d + 1,))

    # -- diagonals and small products (triangles: tril/triu in tensor_methods.py) --------
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1):
        """The ``offset``-th diagonal of the (dim1, dim2) planes, as the last dim."""
        d1, d2 = (normalize_dim(d, self.ndim, "diagonal", self.shape) for d in (dim1, dim2))
        moved = self.movedim((d1, d2), (-2, -1))
        rows, cols = moved.shape[-2:]
        start_r, start_c = max(-offset, 0), max(offset, 0)
        k = max(min(rows - start_r, cols - start_c), 0)
        i = np.arange(k)
        return ops.getitem(moved, (Ellipsis, start_r + i, start_c + i))

    def diag(self, diagonal: int = 0):
        """1-D: a square matrix with this vector on its ``diagonal``-th diagonal; 2-D: that
        diagonal as a vector."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {self.shape}")
        n = self.shape[0] + abs(diagonal)
        i = np.arange(self.shape[0])
        index = (i + max(-diagonal, 0), i + max(diagonal, 0))
        return ops.add_at(self, index, (n, n))

    def trace(self):
        """Sum of the main diagonal of a 2-D tensor."""
        return ops.sum(self.diagonal())

    def outer(self, vec2):
        """out[i, j] = self[i] * vec2[j] (1-D tensors)."""
        return ops.mul(ops.unsqueeze(self, 1), ops.unsqueeze(vec2, 0))

    def dot(self, other):
        """Inner product of two 1-D tensors of the same length."""
        if self.ndim != 1 or np.ndim(raw(other)) != 1:
            raise RuntimeError(f"dot: 1D tensors expected, but got shapes {self.shape} and "
                               f"{np.shape(raw(other))}")
        return ops.matmul(self, other)

    vdot = inner = dot

    def mv(self, vec):
        """Matrix (n, m) times vector (m,)."""
        if self.ndim != 2 or np.ndim(raw(vec)) != 1:
            raise RuntimeError(f"mv: expected a 2-D matrix and a 1-D vector, got shapes "
                               f"{self.shape} and {np.shape(raw(vec))}")
        return ops.matmul(self, vec)

    def dist(self, other, p: float = 2):
        """The p-norm of self - other."""
        return ops.norm(ops.sub(self, other), p)

    # -- comparisons, logic, NaN-aware reductions ----------------------------------------------
    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        return constant(lambda a, b: np.isclose(a, b, rtol, atol, equal_nan), self, other)

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        return bool(np.allclose(self._data, raw(other), rtol, atol, equal_nan))

    def equal(self, other) -> bool:
        """True when both have the same shape and elements."""
        return bool(np.array_equal(self._data, raw(other)))

    def logical_and(self, other): return constant(np.logical_and, self, other)
    def logical_or(self, other): return constant(np.logical_or, self, other)
    def logical_xor(self, other): return constant(np.logical_xor, self, other)
    def logical_not(self): return constant(np.logical_not, self)
    def signbit(self): return constant(np.signbit, self)
    def isposinf(self): return constant(np.isposinf, self)
    def isneginf(self): return constant(np.isneginf, self)

    def count_nonzero(self, dim=None):
        return constant(lambda a: np.asarray(np.count_nonzero(a, axis=dim), np.int64), self)

    def nansum(self, dim=None, keepdim: bool = False):
        """Sum treating NaN as 0 (NaN positions get gradient 0)."""
        return ops.sum(ops.where(np.isnan(self._data), 0.0, self), dim, keepdim)

    def nanmean(self, dim=None, keepdim: bool = False):
        """Mean over the non-NaN elements."""
        count = np.sum(~np.isnan(self._data), axis=dim, keepdims=keepdim)
        return ops.div(self.nansum(dim, keepdim), count.astype(self.dtype))

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None,
                   neginf: float | None = None):
        """NaN, +inf and -inf replaced (by default: 0, the dtype's largest and smallest)."""
        info = np.finfo(self.dtype)
        out = ops.where(np.isnan(self._data), nan, self)
        out = ops.where(np.isposinf(self._data), info.max if posinf is None else posinf, out)
        return ops.where(np.isneginf(self._data), info.min if neginf is None else neginf, out)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False):
        """``(min, max)`` over ``dim`` (all elements when None)."""
        return AMinMaxResult(ops.amin(self, dim, keepdim), ops.amax(self, dim, keepdim))

    # -- element-wise functions of two tensors --------------------------------------------
    def xlogy(self, other):
        """self * log(other), and 0 where self is 0 (even where other is 0 or NaN)."""
        zero = raw(self) == 0
        return ops.where(zero, 0.0, ops.mul(self, ops.log(ops.where(zero, 1.0, other))))

    def logit(self, eps: float | None = None):
        """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when ``eps`` is given."""
        p = self if eps is None else ops.clamp(self, eps, 1.0 - eps)
        return ops.sub(ops.log(p), ops.log1p(ops.neg(p)))

    def logaddexp(self, other):
        """log(e**self + e**other), without overflow."""
        m = np.maximum(self._data, raw(other))
        m = np.where(np.isfinite(m), m, 0.0)
        return ops.add(ops.log(ops.add(ops.exp(ops.sub(self, m)), ops.exp(ops.sub(other, m)))),
                       m)

    def hypot(self, other):
        """sqrt(self**2 + other**2)."""
        return ops.sqrt(ops.add(ops.mul(self, self), ops.mul(other, other)))

    def float_power(self, exponent):
        """self ** exponent computed in float64."""
        base = self.double()
        return ops.pow(base, exponent.double() if isinstance(exponent, Node) else exponent)

    # -- random draws (the engine's seeded generator unless ``generator``) -------------------
    def bernoulli(self, *, generator=None):
        """0/1 draws with P(1) = self (in [0, 1]), in this dtype."""
        u = _rng(generator).random(self.shape)
        return self._result_type._from_op((u < self._data).astype(self.dtype))

    def bernoulli_(self, p: float = 0.5, *, generator=None):
        u = _rng(generator).random(self.shape)
        return self._inplace(lambda d: np.copyto(d, u < raw(p), casting="unsafe"), "bernoulli_")

    def exponential_(self, lambd: float = 1.0, *, generator=None):
        draw = _rng(generator).exponential(1.0 / lambd, self.shape)
        return self._inplace(lambda d: np.copyto(d, draw, casting="unsafe"), "exponential_")

    def random_(self, from_: int = 0, to: int | None = None, *, generator=None):
        """Integers uniform in [from_, to) (one argument: [0, from_))."""
        lo, hi = (0, from_) if to is None and from_ else (from_, to)
        if hi is None:
            hi = 2 ** 24 if self.dtype.kind == "f" else np.iinfo(self.dtype).max
        draw = _rng(generator).integers(lo, hi, self.shape)
        return self._inplace(lambda d: np.copyto(d, draw, casting="unsafe"), "random_")

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator=None):
        """Indices drawn from each row's categorical distribution (weights >= 0, not
        necessarily normalised): shape (num_samples,) or (rows, num_samples), int64."""
        weights = np.atleast_2d(np.asarray(self._data, dtype=np.float64))
        if self.ndim not in (1, 2) or (weights < 0).any() or not np.isfinite(weights).all():
            raise RuntimeError(f"multinomial: expected a 1-D or 2-D tensor of finite, "
                               f"non-negative weights, got shape {self.shape}")
        rng = _rng(generator)
        rows = []
        for w in weights:
            if w.sum() <= 0 or (not replacement and num_samples > np.count_nonzero(w)):
                raise RuntimeError(f"multinomial: cannot draw {num_samples} samples "
                                   f"{'with' if replacement else 'without'} replacement from "
                                   f"{np.count_nonzero(w)} categories with non-zero weight")
            rows.append(rng.choice(len(w), num_samples, replace=replacement, p=w / w.sum()))
        out = np.array(rows, dtype=np.int64)
        return self._result_type._from_op(out[0] if self.ndim == 1 else out)

    def fill_diagonal_(self, fill_value, wrap: bool = False):
        """Write ``fill_value`` on the main diagonal (all dims equal, or 2-D)."""
        return self._inplace(lambda d: np.fill_diagonal(d, fill_value, wrap=wrap),
                             "fill_diagonal_")

    def apply_(self, callable):
        """Replace every element x by ``callable(x)`` (a Python function), in place."""
        values = np.vectorize(callable, otypes=[self.dtype])(self._data)
        return self._inplace(lambda d: np.copyto(d, values), "apply_")
