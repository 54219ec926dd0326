"""Reading CIFAR's pickled batches without running code from them.

A pickle names functions (``module.name``) that loading calls: a file can make ``pickle.load``
run ``os.system``. CIFAR's batches need only what rebuilds numpy arrays, so ``load_pickle``
resolves exactly those names (numpy's array reconstructors, ``ndarray``, ``dtype``, and the
latin-1 ``_codecs.encode`` that protocol-2 pickles use for bytes) and refuses any other with
an ``UnpicklingError`` naming it and the file, before anything runs. Python 2 strings (the
original files') are read as latin-1, as torchvision reads them.
"""
from __future__ import annotations

import codecs
import os
import pickle
from typing import Any

import numpy as np

__all__ = ["load_pickle"]


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` limited to what pickle's protocol 2 writes for a bytes object."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r} is not allowed "
                                     f"(only latin1, which pickles of bytes use)")
    return codecs.encode(text, "latin1")


_RECONSTRUCT = np.zeros(0).__reduce__()[0]        # numpy's ndarray reconstructor
_FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]     # ... and protocol 5's
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class _ArraysOnly(pickle.Unpickler):
    def __init__(self, file: Any, source: str) -> None:
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            allowed = ", ".join(sorted(f"{m}.{n}" for m, n in _ALLOWED))
            raise pickle.UnpicklingError(
                f"{self.source}: refusing to load global '{module}.{name}': this file may only "
                f"refer to {allowed} (numpy arrays); nothing in it was run") from None


def load_pickle(path: str | os.PathLike, what: str) -> Any:
    """The object pickled in ``path`` (plain containers, numbers, strings, numpy arrays);
    ``what`` (e.g. ``"CIFAR10"``) starts any error message."""
    with open(path, "rb") as f:
        try:
            return _ArraysOnly(f, f"{what}: {path}").load()
        except pickle.UnpicklingError:
            raise
        except (EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            raise ValueError(f"{what}: {path} is not a readable pickle ({type(e).__name__}: "
                             f"{e})") from None
