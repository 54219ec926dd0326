"""Stopping on a NaN/Inf loss, and saying where it came from.

When a loss is not finite, ``fit`` re-runs the failing batch's forward pass with a forward
hook on every module. Hooks fire when a module's forward *returns*, so the first hook that
sees a non-finite output belongs to the innermost, earliest module that produced one: that
is the layer to look at (e.g. ``layer1.0.conv1``). If every output is finite, the culprit
is either a parameter that is already non-finite or the loss computation itself.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import Tensor, no_grad

__all__ = ["TrainingDiverged", "first_nonfinite_module", "nonfinite_parameters"]


class TrainingDiverged(FloatingPointError):
    """The training loss became NaN or Inf; the message names epoch, step and layer.

    Attributes: ``epoch`` and ``batch`` (both counted from 1, the batch within its epoch),
    ``global_step`` (optimizer steps taken before this batch), ``loss`` (the value), ``module`` (path of the
    first module with a non-finite output, ``""`` for the model itself, ``None`` if none).
    """

    def __init__(self, message: str, *, epoch: int, batch: int, global_step: int,
                 loss: float, module: str | None) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.global_step = epoch, batch, global_step
        self.loss, self.module = loss, module


def _tensors(obj: Any) -> list[Tensor]:
    """The tensors inside a module's output (a tensor, or tuples/lists/dicts of them)."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors(item)]
    return []


def _finite(t: Tensor) -> bool:
    return t.dtype.kind not in "fc" or bool(np.isfinite(t.numpy()).all())


def first_nonfinite_module(model: Any, x: Tensor) -> tuple[str, str, tuple] | None:
    """Run ``model(x)`` (no grad) with forward hooks on all modules; return ``(path, class
    name, output shape)`` of the first module whose output holds NaN/Inf, else ``None``."""
    found: list[tuple[str, str, tuple]] = []

    def hook_for(path: str):
        def hook(module: Any, args: Any, output: Any) -> None:
            if not found:
                for t in _tensors(output):
                    if not _finite(t):
                        found.append((path, type(module).__name__, t.shape))
                        break
        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in model.named_modules()]
    try:
        with no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return found[0] if found else None


def nonfinite_parameters(model: Any) -> list[str]:
    """Names of the parameters and buffers that hold NaN/Inf."""
    named = list(model.named_parameters()) + list(model.named_buffers())
    return [name for name, t in named if not _finite(t)]


def diverged(model: Any, x: Tensor, loss: float, *, epoch: int, batch: int, batches: int | None,
             global_step: int) -> TrainingDiverged:
    """The ``TrainingDiverged`` to raise for a non-finite ``loss`` on batch ``x``."""
    where = (f"epoch {epoch}, batch {batch}" + (f"/{batches}" if batches else "")
             + f" (global step {global_step})")
    first = first_nonfinite_module(model, x)
    bad_params = nonfinite_parameters(model)
    params = (f"; non-finite parameters/buffers: {', '.join(bad_params[:8])}"
              + (f" and {len(bad_params) - 8} more" if len(bad_params) > 8 else "")
              if bad_params else "")
    if first is not None:
        path, kind, shape = first
        cause = (f"the first module with a non-finite output is "
                 f"{path or '<the model itself>'} ({kind}, output shape {shape}){params}")
    elif bad_params:
        cause = f"all module outputs are finite{params}"
    else:
        cause = ("all module outputs and parameters are finite: the loss itself overflowed "
                 "(try a smaller learning rate, or gradient clipping)")
    message = f"training diverged at {where}: loss = {loss}; {cause}"
    return TrainingDiverged(message, epoch=epoch, batch=batch, global_step=global_step,
                            loss=loss, module=None if first is None else first[0])
