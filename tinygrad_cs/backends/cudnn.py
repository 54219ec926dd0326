"""``tg.backends.cudnn``: PyTorch's cuDNN flags, which a CPU-only engine stores and ignores.

``import tinygrad_cs.backends.cudnn as cudnn; cudnn.benchmark = True`` works. Our
kernels are always deterministic (see the README), whatever ``deterministic`` says.
"""
from __future__ import annotations

enabled = True        # torch.backends.cudnn.enabled: would cuDNN be used (no cuDNN here)
benchmark = False     # torch.backends.cudnn.benchmark: autotuning of convolution algorithms
deterministic = False  # torch.backends.cudnn.deterministic


def is_available() -> bool:
    """False: there is no cuDNN."""
    return False


def version() -> None:
    """None, as PyTorch answers without cuDNN."""
    return
