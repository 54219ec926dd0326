"""Input checks shared by the layers: PyTorch's rules for what a layer accepts.

* ``tensor_input``: a layer takes Tensors, not raw numpy arrays (PyTorch raises a
  TypeError too); the message says how to wrap the array.
* ``same_dtype``: a layer with parameters computes in their dtype; an input of another
  dtype (float64 into a float32 layer, or integers) raises instead of silently computing
  in float64, as PyTorch's ``mat1 and mat2 must have the same dtype``.

Both name the layer by class and, inside a model, by its module path (``encoder.fc1``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_cs import scopes

__all__ = ["layer_name", "same_dtype", "tensor_input"]


def layer_name(module: Any) -> str:
    """``Linear`` or, when called inside a model, ``Linear 'encoder.fc1'``."""
    path = scopes.current()
    return type(module).__name__ + (f" '{path}'" if path else "")


def tensor_input(module: Any, value: Any, arg: str = "input") -> None:
    """TypeError when ``value`` is a raw numpy array rather than a Tensor."""
    if isinstance(value, np.ndarray):
        raise TypeError(f"{layer_name(module)}: argument '{arg}' must be a Tensor, not "
                        f"numpy.ndarray (shape {value.shape}, dtype {value.dtype}); wrap it "
                        "with tg.from_numpy(array) (shares memory) or tg.tensor(array) (copies)")


def same_dtype(module: Any, value: Any, reference: Any, what: str = "mat1 and mat2",
               error: type = RuntimeError, arg: str = "input") -> None:
    """``tensor_input``, then ``error`` when ``value``'s dtype differs from ``reference``'s
    (a parameter or buffer of the layer; nothing is checked when it is None)."""
    tensor_input(module, value, arg)
    if reference is None or value is None:
        return
    got, want = value.dtype, reference.dtype
    if got != want:
        raise error(f"{layer_name(module)}: {what} must have the same dtype, but got {arg} "
                    f"{got} and parameters {want} (input of shape {tuple(value.shape)}); "
                    f"cast the input with x.to(tg.{want})"
                    + (f" or the module with .to(tg.{got})" if got.kind == "f" else ""))
