"""Devices, as PyTorch code spells them: tinygrad_cs runs on the CPU only.

``tg.device("cpu")`` (or ``"cpu:0"``) is the one device; every factory takes
``device=`` and ``Tensor.to(device)`` / ``.cpu()`` accept it, so CPU code written
for PyTorch (``device = torch.device("cuda" if torch.cuda.is_available() else
"cpu")``, then ``.to(device)`` everywhere) runs unchanged. Asking for any other
device (``"cuda"``, ``"mps"``, ...) raises one clear error.
"""
from __future__ import annotations

from typing import Any


class device:
    """``device("cpu")``, ``device("cpu", 0)``, ``device("cpu:0")`` or another device.

    ``type`` is ``"cpu"``; ``index`` the given index or None. Compares equal to the
    same device and to its string form, as ``torch.device`` does.
    """

    __slots__ = ("index", "type")

    def __init__(self, spec: Any, index: int | None = None) -> None:
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or a device, got "
                            f"{type(spec).__name__}")
        kind, _, number = spec.partition(":")
        if number:
            if index is not None:
                raise RuntimeError(f"device: type {spec!r} already names an index; do not "
                                   f"pass index={index} too")
            index = int(number)
        if kind != "cpu":
            raise RuntimeError(f"device: tinygrad_cs runs on the CPU only; {spec!r} is not "
                               "available (use 'cpu', or torch.cuda.is_available() to choose)")
        if index is not None and index != 0:
            raise RuntimeError(f"device: there is one CPU device, cpu:0; got {spec!r} "
                               f"index {index}")
        self.type = kind
        self.index = index

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return (isinstance(other, device) and self.type == other.type
                and self.index == other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check(spec: Any, op: str) -> None:
    """Accept ``None`` or a CPU device spec (string or ``device``); raise for any other."""
    if spec is None or isinstance(spec, device):
        return
    try:
        device(spec)
    except (RuntimeError, TypeError) as error:
        raise type(error)(f"{op}: {error}") from None


def parse_to(args: tuple, dtype: Any, device: Any, op: str, tensor_type: type) -> Any:
    """The dtype that ``.to(...)`` asks for (``None``: keep it), from PyTorch's overloads
    ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)`` (its dtype) and the
    ``dtype=``/``device=`` keywords; raises for any device other than the CPU."""
    for arg in args:
        if isinstance(arg, tensor_type):
            dtype = arg.dtype
        elif is_device(arg):
            device = arg
        else:
            dtype = arg
    check(device, op)
    return dtype


def is_device(value: Any) -> bool:
    """Whether ``value`` names a device (a ``device`` or a string such as ``'cpu'``/``'cuda'``)."""
    if isinstance(value, device):
        return True
    return isinstance(value, str) and value.partition(":")[0] in _DEVICE_TYPES


_DEVICE_TYPES = {"cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "mtia", "privateuseone"}
