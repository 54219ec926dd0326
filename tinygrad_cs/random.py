"""The engine's random number generator: one seeded numpy Generator.

``tg.manual_seed(s)`` makes ``rand``, ``randn``, initialisation and dropout
reproducible; ``get_rng_state`` / ``set_rng_state`` save and restore it (for
checkpoints that resume exactly).

``with stream(rng):`` makes ``generator()`` return ``rng`` in the current thread only, until
the block ends: the data loader builds each batch inside its own seeded stream, so random
transforms a data set applies per sample depend only on (loader seed, epoch, batch), in the
main process, in worker threads and in worker processes alike, and never draw from (or
disturb) the global generator that dropout and initialisation use.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .grad_mode import state as _state

_generator = [np.random.default_rng()]
_local = threading.local()  # .rng: the stream of the current thread, inside ``stream``


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; returns it."""
    _generator[0] = np.random.default_rng(seed)
    return _generator[0]


def generator() -> np.random.Generator:
    """The generator to draw from (use it for any randomness the engine draws): the
    current thread's ``stream`` inside one, else the global generator."""
    if _state.tracer is not None:  # a draw tg.compile cannot replay: trace no further
        _state.tracer.draws_outside("a random draw outside tinygrad_cs.random.draw")
    return current()


def current() -> np.random.Generator:
    """``generator()`` without the tracing check (for ``draw`` and the compiler's replay)."""
    return getattr(_local, "rng", None) or _generator[0]


def draw(sample: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
    """``sample(generator(), *args)``: a random array drawn so that ``tg.compile`` can replay it.

    ``sample`` must draw only from the generator it is given and be a function of it and
    ``args`` (e.g. dropout's mask); a compiled function then makes the same draws as eager.
    """
    if _state.tracer is not None:
        return _state.tracer.draw(sample, args)
    return sample(current(), *args)


@contextmanager
def stream(rng: np.random.Generator) -> Iterator[np.random.Generator]:
    """Within the block, ``generator()`` returns ``rng`` in this thread (nestable)."""
    previous = getattr(_local, "rng", None)
    _local.rng = rng
    try:
        yield rng
    finally:
        _local.rng = previous


def get_rng_state() -> dict:
    """The generator's state as a plain dict (JSON-friendly)."""
    return _generator[0].bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state from ``get_rng_state``."""
    _generator[0].bit_generator.state = state


class Generator:
    """``tg.Generator()``: a random source of its own, as ``torch.Generator`` (CPU only).

    ``Generator().manual_seed(42)`` returns the generator, so PyTorch's idiom
    ``random_split(data, [0.8, 0.2], generator=torch.Generator().manual_seed(42))`` works.
    ``numpy`` is the numpy Generator that draws; samplers and ``random_split`` take it.
    """

    def __init__(self, device: str = "cpu") -> None:
        from .devices import check
        check(device, "Generator")
        self.seed()

    def manual_seed(self, seed: int) -> Generator:
        self._initial = int(seed)
        self.numpy = np.random.default_rng(self._initial)
        return self

    def seed(self) -> int:
        """Reseed from the OS's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % 2**63))
        return self._initial

    def initial_seed(self) -> int:
        return self._initial

    def get_state(self) -> dict:
        return self.numpy.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.numpy.bit_generator.state = state
        return self


def numpy_generator(generator: Generator | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator for ``generator``: its own for a ``tg.Generator`` or numpy one; for
    None a fresh one seeded from tg's global generator (so ``tg.manual_seed`` controls it)."""
    if generator is None:
        return np.random.default_rng(int(_generator[0].integers(2**63)))
    if isinstance(generator, Generator):
        return generator.numpy
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator: expected a tg.Generator or a numpy Generator, got "
                    f"{type(generator).__name__}")
