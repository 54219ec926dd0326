"""``LRScheduler``: the base of the learning-rate schedules.

A scheduler owns an epoch counter ``last_epoch`` and, at each ``step()``,
writes a new ``lr`` into every parameter group of its optimizer. Construction
performs step 0: it records each group's starting ``lr`` as ``initial_lr``
(``base_lrs``) and sets the learning rates of epoch 0.

Most schedules are written in *chainable* form, ``get_lr()``: the next lr as a
function of the group's current ``lr``, so that two schedulers stepping the
same optimizer compose (their factors multiply). Those with a closed form
(``lr`` as a function of ``base_lr`` and the epoch alone) also define
``_get_closed_form_lr()``, used when a step jumps to an explicit epoch.

``state_dict()`` is every attribute except the optimizer: plain numbers and
lists, so it fits a checkpoint's JSON index.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any

from ...grad_mode import untraceable
from ..optimizer import Optimizer


class LRScheduler:
    """Base class: ``LRScheduler(optimizer, last_epoch=-1)``.

    ``last_epoch=-1`` starts a fresh schedule; a value ``>= 0`` resumes one, and
    then every group must already hold its ``initial_lr``.
    """

    _is_initial = False  # True only during the construction step

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                # setdefault: a second scheduler on the same optimizer keeps the true start
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming a scheduler with last_epoch >= 0 (load the "
                                   "optimizer's state dict first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Step to epoch ``last_epoch + 1`` as the construction step."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            del self._is_initial  # back to the class default, and out of state_dict

    def get_lr(self) -> list[float]:
        """The learning rates of epoch ``last_epoch`` (already advanced), one per group."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and set the new learning rates (call after ``optimizer.step()``).

        ``epoch`` (deprecated in PyTorch, kept for ported code) jumps to that
        epoch, using the closed form where the schedule has one.
        """
        untraceable(f"{type(self).__name__}.step()")
        self._step_count += 1
        if epoch is not None:
            warnings.warn("The epoch parameter in `scheduler.step()` is deprecated; call "
                          "`scheduler.step()` without it", UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _group_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (copied: later steps leave it unchanged)."""
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``; the next ``step()`` continues the saved schedule."""
        self.__dict__.update(copy.deepcopy(state_dict))
