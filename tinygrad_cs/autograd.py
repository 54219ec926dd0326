"""``tg.autograd``: ``torch.autograd``'s names for the engine's own tools, so code written
against ``torch.autograd`` runs unchanged::

    torch.autograd.grad(outputs, inputs, create_graph=True)
    torch.autograd.backward(loss)
    class MyOp(torch.autograd.Function): ...        # forward(ctx, ...) / backward(ctx, grad)
    torch.autograd.gradcheck(fn, (x,))              # float64 central differences
    torch.autograd.Variable(x, requires_grad=True)  # (deprecated in PyTorch) the tensor itself
"""
from __future__ import annotations

from typing import Any

from .autodiff import backward, detect_anomaly, grad
from .engine import Context as FunctionCtx
from .engine import Function
from .grad_mode import enable_grad, no_grad, set_grad_enabled
from .runtime import set_anomaly_enabled as set_detect_anomaly
from .tensor import Tensor
from .testing.gradcheck import gradcheck, gradgradcheck


def Variable(data: Any, requires_grad: bool = False, volatile: bool = False) -> Tensor:
    """PyTorch's pre-0.4 wrapper, now the tensor itself: ``data`` as a Tensor (shared),
    marked ``requires_grad`` when asked."""
    t = data if isinstance(data, Tensor) else Tensor(data)
    return t.requires_grad_(True) if requires_grad else t


__all__ = ["Function", "FunctionCtx", "Variable", "backward", "detect_anomaly", "enable_grad",
           "grad", "gradcheck", "gradgradcheck", "no_grad", "set_detect_anomaly",
           "set_grad_enabled"]
