"""``tinygrad_cs.nn``: building blocks for neural networks on top of the engine.

* ``Module`` / ``Parameter``: the base class of layers and models, PyTorch's API
  (``named_parameters``, ``state_dict``, hooks, ``train``/``eval``, ...);
* containers: ``Sequential``, ``ModuleList``, ``ModuleDict``;
* shape modules: ``Identity``, ``Flatten``, ``Unflatten``;
* ``init`` (Kaiming, Xavier, orthogonal, ...), ``utils`` (gradient clipping);
* ``functional`` (the stateless ops, as ``torch.nn.functional``) and ``scalar``
  (micrograd's ``Neuron`` / ``Layer`` / ``MLP`` built on ``tg.Value``).
"""
from . import functional, init, scalar, utils
from .basic import Flatten, Identity, Unflatten
from .containers import ModuleDict, ModuleList, Sequential
from .module import Module
from .parameter import Parameter

__all__ = ["Flatten", "Identity", "Module", "ModuleDict", "ModuleList", "Parameter",
           "Sequential", "Unflatten", "functional", "init", "scalar", "utils"]
