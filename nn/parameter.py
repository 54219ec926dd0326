"""``Parameter``: a tensor that a ``Module`` registers as trainable.

``nn.Parameter(data, requires_grad=True)`` is a leaf ``Tensor`` subclass sharing ``data``'s
memory; assigning one to a module attribute registers it (as with PyTorch). Ops on a
parameter give plain tensors (the engine makes every op output a ``Tensor``, whatever the
subclass of its inputs), so ``self.h = W @ x`` never registers a parameter by accident.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import Tensor, get_default_dtype


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``: a new leaf tensor on ``data``'s memory.

    ``data`` is a Tensor, numpy array or anything ``tg.tensor`` accepts; ``None`` gives an
    empty float tensor.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = np.empty(0, dtype=get_default_dtype())
        super().__init__(data.numpy() if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def is_parameter(obj: Any) -> bool:
    return isinstance(obj, Parameter)
