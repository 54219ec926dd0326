"""``SequentialLR``: run schedulers one after another, switching at milestone epochs.

``SequentialLR(opt, [warmup, main], milestones=[5])`` uses ``warmup`` for
epochs 0-4 and ``main`` from epoch 5, where ``main`` starts over at its own
epoch 0 (its closed form there: ``main`` begins from the base lr, not from
wherever ``warmup`` left the lr).
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any

from ...grad_mode import untraceable
from ..optimizer import Optimizer
from .plateau import ReduceLROnPlateau
from .scheduler import LRScheduler


class SequentialLR(LRScheduler):
    """``SequentialLR(optimizer, schedulers, milestones, last_epoch=-1)``."""

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler],
                 milestones: list[int], last_epoch: int = -1) -> None:
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got none")
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                # ValueError, as PyTorch raises: the scheduler is valid, the combination is not
                raise ValueError("SequentialLR does not support ReduceLROnPlateau (its step "  # noqa: TRY004
                                 f"needs a metric), but got one at index {i}")
            if getattr(scheduler, "optimizer", None) is not optimizer:
                raise ValueError("SequentialLR expects all schedulers to belong to the same "
                                 f"optimizer, but scheduler {type(scheduler).__name__} at index "
                                 f"{i} has a different one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError("SequentialLR expects number of schedulers provided to be one more "
                             "than the number of milestone points, but got number of schedulers "
                             f"{len(schedulers)} and the number of milestones to be equal to "
                             f"{len(milestones)}")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        # Each scheduler's construction already stepped the lrs; start again from the base
        # lrs and undo those construction steps, then redo step 0 of the scheduler in charge.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_step(self._schedulers)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def step(self) -> None:
        untraceable("SequentialLR.step()")
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)  # a fresh start at its own epoch 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """This scheduler's counters plus each inner scheduler's state dict."""
        schedulers = self.__dict__.pop("_schedulers")
        try:
            state = super().state_dict()
        finally:
            self._schedulers = schedulers
        state["_schedulers"] = [s.state_dict() for s in schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        super().load_state_dict(state)
        for scheduler, saved in zip(self._schedulers, inner):
            scheduler.load_state_dict(saved)


def _undo_step(schedulers: list[LRScheduler]) -> None:
    for scheduler in schedulers:
        if isinstance(scheduler, SequentialLR):
            _undo_step(scheduler._schedulers)
        else:
            scheduler.last_epoch -= 1
