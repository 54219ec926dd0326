"""The engine's random number generator: one seeded numpy Generator.

``tg.manual_seed(s)`` makes ``rand``, ``randn``, initialisation and dropout
reproducible; ``get_rng_state`` / ``set_rng_state`` save and restore it (for
checkpoints that resume exactly).
"""
from __future__ import annotations

import numpy as np

_generator = [np.random.default_rng()]


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; returns it."""
    _generator[0] = np.random.default_rng(seed)
    return _generator[0]


def generator() -> np.random.Generator:
    """The global generator (use it for any randomness the engine draws)."""
    return _generator[0]


def get_rng_state() -> dict:
    """The generator's state as a plain dict (JSON-friendly)."""
    return _generator[0].bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from ``get_rng_state``."""
    _generator[0].bit_generator.state = state
