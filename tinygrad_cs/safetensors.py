"""``tinygrad_cs.safetensors``: ``.safetensors`` files, with ``safetensors.torch``'s names.

PyTorch code ports by changing its import::

    from tinygrad_cs.safetensors import load_file, save_file  # was: from safetensors.torch
    save_file(model.state_dict(), "model.safetensors")
    model.load_state_dict(load_file("model.safetensors"))

The format: an 8-byte little-endian header length ``N``; ``N`` bytes of JSON (padded
with spaces), ``{"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [2, 3],
"data_offsets": [begin, end]}, ...}``; then the tensors' raw little-endian bytes, row
major, ``begin``/``end`` counted from the start of this data. The tensors tile the data
exactly: no gaps, no overlaps, ``end - begin = prod(shape) * itemsize``.

Reading and writing go through the ``safetensors`` package (``pip install safetensors``,
or ``pip install 'tinygrad_cs[interop]'``); without it, each function raises an
ImportError saying so. Why not a parser of our own as a fallback: the format's one job
is to be safe to load, and the package's parser (Rust, by the format's authors,
fuzzed) is the reference that checks every header claim above; a second parser here
would be a second place for those checks to go wrong, and a small optional wheel with
no dependencies is easy to install. What the package does not do we do: element types
numpy lacks (``BF16``) and types tg tensors lack are converted as in ``_wire_dtypes``
(``F16``/``BF16`` become float32, ``U16``/``U32`` int32/int64), every failure becomes a
``CheckpointError`` naming the file, and ``save_file`` writes atomically, as ``tg.save``.
"""
from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np

from ._safe_npz import CheckpointError
from ._wire_dtypes import WIRE, decode
from .devices import device as _device
from .serialization import write_atomically
from .tensor import Tensor

__all__ = ["load", "load_file", "save", "save_file"]

# safetensors' dtype names -> _wire_dtypes' names
_WIRE_NAMES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
               "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8",
               "BOOL": "bool", "U16": "uint16", "U32": "uint32"}
_WRITABLE = {np.dtype(t) for t in (np.float64, np.float32, np.float16, np.int64, np.int32,
                                   np.int16, np.int8, np.uint8, np.bool_, np.uint16,
                                   np.uint32)}


def save(tensors: dict[str, Tensor | np.ndarray],
         metadata: dict[str, str] | None = None) -> bytes:
    """The ``.safetensors`` bytes of ``tensors`` (names to tensors or numpy arrays) and the
    optional text ``metadata``."""
    arrays = _arrays(tensors, metadata, "save")
    return _package("save").numpy.save(arrays, metadata=metadata)


def save_file(tensors: dict[str, Tensor | np.ndarray], filename: str | os.PathLike,
              metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` to ``filename`` atomically (a temp file renamed over it)."""
    arrays = _arrays(tensors, metadata, "save_file")
    data = _package("save_file").numpy.save(arrays, metadata=metadata)
    write_atomically(filename, "save_file", lambda file: file.write(data))


def load(data: bytes) -> dict[str, Tensor]:
    """The tensors in ``data``, the bytes of a ``.safetensors`` file."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load: expected the bytes of a safetensors file, got "
                        f"{type(data).__name__}")
    return _decode(bytes(data), "the data", "load")


def load_file(filename: str | os.PathLike, device: Any = "cpu") -> dict[str, Tensor]:
    """The tensors in the file ``filename``, on the CPU (the one device of tinygrad_cs)."""
    _device(device)  # raises for anything but the CPU
    _package("load_file")
    with open(os.fspath(filename), "rb") as file:
        return _decode(file.read(), os.fspath(filename), "load_file")


def _package(op: str) -> Any:
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError(f"tinygrad_cs.safetensors.{op} needs the safetensors package: pip "
                          "install safetensors (or pip install 'tinygrad_cs[interop]')") from None
    return safetensors


def _arrays(tensors: Any, metadata: Any, op: str) -> dict[str, np.ndarray]:
    """Contiguous numpy arrays for ``tensors``; raises before anything is written."""
    if not isinstance(tensors, dict):
        raise TypeError(f"{op}: expected a dict of names to tensors, got "
                        f"{type(tensors).__name__}")
    if metadata is not None and not (isinstance(metadata, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())):
        raise TypeError(f"{op}: metadata must be a dict of str to str, got {metadata!r:.80}")
    arrays = {}
    for name, value in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"{op}: tensor names must be str, got {name!r:.40}")
        if isinstance(value, Tensor):
            value = value.numpy()
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{op}: {name!r} is a {type(value).__name__}, not a tensor or a "
                            "numpy array")
        if value.dtype.newbyteorder("=") not in _WRITABLE:
            raise TypeError(f"{op}: {name!r} has dtype {value.dtype}, which safetensors files "
                            f"written here do not hold (shape {value.shape})")
        arrays[name] = np.ascontiguousarray(value)
    return arrays


def _decode(data: bytes, name: str, op: str) -> dict[str, Tensor]:
    """The tensors of a safetensors file's bytes, every header claim checked by the package."""
    package = _package(op)
    if len(data) < 8:
        raise CheckpointError(f"{op}: {name} is not a safetensors file: {len(data)} bytes, "
                              "shorter than the 8-byte header length")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise CheckpointError(f"{op}: {name} is not a valid safetensors file: its header "
                              f"claims {size} bytes, but {len(data) - 8} follow")
    try:
        entries = package.deserialize(data)
    except package.SafetensorError as e:
        raise CheckpointError(f"{op}: {name} is not a valid safetensors file: {e}") from None
    out = {}
    for key, entry in entries:
        wire = _WIRE_NAMES.get(entry["dtype"])
        if wire is None:
            raise CheckpointError(f"{op}: {name}: tensor {key!r} has dtype {entry['dtype']}, "
                                  f"which tinygrad_cs does not read (it reads "
                                  f"{', '.join(_WIRE_NAMES)})")
        raw = np.frombuffer(entry["data"], dtype=WIRE[wire].newbyteorder("<"))
        out[key] = Tensor(decode(raw.reshape(entry["shape"]), wire))
    return out
