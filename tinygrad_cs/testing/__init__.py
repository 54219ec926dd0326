"""``tg.testing``: gradient checks, Hypothesis strategies and the op registry.

* ``gradcheck(fn, inputs)`` / ``gradgradcheck(fn, inputs)``: analytic first
  and second derivatives against central differences, in float64, reporting
  the CS231n relative error ``|a - n| / max(|a|, |n|)`` per input. They work
  on the engine's ops, on user ``Function``s and on whole models::

      x = tg.randn(3, 4, dtype=tg.float64, requires_grad=True)
      assert tg.testing.gradcheck(lambda x: (x.tanh() * x).sum(dim=1), (x,))

* ``tg.testing.strategies``: Hypothesis strategies for tensors, broadcastable
  shapes, non-contiguous layouts and domain-restricted values.
* ``tg.testing.registry``: every differentiable op with its numpy reference
  and input sampler; ``register(...)`` adds ops.

Importing this package is cheap: ``strategies`` and ``registry`` (which need
Hypothesis) load on first use.
"""
from __future__ import annotations

import importlib

from .gradcheck import (
    GradcheckError,
    GradcheckResult,
    InputReport,
    gradcheck,
    gradgradcheck,
    relative_error,
)

__all__ = [
    "GradcheckError",
    "GradcheckResult",
    "InputReport",
    "gradcheck",
    "gradgradcheck",
    "register",
    "registry",
    "relative_error",
    "strategies",
]


def __getattr__(name: str):
    if name in ("strategies", "registry"):
        return importlib.import_module(f"{__name__}.{name}")
    if name == "register":
        return importlib.import_module(f"{__name__}.registry").register
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
