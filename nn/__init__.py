"""``tinygrad_cs.nn``: building blocks for neural networks on top of the engine.

For now: ``functional`` (the stateless ops, as ``torch.nn.functional``) and
``scalar`` (micrograd's ``Neuron`` / ``Layer`` / ``MLP`` built on ``tg.Value``).
The tensor ``Module`` API (``nn.Linear``, ``nn.Conv2d``, ...) grows here.
"""
from . import functional, scalar

__all__ = ["functional", "scalar"]
