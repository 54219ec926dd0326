"""The ``torch.Tensor`` methods that are compositions of the engine's ops: new tensors like
this one (``new_zeros``, ...), matrix products and views (``mm``, ``t``, ``narrow``,
``triu``/``tril``), and element-wise helpers (``square``, ``masked_fill``, ``index_select``,
``isnan``, ...).

``Tensor`` inherits them from ``TorchMethods`` (a mixin with no state of its own), so
``tensor.py`` keeps the engine's protocol, the data/grad semantics, in-place changes and
the operators. Every method here is built from ``ops`` (so it differentiates) or returns a
new leaf; their semantics are PyTorch's.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import devices as _device
from . import dtypes, ops
from .engine import Node


class TorchMethods:
    """Mixin of ``Tensor``: see the module docstring."""

    __slots__ = ()

    # -- tensors like this one (PyTorch's new_* methods: this dtype unless given) --------
    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> Any:
        """A copy of ``data`` as a new leaf, in this tensor's dtype unless ``dtype``."""
        _device.check(device, "new_tensor")
        array = np.array(_raw(data), dtype=self.dtype if dtype is None else dtypes.check(
            dtype, "new_tensor"))
        return type(self)(array, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None,
                 requires_grad: bool = False) -> Any:
        """A new leaf of shape ``size`` filled with ``fill_value``, in this dtype unless given."""
        _device.check(device, "new_full")
        dtype = self.dtype if dtype is None else dtypes.check(dtype, "new_full")
        return type(self)(np.full(_size(size), fill_value, dtype), requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Any:
        return self.new_full(size, 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Any:
        return self.new_full(size, 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> Any:
        return self.new_full(size, 0, dtype, device, requires_grad)

    # -- matrix products and views ----------------------------------------------------
    def mm(self, other) -> Any:
        """Matrix product of two 2-D tensors (``matmul`` without broadcasting)."""
        if self.ndim != 2 or np.ndim(_raw(other)) != 2:
            raise RuntimeError(f"mm: expected 2-D tensors, got shapes {self.shape} and "
                               f"{np.shape(_raw(other))}")
        return ops.matmul(self, other)

    def bmm(self, other) -> Any:
        """Batched matrix product of (B, n, m) and (B, m, p) tensors (no broadcasting)."""
        shape = np.shape(_raw(other))
        if self.ndim != 3 or len(shape) != 3 or shape[0] != self.shape[0]:
            raise RuntimeError(f"bmm: expected 3-D tensors with the same batch size, got "
                               f"shapes {self.shape} and {shape}")
        return ops.matmul(self, other)

    def t(self) -> Any:
        """The transpose of a tensor of at most 2 dims (0-D and 1-D: itself)."""
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dimensions, but got shape "
                               f"{self.shape}; use transpose or mT")
        return self if self.ndim < 2 else ops.transpose(self, 0, 1)

    def narrow(self, dim: int, start: int, length: int) -> Any:
        """Elements ``start .. start + length - 1`` along ``dim`` (a view, as PyTorch's)."""
        d = ops._util.normalize_dim(dim, self.ndim, "narrow", self.shape)
        size = self.shape[d]
        start = start + size if start < 0 else start
        if not (0 <= start <= size and 0 <= length <= size - start):
            raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                             f"size ({size}) of dim {dim} (shape {self.shape})")
        index = (slice(None),) * d + (slice(start, start + length),)
        return ops.getitem(self, index)

    # -- element-wise helpers, composed of the engine's ops (so they differentiate) ------
    def square(self) -> Any:
        return ops.mul(self, self)

    def reciprocal(self) -> Any:
        return ops.div(1.0, self)

    def rsqrt(self) -> Any:
        return ops.div(1.0, ops.sqrt(self))

    def lerp(self, end, weight) -> Any:
        """self + weight * (end - self)."""
        return ops.add(self, ops.mul(weight, ops.sub(end, self)))

    def addmm(self, mat1, mat2, *, beta=1, alpha=1) -> Any:
        """beta * self + alpha * (mat1 @ mat2), mat1 (n, m) and mat2 (m, p) 2-D."""
        product = type(self).mm(mat1 if isinstance(mat1, Node) else type(self)(mat1), mat2)
        return ops.add(ops.mul(beta, self), ops.mul(alpha, product))

    def masked_fill(self, mask, value) -> Any:
        """``value`` where the boolean ``mask`` (broadcast to this shape) is True."""
        mask = np.asarray(_raw(mask))
        if mask.dtype != np.bool_:
            raise RuntimeError(f"masked_fill: expected a boolean mask, got dtype {mask.dtype}")
        fill = value if isinstance(value, Node) else np.asarray(value, dtype=self.dtype)
        return ops.where(np.broadcast_to(mask, self.shape), fill, self)

    def masked_fill_(self, mask, value) -> Any:
        """In place: ``self[mask] = value`` with the mask broadcast to this shape."""
        mask = np.broadcast_to(np.asarray(_raw(mask), dtype=bool), self.shape)
        return self._inplace(lambda d: np.copyto(d, _raw(value), where=mask, casting="unsafe"),
                             "masked_fill_", lambda old: old.masked_fill(mask, value), (value,))

    def index_select(self, dim: int, index) -> Any:
        """The entries at the integer ``index`` (1-D) along ``dim``."""
        d = ops._util.normalize_dim(dim, self.ndim, "index_select", self.shape)
        index = np.asarray(_raw(index))
        if index.ndim != 1 or index.dtype.kind not in "iu":
            raise IndexError(f"index_select: index must be a 1-D integer tensor, got shape "
                             f"{index.shape} and dtype {index.dtype}")
        return ops.getitem(self, (slice(None),) * d + (index,))

    def flip(self, *dims) -> Any:
        """The entries in reverse order along each of ``dims``."""
        dims = dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        index = [slice(None)] * self.ndim
        for dim in dims:
            index[ops._util.normalize_dim(dim, self.ndim, "flip", self.shape)] = \
                slice(None, None, -1)
        return ops.getitem(self, tuple(index))

    def unbind(self, dim: int = 0) -> tuple:
        """The slices along ``dim``, each without that dim."""
        d = ops._util.normalize_dim(dim, self.ndim, "unbind", self.shape)
        return tuple(ops.getitem(self, (slice(None),) * d + (i,)) for i in range(self.shape[d]))

    def all(self, dim=None, keepdim: bool = False) -> Any:
        return self._from_op(np.asarray(np.all(self._data, axis=dim, keepdims=keepdim)))

    def any(self, dim=None, keepdim: bool = False) -> Any:
        return self._from_op(np.asarray(np.any(self._data, axis=dim, keepdims=keepdim)))

    def isnan(self) -> Any:
        return self._from_op(np.isnan(self._data))

    def isinf(self) -> Any:
        return self._from_op(np.isinf(self._data))

    def isfinite(self) -> Any:
        return self._from_op(np.isfinite(self._data))

    # -- gather / scatter / selection (ops/indexing.py, ops/sorting.py) -----------------

    def index_add(self, dim: int, index, source, *, alpha=1) -> Any:
        return ops.indexing.index_add(self, dim, index, source, alpha=alpha)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        return ops.argsort(self, dim, descending, stable)

    # -- running sums and products, differences (ops/scan.py) ---------------------------

    # -- rounding and remainders (ops/rounding.py) ---------------------------------------


    def __mod__(self, other): return ops.remainder(self, other)
    def __rmod__(self, other): return ops.remainder(other, self)
    def __floordiv__(self, other): return ops.floor_divide(self, other)
    def __rfloordiv__(self, other): return ops.floor_divide(other, self)

    def addcmul(self, tensor1, tensor2, *, value=1) -> Any:
        """self + value * tensor1 * tensor2."""
        return ops.add(self, ops.mul(ops.mul(tensor1, tensor2), value))

    def addcdiv(self, tensor1, tensor2, *, value=1) -> Any:
        """self + value * tensor1 / tensor2."""
        return ops.add(self, ops.mul(ops.div(tensor1, tensor2), value))

    # -- dtypes beyond tensor.py's float/double/long/int/bool ---------------------------
    def half(self) -> Any:
        """float16. Ops compute as numpy does in float16 (numpy rounds every op's result
        to float16; some, e.g. sums, accumulate in float16 as well), which can differ from
        PyTorch's CPU half kernels in the last bits."""
        return self.to(dtypes.float16)

    def bfloat16(self) -> Any:
        """Refused: numpy, which holds every tensor's data, has no bfloat16 dtype."""
        raise TypeError(f"bfloat16: tinygrad_cs does not support bfloat16 (numpy has no such "
                        f"dtype); use half() for float16 or float() (tensor of shape "
                        f"{self.shape})")

    def nelement(self) -> int:
        return self.numel()

    def ndimension(self) -> int:
        return self.ndim

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    def is_contiguous(self) -> bool:
        """Whether the elements lie in memory in row-major order without gaps."""
        return bool(self._data.flags.c_contiguous)


def _size(size: tuple) -> tuple:
    """``(2, 3)``, ``((2, 3),)`` or ``([2, 3],)`` as the shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)


def _raw(x: Any) -> Any:
    return x._data if isinstance(x, Node) else x
