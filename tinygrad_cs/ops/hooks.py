"""The two graph ops behind ``nn.Module``'s full backward hooks (``nn/hooks.py``).

A group of tensors ``x_1..x_k`` gets one *gate* node ``g = HookGate(x_1..x_k)`` (an empty
token) and each ``x_i`` is replaced by a *tap* ``x_i' = HookTap(g, x_i)`` that passes the value
through. In backward each tap parks the gradient it receives in a slot and sends only an
empty token gradient to ``g``; ``g`` was created before its taps, so it runs after all of them
and sees the whole group at once: its backward calls ``release`` (the hooks) and sends the
returned gradients on to ``x_1..x_k``.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function

__all__ = ["HookGate", "HookTap", "tap_group"]


class HookGate(Function):
    """token = Gate(x_1..x_k): an empty array; its backward returns the taps' gradients."""
    name = "BackwardHook"

    @staticmethod
    def forward(ctx, *xs, release):
        ctx.release = release
        return np.zeros(0, dtype=xs[0].dtype)

    @staticmethod
    def backward(ctx, token_grad):
        return ctx.release()


class HookTap(Function):
    """x' = Tap(token, x) = x; its gradient is parked in ``slots[i]``, not sent to x."""
    name = "BackwardHook"

    @staticmethod
    def forward(ctx, token, x, slots, i):
        ctx.slots, ctx.i = slots, i
        return x.view()  # a new array object on the same memory, like PyTorch's view

    @staticmethod
    def backward(ctx, grad):
        ctx.slots[ctx.i] = grad
        return np.zeros(0, dtype=grad.dtype), None


def tap_group(values: tuple, chosen: list, release) -> tuple[tuple, list | None]:
    """Gate ``values[i]`` for ``i`` in ``chosen`` (nodes that require grad): (new values, their
    slots), or (``values``, None) when nothing is chosen.

    ``release(chosen)`` runs in backward with the slots filled; it returns the
    gradients for ``values[i]``, ``i`` in ``chosen``.
    """
    if not chosen:
        return values, None
    slots: list = [None] * len(values)
    token = HookGate.apply(*[values[i] for i in chosen], release=lambda: release(chosen))
    out = list(values)
    for i in chosen:
        out[i] = HookTap.apply(token, values[i], slots=slots, i=i)
    return tuple(out), slots
