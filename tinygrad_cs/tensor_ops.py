"""``Tensor`` methods for the ops: ``t.X(*args, **kwargs)`` is ``ops.X(t, *args, **kwargs)``.

``install(Tensor)`` adds one method for every name of ``ops.TOP_LEVEL`` (each op family's
``__all__``) that PyTorch also has as a ``torch.Tensor`` method and that ``Tensor`` does not
define itself. ``Tensor`` defines only the methods whose arguments differ from the function's
(``t.sum(axis=...)``, ``t.where(condition, other)``, ``t.split(split_size)``, ...) and the
operators. So a new op becomes ``t.X`` with no line written here; ``tests/test_exports.py``
checks every op against PyTorch's ``torch.X`` and ``torch.Tensor.X``.
"""
from __future__ import annotations

from collections.abc import Callable

from . import ops

__all__ = ["FUNCTIONS_ONLY", "install"]

#: Ops PyTorch offers as ``torch.X`` (or ``F.X``) but not as a ``torch.Tensor`` method.
FUNCTIONS_ONLY = frozenset({
    "cat", "stack", "einsum", "searchsorted", "bucketize", "pad", "leaky_relu", "elu",
    "softplus", "conv1d", "conv2d", "conv_transpose2d", "max_pool2d",
})


def _method(name: str, fn: Callable) -> Callable:
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__name__, method.__qualname__ = name, f"Tensor.{name}"
    method.__doc__ = fn.__doc__
    method.__wrapped__ = fn  # inspect.signature shows the op's arguments
    return method


def install(cls: type) -> None:
    """Give ``cls`` (``Tensor``) the op methods it does not define itself."""
    for name in ops.TOP_LEVEL:
        if name not in FUNCTIONS_ONLY and not hasattr(cls, name):
            setattr(cls, name, _method(name, getattr(ops, name)))
