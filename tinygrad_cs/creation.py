"""Tensor factories with torch's names: ``tensor``, ``zeros``, ``randn``, ...

Float factories use the default dtype (``tg.float32`` unless changed by
``tg.set_default_dtype``); random ones draw from the seeded global generator. Each
takes PyTorch's ``device=`` keyword: ``None`` or the CPU (``tg.device``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import devices as _device
from . import dtypes
from .grad_mode import state as _state
from .random import generator
from .tensor import Tensor, _to_array


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _float(dtype, op: str) -> np.dtype:
    return dtypes.get_default_dtype() if dtype is None else dtypes.check(dtype, op)


def _make(data: np.ndarray, requires_grad: bool, constant: bool = True) -> Tensor:
    """The new tensor. ``constant``: its value depends on the arguments only (zeros,
    arange, ...), so a ``tg.compile`` trace may keep it as a program constant; a tensor
    made from user data (``tensor``) may not (the trace stops if it is used)."""
    t = Tensor(data, requires_grad=requires_grad)
    if constant and _state.tracer is not None:
        _state.tracer.constant(t)
    return t


def tensor(data: Any, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """A new tensor holding a copy of ``data`` (a numpy array keeps its dtype)."""
    _device.check(device, "tensor")
    return _make(_to_array(data, dtype, copy=True), requires_grad, constant=False)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory."""
    return Tensor(array)


def zeros(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "zeros")
    return _make(np.zeros(_shape(size), _float(dtype, "zeros")), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "ones")
    return _make(np.ones(_shape(size), _float(dtype, "ones")), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "full")
    if dtype is None and isinstance(fill_value, (bool, int)) and not isinstance(fill_value, float):
        dtype = dtypes.bool_ if isinstance(fill_value, bool) else dtypes.int64
    return _make(np.full(_shape((size,)), fill_value, _float(dtype, "full")), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "empty")
    return _make(np.empty(_shape(size), _float(dtype, "empty")), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "zeros_like")
    return _make(np.zeros(t.shape, dtype or t.dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "ones_like")
    return _make(np.ones(t.shape, dtype or t.dtype), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "full_like")
    return _make(np.full(t.shape, fill_value, dtype or t.dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None) -> Tensor:
    """[start, end) in steps; integer arguments give int64, any float the default dtype."""
    _device.check(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = dtypes.int64 if integral else dtypes.get_default_dtype()
    return _make(np.arange(start, end, step).astype(dtypes.check(dtype, "arange")), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "linspace")
    return _make(np.linspace(start, end, int(steps)).astype(_float(dtype, "linspace")),
                 requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "eye")
    return _make(np.eye(n, m, dtype=_float(dtype, "eye")), requires_grad)


def rand(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Uniform on [0, 1)."""
    _device.check(device, "rand")
    dtype = _float(dtype, "rand")
    return _make(generator().random(_shape(size)).astype(dtype), requires_grad, constant=False)


def randn(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Standard normal."""
    _device.check(device, "randn")
    dtype = _float(dtype, "randn")
    return _make(generator().standard_normal(_shape(size)).astype(dtype), requires_grad, constant=False)


def randint(low, high=None, size=(), dtype=None, device=None) -> Tensor:
    """Integers uniform on [low, high) (``randint(high, size=...)`` as torch)."""
    _device.check(device, "randint")
    if high is None:
        low, high = 0, low
    dtype = dtypes.int64 if dtype is None else dtypes.check(dtype, "randint")
    return Tensor(generator().integers(low, high, size=_shape((size,))).astype(dtype))


def randn_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "randn_like")
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False, device=None) -> Tensor:
    _device.check(device, "rand_like")
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)
