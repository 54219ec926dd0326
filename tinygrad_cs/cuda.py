"""``tg.cuda``: what PyTorch's ``torch.cuda`` reports on a machine without a GPU.

tinygrad_cs runs on the CPU only, so ``is_available()`` is False and
``device_count()`` 0; ``manual_seed``/``manual_seed_all`` do nothing, exactly as
PyTorch's are "silently ignored" without CUDA. Anything that needs a GPU (moving a
tensor to ``"cuda"``) raises the CPU-only error of ``tg.device``.
"""
from __future__ import annotations


def is_available() -> bool:
    """False: there is no GPU backend."""
    return False


def device_count() -> int:
    """0 GPUs."""
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Ignored, as PyTorch ignores it without CUDA (``tg.manual_seed`` seeds the CPU)."""


def manual_seed_all(seed: int) -> None:
    """Ignored, as PyTorch ignores it without CUDA."""
