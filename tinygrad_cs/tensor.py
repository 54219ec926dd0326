"""``Tensor``: an n-dimensional array (numpy) that is a node of the autodiff graph.

As in PyTorch: ``t.numpy()`` is the numpy array (shared, not copied); ``t.data``
is a detached Tensor on the same storage, whose in-place changes autograd does not
track; ops on tensors record ``Function`` nodes when an input requires grad;
``t.backward()`` fills ``.grad`` (a Tensor) on leaves. In-place methods (``add_``,
``zero_``, ``x[i] = v``, ...) bump the storage's version (``versions.py``), so a
tensor changed after an op saved it makes backward raise. Methods mirror
``torch.Tensor``; each delegates to the op families in ``ops`` (the ones that take the
function's arguments unchanged, ``t.exp2()``, ``t.cumsum(dim)``, ..., are added from
``ops.TOP_LEVEL`` by ``tensor_ops.py``). Inside the engine
the raw array is ``t._data``.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from . import devices as _device
from . import dtypes, ops, tensor_ops, unsupported
from . import versions as _versions
from .engine import Node
from .grad_mode import state as _state
from .grad_mode import untraceable
from .kernels import conv_recycle as recycle
from .ops._util import constant
from .tensor_compat import CompatMethods
from .tensor_inplace import InPlaceMethods
from .tensor_methods import TorchMethods

# References to a gradient nobody else holds, inside ``_accumulate``: the engine loop's
# local and this call's argument (getrefcount's own is subtracted there).
_STEALABLE = 2


def _sole_holder(refs: int, grad: np.ndarray) -> bool:
    """Whether ``refs`` references to ``grad`` are only the backward loop's (plus, for a
    convolution result, the recycling pool's: it hands out only arrays no one else holds)."""
    return refs <= _STEALABLE or (refs == _STEALABLE + 1 and recycle.pooled(grad))


def _new(data: np.ndarray) -> Tensor:
    """A new leaf around ``data`` with no validation (the hot path)."""
    return Tensor._from_op(data)


def _to_array(data: Any, dtype=None, copy: bool = False, op: str = "tensor") -> np.ndarray:
    """Convert user data to a numpy array following torch.tensor's dtype rules."""
    if isinstance(data, Node):
        data = data._data
    if isinstance(data, (np.ndarray, np.generic)):
        arr = np.array(data, copy=copy) if copy else np.asarray(data)
    else:
        try:
            arr = np.array(data)
        except ValueError as e:
            raise ValueError(f"{op}: could not convert data to an array ({e})") from None
        if arr.dtype.kind == "f":
            # an explicit dtype converts the Python floats themselves, not a float32 rounding
            if dtype is None:
                arr = arr.astype(dtypes.get_default_dtype())
        elif arr.dtype.kind == "i":
            arr = arr.astype(np.int64)
    if dtype is not None:
        arr = arr.astype(dtypes.check(dtype, op), copy=False)
    else:
        dtypes.check(arr.dtype, op)
    return arr


class Tensor(Node, TorchMethods, InPlaceMethods, CompatMethods):
    """A numpy array with a gradient and a place in the graph.

    ``Tensor(data, requires_grad=False, dtype=None)`` wraps ``data`` (sharing a
    numpy array's memory); ``tg.tensor`` always copies.
    """

    __slots__ = ()
    __array_ufunc__ = None  # make numpy defer: ndarray * Tensor -> Tensor.__rmul__

    def __init__(self, data: Any, requires_grad: bool = False, dtype=None) -> None:
        self._init_leaf(_to_array(data, dtype))
        if requires_grad:
            self.requires_grad_(True)

    # -- engine protocol -------------------------------------------------------
    _unbroadcasts = True
    _result_type: type  # set to Tensor below the class

    @staticmethod
    def _as_data(raw):
        return raw if type(raw) is np.ndarray else np.asarray(raw)

    def _unbroadcast(self, grad):
        shape = self._data.shape
        if isinstance(grad, Node):
            return ops.sum_to(grad, shape) if grad._data.shape != shape else grad
        if type(grad) is not np.ndarray:
            grad = np.asarray(grad, dtype=self._data.dtype)
        if grad.shape != shape:
            try:
                grad = ops.sum_to(grad, shape)
            except (RuntimeError, ValueError):
                raise RuntimeError(f"backward: a gradient of shape {grad.shape} cannot be "
                                   f"reduced to the input's shape {shape}") from None
        if grad.dtype != self._data.dtype and self._data.dtype.kind == "f":
            grad = grad.astype(self._data.dtype)
        return grad

    def _fit_seed(self, gradient):
        g = _to_array(gradient, op="backward")
        if g.shape != self._data.shape:
            raise RuntimeError(f"backward: gradient has shape {g.shape} but the output has "
                               f"shape {self._data.shape}")
        return g.astype(self._data.dtype, copy=False)

    def _wrap_grad(self, grad):
        return grad if isinstance(grad, Node) else _new(np.asarray(grad))

    def _accumulate(self, grad):
        """Add one backward pass's gradient into ``.grad`` (the engine's ``_run`` calls it).

        A first gradient becomes ``.grad`` as it is when nothing else holds it: a fresh
        array of the leaf's dtype and shape, not a view, referenced only by the engine's
        loop and this call (CPython's reference count says so exactly, as in
        ``kernels/conv_recycle``; PyTorch steals such a buffer too). Otherwise ``.grad``
        gets its own copy, so it never aliases another tensor's memory.
        """
        if isinstance(grad, Node):  # create_graph: keep the gradient's graph
            self._grad = grad if self._grad is None else self._grad + grad
        elif self._grad is None:
            data = self._data
            if (type(grad) is np.ndarray and grad.base is None and grad.dtype == data.dtype
                    and grad.shape == data.shape and grad.flags.writeable
                    and _sole_holder(sys.getrefcount(grad) - 1, grad)):
                self._grad = _new(grad)
            else:
                self._grad = _new(np.array(grad, dtype=data.dtype))
        else:
            self._grad = _new(self._grad._data + grad)

    def _ones_like(self):
        return np.ones_like(self._data)

    # -- data and grad, as in PyTorch ---------------------------------------------
    @property
    def data(self) -> Tensor:
        """A detached Tensor on this tensor's storage, with its own version counter.

        Changes made through it (``p.data.add_(...)``, ``m.weight.data.normal_()``)
        are not tracked by autograd: that is what sets it apart from ``detach()``.
        ``t.data = other`` makes ``t`` use ``other``'s storage (a Tensor's, or a numpy
        array's, shared, not copied; the dtype may change, as in ``p.data =
        p.data.double()``); the shape must stay the same. Also untracked.
        """
        out = _new(self._data)
        if _state.tracer is not None:  # tg.compile: the same program value as self
            _state.tracer.alias(out, self)
        return out

    @data.setter
    def data(self, value) -> None:
        untraceable("t.data = ... (a storage swap)")
        array = value._data if isinstance(value, Node) else np.asarray(value)
        if array.shape != self._data.shape:
            raise RuntimeError(f"data: cannot assign values of shape {array.shape} to a tensor "
                               f"of shape {self._data.shape}")
        if self.requires_grad and array.dtype.kind != "f":
            raise RuntimeError(f"data: a tensor that requires grad must stay floating point, "
                               f"got dtype {array.dtype}")
        self._data = array

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward()`` (None until one reaches this leaf).

        Assignable, as in PyTorch: ``None``, or a Tensor of this tensor's shape and dtype.
        """
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad "
                                f"of type {type(value).__name__}")
            if value.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of shape {value.shape} to a "
                                   f"tensor of shape {self._data.shape}; they must be the same")
            if value.dtype != self._data.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype {value.dtype} to "
                                   f"a tensor with dtype {self._data.dtype}; they must match")
        if _state.tracer is not None:  # tg.compile: remember the .grad the call began with
            _state.tracer.grad_assigned(self)
        self._grad = value

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's storage has seen (``torch``'s ``_version``)."""
        return _versions.version(self)

    # -- basic properties ------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def T(self) -> Tensor:
        """All dims reversed (for 2-D: the transpose)."""
        return ops.permute(self, tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (batched matrix transpose)."""
        return ops.transpose(self, -1, -2)

    def size(self, dim: int | None = None):
        """The shape, or the size of one dim."""
        if dim is None:
            return self.shape
        return self.shape[ops._util.normalize_dim(dim, self.ndim, "size", self.shape)]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def numpy(self) -> np.ndarray:
        """The underlying numpy array (shared, not copied; writes to it are not tracked)."""
        if _state.tracer is not None:  # user code reading values breaks a tg.compile trace
            _state.tracer.reads_value(self, "numpy()", internal_ok=True)
        return self._data

    def item(self):
        """The single element as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"item: a Tensor with {self._data.size} elements cannot be "
                               f"converted to a Python scalar (shape {self.shape})")
        if _state.tracer is not None:
            _state.tracer.reads_value(self, "item()")
        return self._data.item()

    def tolist(self):
        if _state.tracer is not None:
            _state.tracer.reads_value(self, "tolist()")
        return self._data.tolist()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements "
                               f"(shape {self.shape}) is ambiguous")
        if _state.tracer is not None:
            _state.tracer.reads_value(self, "bool()")
        return bool(self._data)

    def __index__(self) -> int:
        """An integer tensor of one element as a Python index (``classes[labels[j]]``)."""
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index (got dtype {self.dtype}, shape {self.shape})")
        if _state.tracer is not None:
            _state.tracer.reads_value(self, "an index")
        return int(self._data.item())

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as in PyTorch."""
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return object.__format__(self, spec)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        if _state.tracer is not None:
            _state.tracer.reads_value(self, "numpy.asarray()", internal_ok=True)
        return self._data if dtype is None else self._data.astype(dtype)

    __hash__ = Node.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(")
        extra = []
        if self.dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_):
            extra.append(f"dtype={self.dtype}")
        if self._fn is not None:
            extra.append(f"grad_fn=<{self.op}Backward>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extra) + ")"

    # -- autograd ------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark a leaf as needing gradients (in place); returns ``self``."""
        if self._fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: you can only change requires_grad flags of "
                               "leaf variables (use detach() for a non-leaf)")
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only floating point tensors can require "
                               f"gradients, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> Tensor:
        """A new leaf on this tensor's storage (and version counter), cut from the graph."""
        out = _new(self._data.view())
        _versions.share(out, self)
        if _state.tracer is not None:  # tg.compile: the same program value as self
            _state.tracer.alias(out, self)
        return out

    def detach_(self) -> Tensor:
        self._fn = None
        self.requires_grad = False
        return self

    def clone(self) -> Tensor:
        """A copy that stays in the graph (gradient flows through unchanged)."""
        return ops.mul(self, 1) if self.requires_grad else constant(np.copy, self)

    def contiguous(self) -> Tensor:
        return self

    # -- conversion -------------------------------------------------------------
    def to(self, *args, dtype=None, device=None, non_blocking: bool = False,
           copy: bool = False) -> Tensor:
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (its dtype),
        with keywords as in PyTorch. Devices are CPU only; a dtype change stays in the
        graph (for floats). Returns ``self`` when nothing changes, unless ``copy``."""
        dtype = _device.parse_to(args, dtype, device, "to", Tensor)
        dtype = self.dtype if dtype is None else dtypes.check(dtype, "to")
        if dtype == self.dtype:
            return self.clone() if copy else self
        if self.requires_grad and dtype.kind == "f":
            return ops.elementwise.Cast.apply(self, dtype)
        return constant(np.ndarray.astype, self, dtype)

    # -- devices: the CPU only (see devices.py) -----------------------------------------
    @property
    def device(self) -> _device.device:
        return _device.CPU

    is_cuda = False
    is_sparse = is_sparse_csr = is_quantized = False  # dense tensors, as PyTorch reports

    def cpu(self) -> Tensor:
        """``self``: tensors already live on the CPU."""
        return self

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """Refused: tinygrad_cs runs on the CPU only."""
        _device.check("cuda" if device is None else device, "cuda")
        return self

    def type(self, dtype=None):
        """Without an argument, the type's name (``'tinygrad_cs.FloatTensor'``); with a dtype,
        ``to(dtype)``."""
        if dtype is None:
            return f"tinygrad_cs.{_TYPE_NAMES.get(self.dtype.name, self.dtype.name)}"
        return self.to(dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def bool(self):
        return self.to(dtypes.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    # -- arithmetic ---------------------------------------------------------------
    def __add__(self, o): return ops.add(self, o)
    def __radd__(self, o): return ops.add(o, self)
    def __sub__(self, o): return ops.sub(self, o)
    def __rsub__(self, o): return ops.sub(o, self)
    def __mul__(self, o): return ops.mul(self, o)
    def __rmul__(self, o): return ops.mul(o, self)
    def __truediv__(self, o): return ops.div(self, o)
    def __rtruediv__(self, o): return ops.div(o, self)
    def __pow__(self, o): return ops.pow(self, o)
    def __rpow__(self, o): return ops.pow(o, self)
    def __matmul__(self, o): return ops.matmul(self, o)
    def __rmatmul__(self, o): return ops.matmul(o, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __eq__(self, o): return ops.eq(self, o)      # elementwise, as torch
    def __ne__(self, o): return ops.ne(self, o)
    def __lt__(self, o): return ops.lt(self, o)
    def __le__(self, o): return ops.le(self, o)
    def __gt__(self, o): return ops.gt(self, o)
    def __ge__(self, o): return ops.ge(self, o)
    def __and__(self, o): return constant(np.logical_and, self, o)
    def __or__(self, o): return constant(np.logical_or, self, o)
    def __invert__(self): return constant(np.logical_not, self)
    def __getitem__(self, index): return ops.getitem(self, index)

    add, sub, mul, div, pow, matmul = (ops.add, ops.sub, ops.mul, ops.div, ops.pow, ops.matmul)
    neg, abs, exp, log, sqrt, sin, cos = (ops.neg, ops.abs, ops.exp, ops.log, ops.sqrt,
                                          ops.sin, ops.cos)
    log1p, expm1 = ops.log1p, ops.expm1
    tanh, sigmoid, relu, leaky_relu, elu, softplus = (ops.tanh, ops.sigmoid, ops.relu,
                                                      ops.leaky_relu, ops.elu, ops.softplus)
    clamp = clip = ops.clamp
    maximum, minimum, sign = ops.maximum, ops.minimum, ops.sign
    eq, ne, lt, le, gt, ge = ops.eq, ops.ne, ops.lt, ops.le, ops.gt, ops.ge

    def where(self, condition, other):
        """``torch.Tensor.where``: self where condition else other."""
        return ops.where(condition, self, other)

    # -- reductions (``axis``/``keepdims`` accepted as aliases, as torch does) ------
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.sum(self, _pick(dim, axis), _pick(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return ops.mean(self, _pick(dim, axis), _pick(keepdim, keepdims))

    def softmax(self, dim):
        return ops.softmax(self, dim)

    def log_softmax(self, dim):
        return ops.log_softmax(self, dim)

    # -- movement ------------------------------------------------------------------
    def view(self, *shape): return ops.reshape(self, *shape)

    def view_as(self, other): return ops.reshape(self, other.shape)
    def swapaxes(self, dim0, dim1): return ops.transpose(self, dim0, dim1)

    def expand_as(self, other): return ops.expand(self, other.shape)
    def split(self, split_size, dim=0): return ops.split(self, split_size, dim)


Tensor._result_type = Tensor

def _pick(value, alias):
    return value if alias is None else alias


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


tensor_ops.install(Tensor)  # t.X(...) = ops.X(t, ...) for the ops Tensor does not define
unsupported.refuse_on(Tensor)  # the names PyTorch has and tinygrad_cs leaves out say why
