"""``CosineAnnealingLR``: the lr follows half a cosine from ``base_lr`` down to ``eta_min``.

Loshchilov & Hutter's SGDR without restarts. The closed form, for epoch ``e``::

    lr(e) = eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2

Past ``T_max`` the cosine continues, rising back towards ``base_lr``, a period
of ``2 T_max``. ``step()`` uses PyTorch's recursive form, the ratio of two
consecutive closed-form values applied to the current lr, so it composes with
other schedulers; alone it gives the closed form's values up to rounding.
"""
from __future__ import annotations

import math

from ..optimizer import Optimizer
from .scheduler import LRScheduler


class CosineAnnealingLR(LRScheduler):
    """``CosineAnnealingLR(optimizer, T_max, eta_min=0.0, last_epoch=-1)``."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, period, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if (e - 1 - period) % (2 * period) == 0:
            # leaving the minimum: the ratio below would divide by 1 + cos(pi) = 0
            rise = (1 - math.cos(math.pi / period)) / 2
            return [lr + (base - lo) * rise for lr, base in zip(self._group_lrs(), self.base_lrs)]
        ratio = (1 + math.cos(math.pi * e / period)) / (1 + math.cos(math.pi * (e - 1) / period))
        return [(lr - lo) * ratio + lo for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        cos = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]
