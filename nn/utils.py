"""``nn.utils``: gradient clipping and flattening parameters, as ``torch.nn.utils``.

Clipping by norm treats all gradients as one long vector ``g``:

    total = ||g||_p = (sum_i ||g_i||_p^p)^(1/p)       (max_i ||g_i||_inf for p = inf)
    g_i  <- g_i * min(max_norm / (total + 1e-6), 1)

so the direction of the update is kept and only its length is capped (the usual
fix for exploding gradients in RNNs). Clipping by value clamps each element to
``[-clip_value, clip_value]`` instead, which changes the direction.
"""
from __future__ import annotations

import math
import types
import warnings
from collections.abc import Iterable

import numpy as np

from tinygrad_cs import Tensor, cat, no_grad
from tinygrad_cs.grad_mode import untraceable

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters"]

TensorOrTensors = Tensor | Iterable[Tensor]


def _as_list(tensors: TensorOrTensors) -> list[Tensor]:
    return [tensors] if isinstance(tensors, Tensor) else list(tensors)


def _vector_norm(x: np.ndarray, p: float) -> np.ndarray:
    """||x||_p of a flattened array, in its own dtype (as ``torch.linalg.vector_norm``)."""
    a = np.abs(x.ravel())
    if p == math.inf:
        return a.max(initial=0)
    if p == -math.inf:
        return a.min(initial=math.inf)
    if p == 0:
        return np.asarray(np.count_nonzero(a), dtype=x.dtype)
    if p == 2:
        return np.sqrt(np.dot(a, a))
    return np.sum(a**p) ** (1.0 / p)


def get_total_norm(tensors: TensorOrTensors, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The p-norm of all ``tensors`` viewed as one vector (a 0-d tensor; 0.0 if none)."""
    arrays = [t.numpy() for t in _as_list(tensors)]
    norm_type = float(norm_type)
    if not arrays:
        return Tensor(0.0)
    dtype = np.result_type(*arrays)
    norms = np.array([_vector_norm(a, norm_type) for a in arrays], dtype=dtype)
    total = _vector_norm(norms, norm_type).astype(dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return Tensor(np.asarray(total))


def clip_grads_with_norm_(parameters: TensorOrTensors, max_norm: float,
                          total_norm: Tensor) -> None:
    """Scale every ``.grad`` in place by ``min(max_norm / (total_norm + 1e-6), 1)``.

    The scale is applied even when it is 1 (no data-dependent branch, as PyTorch).
    """
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    total = total_norm.numpy() if isinstance(total_norm, Tensor) else np.asarray(total_norm)
    coef = np.minimum(float(max_norm) / (total + 1e-6), 1.0)
    with no_grad():
        for g in grads:
            g.mul_(coef.astype(g.dtype))


def clip_grad_norm_(parameters: TensorOrTensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Rescale the gradients so that their total ``norm_type``-norm is at most ``max_norm``.

    Returns the total norm *before* clipping (a 0-d tensor). ``norm_type`` may be
    ``inf`` (or ``'inf'``). ``foreach`` is accepted for compatibility and ignored.
    Inside ``tg.compile`` it is a graph break: the norm is computed in numpy, so a replay
    would reuse the traced call's scale factor.
    """
    untraceable("clip_grad_norm_")
    if not isinstance(parameters, Tensor):
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)  # a generator is consumed twice below
        if is_generator and not parameters:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [p.grad for p in _as_list(parameters) if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: TensorOrTensors, clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]``, in place."""
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (in the graph)."""
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into ``parameters``, in place.

    Unlike PyTorch, which makes each parameter a view of ``vec``, the values are
    copied: the parameters keep their own memory (and the optimizer's references).
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be a Tensor, but got {type(vec).__name__}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise RuntimeError(f"vector_to_parameters: vec of shape {vec.shape} does not match "
                           f"the parameters' {total} elements")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec.numpy()[offset:offset + n].reshape(p.shape))
            offset += n
