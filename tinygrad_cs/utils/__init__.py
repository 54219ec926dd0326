"""``tg.utils``: PyTorch's ``torch.utils`` names (``tg.utils.data``).

A facade at the level of ``tinygrad_cs.data`` (above the engine, like ``train`` and ``cli``):
the engine core never imports it; ``import tinygrad_cs`` reaches it lazily as ``tg.utils``.
"""
from . import data
