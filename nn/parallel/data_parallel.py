"""``nn.DataParallel(module)``: on a CPU-only machine PyTorch's runs the module as it is.

The wrapper keeps the module as ``.module`` (so parameter names and ``state_dict`` keys
gain the ``module.`` prefix, as in PyTorch, and checkpoints load the same way) and
calls it on the inputs unchanged. ``device_ids`` other than CPU raise the CPU-only error.
"""
from __future__ import annotations

from typing import Any

from tinygrad_cs.devices import check

from ..module import Module


class DataParallel(Module):
    """``DataParallel(module, device_ids=None, output_device=None, dim=0)``."""

    def __init__(self, module: Module, device_ids: Any = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        for d in [*(device_ids or []), output_device]:
            check(d if not isinstance(d, int) else f"cuda:{d}", "DataParallel")
        self.module = module
        self.dim = dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
