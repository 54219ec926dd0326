"""PyTorch's legacy tensor types (``torch.FloatTensor``, ``torch.LongTensor``, ...), which
older code still uses as constructors, as ``isinstance`` checks and as ``.type(...)``
targets::

    torch.FloatTensor(2, 3)          # a (2, 3) float32 tensor (zeros: nothing uninitialised)
    torch.LongTensor([1, 2, 3])      # int64 data
    x.type(torch.DoubleTensor)       # float64 (``np.dtype`` reads the type's ``dtype``)
    isinstance(x, torch.FloatTensor) # a Tensor whose dtype is float32
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from .tensor import Tensor, _to_array


class _LegacyType(type):
    """The metaclass of the legacy types: calling one makes a Tensor of its dtype."""

    dtype: np.dtype

    def __call__(cls, *args) -> Tensor:
        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            return Tensor(_to_array(args[0], cls.dtype, copy=True, op=cls.__name__))
        if not all(isinstance(a, (int, np.integer)) for a in args):
            raise TypeError(f"{cls.__name__}(): expected data (a list, array or tensor) or "
                            f"sizes (ints), got {args!r}")
        return Tensor(np.zeros(tuple(int(a) for a in args), cls.dtype))

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'tinygrad_cs.{cls.__name__}'>"


def _legacy(name: str, dtype: np.dtype) -> type:
    return _LegacyType(name, (), {"dtype": dtype, "__doc__": f"Legacy type: {dtype} tensors."})


FloatTensor = _legacy("FloatTensor", dtypes.float32)
DoubleTensor = _legacy("DoubleTensor", dtypes.float64)
HalfTensor = _legacy("HalfTensor", dtypes.float16)
LongTensor = _legacy("LongTensor", dtypes.int64)
IntTensor = _legacy("IntTensor", dtypes.int32)
ShortTensor = _legacy("ShortTensor", dtypes.int16)
CharTensor = _legacy("CharTensor", dtypes.int8)
ByteTensor = _legacy("ByteTensor", dtypes.uint8)
BoolTensor = _legacy("BoolTensor", dtypes.bool_)
