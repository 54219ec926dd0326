"""``tg.accelerator``: PyTorch's device-agnostic query, answered for a CPU-only engine."""
from __future__ import annotations


def is_available() -> bool:
    """False: no accelerator (code then falls back to ``"cpu"``)."""
    return False


def current_accelerator(check_available: bool = False) -> None:
    """None: there is no accelerator."""
    return


def device_count() -> int:
    return 0
