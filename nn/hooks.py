"""Module hooks: removable handles, and the graph plumbing behind full backward hooks.

``Module.register_full_backward_hook(hook)`` calls
``hook(module, grad_input, grad_output)`` once the gradients with respect to the
module's positional inputs are known, as PyTorch does:

* ``grad_output[j]`` = d(loss)/d(output j) (``None`` if that output got no gradient);
* ``grad_input[i]``  = d(loss)/d(input i) *through this module* (``None`` for an
  argument that is not a tensor, and for a tensor that does not require grad,
  where PyTorch passes a zero placeholder);
* a hook may return a new ``grad_input`` tuple, which replaces the gradients that
  flow on to the inputs.

How, with single-output ops only: a group of tensors ``x_1..x_k`` (the inputs, or
the outputs) gets one *gate* node ``g = Gate(x_1..x_k)`` (an empty token) and each
``x_i`` is replaced by a *tap* ``x_i' = Tap(g, x_i)`` that passes the value through.
In backward, each tap parks the gradient it receives and sends only an empty token
gradient to ``g``; ``g`` was created before its taps, so it runs after all of them and
sees the whole group at once: that is where the hook is called, and the (possibly
replaced) gradients are sent on to ``x_1..x_k``. The two ops are in ``ops/hooks.py``.
"""
from __future__ import annotations

import itertools
from typing import Any

from tinygrad_cs import Tensor, is_grad_enabled
from tinygrad_cs.ops.hooks import tap_group

_next_id = itertools.count().__next__


class RemovableHandle:
    """Returned by ``register_*_hook``: ``handle.remove()`` unregisters the hook.

    Also a context manager: the hook is removed when the ``with`` block ends.
    """

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = _next_id()

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _tap_group(values: tuple, release) -> tuple[tuple, list | None]:
    """Tap the tensors of ``values`` that require grad (``ops.hooks.tap_group``)."""
    chosen = [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]
    return tap_group(values, chosen, release)


def _as_tensor(grad: Any) -> Any:
    """A gradient as the hook sees it: a Tensor (raw in plain backward, a node with
    ``create_graph=True``), or None."""
    return grad if grad is None or isinstance(grad, Tensor) else Tensor(grad)


def _as_grad(grad: Any) -> Any:
    """A gradient returned by a hook, in the form the running backward pass uses."""
    if isinstance(grad, Tensor) and not is_grad_enabled():
        return grad.numpy()
    return grad


class BackwardHookState:
    """One forward call's full backward hooks: taps its inputs and its outputs."""

    def __init__(self, module: Any, hooks: list) -> None:
        self.module, self.hooks = module, hooks
        self.n_inputs = 0
        self.in_slots: list | None = None
        self.out_slots: list | None = None
        self.grad_output: tuple = ()

    def setup_inputs(self, args: tuple) -> tuple:
        """Replace the positional tensor inputs by taps (before ``forward``)."""
        self.n_inputs = len(args)
        if not is_grad_enabled():
            return args
        args, self.in_slots = _tap_group(args, self._input_grads)
        return args

    def setup_outputs(self, output: Any) -> Any:
        """Replace the output tensor(s) by taps (after ``forward`` and forward hooks)."""
        if not is_grad_enabled():
            return output
        single = not isinstance(output, tuple)
        outs, self.out_slots = _tap_group((output,) if single else output, self._output_grads)
        return outs[0] if single else outs

    def _output_grads(self, chosen: list) -> tuple:
        grads = tuple(self.out_slots)
        self.out_slots[:] = [None] * len(grads)  # drop references (create_graph cycles)
        self.grad_output = tuple(_as_tensor(g) for g in grads)
        if self.in_slots is None:  # no input needs a gradient: the hooks run now
            self._call_hooks((None,) * self.n_inputs)
        return tuple(grads[i] for i in chosen)

    def _input_grads(self, chosen: list) -> tuple:
        grads = tuple(self.in_slots)
        self.in_slots[:] = [None] * len(grads)
        grad_input = self._call_hooks(tuple(_as_tensor(g) for g in grads))
        return tuple(_as_grad(grad_input[i]) for i in chosen)

    def _call_hooks(self, grad_input: tuple) -> tuple:
        for hook in self.hooks:
            result = hook(self.module, grad_input, self.grad_output)
            if result is None:
                continue
            result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(grad_input):
                raise RuntimeError(
                    f"backward hook of {type(self.module).__name__} returned "
                    f"{len(result)} gradients, but the module has {len(grad_input)} inputs")
            grad_input = result
        return grad_input
