"""Checkpoints: ``tg.save(obj, path)`` / ``tg.load(path)``, safe by construction.

``obj`` is a tree of dicts, lists and tuples whose leaves are numpy arrays,
tensors, numpy scalars and plain ``int`` / ``float`` / ``str`` / ``bool`` / ``None``:
a model's ``state_dict()``, an optimizer's and a scheduler's, ``tg.get_rng_state()``,
the epoch number, all in one dict.

File format: an ordinary ``.npz`` (zip) archive, as ``np.savez`` writes it, with

* one member per array: ``a0.npy``, ``a1.npy``, ...;
* ``__index__.npy``: a uint8 array holding UTF-8 JSON that describes the tree::

    {"format": "tinygrad_cs-checkpoint", "version": 1, "root": NODE}
    NODE = null | true | 3 | 2.5 | "text"                  (JSON keeps int vs float;
         | {"float": "nan" | "inf" | "-inf"}                 ints of any size are exact)
         | {"list": [NODE...]} | {"tuple": [NODE...]}
         | {"dict": [[KEY, NODE]...]}                          (keys: str/int/float/bool/None)
         | {"array": "a0"} | {"scalar": "a1"}                  (numpy array / numpy scalar)
         | {"tensor": "a2", "requires_grad": false}

Nothing is ever unpickled: arrays are read with ``allow_pickle=False`` and the
index is JSON, so a hostile file cannot run code. Writing is atomic: a temp file
in the same directory, flushed and fsync'ed, then ``os.replace``d over ``path``,
so a crash leaves either the old checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import json
import math
import os
import secrets
import zipfile
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["CheckpointError", "load", "save"]

FORMAT, VERSION = "tinygrad_cs-checkpoint", 1
_INDEX = "__index__"
_ZIP_MAGIC = b"PK\x03\x04"


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_cs checkpoint."""


# -- encoding ------------------------------------------------------------------------------
class _Encoder:
    """Turns the object tree into a JSON-able index plus a dict of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def _store(self, array: np.ndarray, where: str) -> str:
        if array.dtype.hasobject:
            raise TypeError(f"save: cannot store an array of dtype object at {where} "
                            "(it would need pickling)")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = array
        return name

    def node(self, obj: Any, where: str) -> Any:
        if isinstance(obj, np.generic):  # first: np.float64 is also a Python float
            return {"scalar": self._store(np.asarray(obj), where)}
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)  # an IntEnum or other int subclass is saved as its value
        if isinstance(obj, float):
            return float(obj) if math.isfinite(obj) else {"float": repr(float(obj))}
        if isinstance(obj, Tensor):
            return {"tensor": self._store(obj.numpy(), where), "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ndarray):
            return {"array": self._store(obj, where)}
        if isinstance(obj, dict):
            return {"dict": [[self.key(k, where), self.node(v, f"{where}[{k!r}]")]
                             for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {kind: [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(f"save: cannot store an object of type {type(obj).__name__} at {where} "
                        "(supported: dict, list, tuple, Tensor, numpy array/scalar, int, float, "
                        "str, bool, None)")

    def key(self, key: Any, where: str) -> Any:
        if key is None or isinstance(key, (bool, str)):
            return key
        if isinstance(key, int):
            return int(key)
        if isinstance(key, float) and math.isfinite(key):
            return key
        raise TypeError(f"save: unsupported dict key {key!r} ({type(key).__name__}) in {where} "
                        "(keys must be str, int, finite float, bool or None)")


def save(obj: Any, f: str | os.PathLike) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of arrays, tensors, numbers, strings) to ``f``.

    Atomic: the file at ``f`` is replaced only once the new one is completely on disk.
    """
    path = _path(f, "save")
    encoder = _Encoder()
    root = encoder.node(obj, "obj")
    index = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    members = dict(encoder.arrays)
    members[_INDEX] = np.frombuffer(index.encode("utf-8"), dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    # open(..., "xb") rather than mkstemp: the file gets the usual umask permissions
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as file:
            np.savez(file, **members)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- decoding ------------------------------------------------------------------------------
def load(f: str | os.PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Read a checkpoint written by ``save``: tensors come back as ``tg.Tensor`` (same
    dtype), arrays as arrays, numbers, strings and containers as they were.

    ``map_location`` and ``weights_only`` are accepted so that ``torch.load`` calls
    port unchanged; loading is always weights-only (no code can run) and on the CPU.
    Raises ``CheckpointError`` naming the file for anything that is not a valid
    checkpoint (a pickle, a truncated or foreign file, a plain ``.npz``).
    """
    path = _path(f, "load")
    with open(path, "rb") as file:
        head = file.read(len(_ZIP_MAGIC))
    if head != _ZIP_MAGIC:
        raise CheckpointError(f"load: {path} is not a tinygrad_cs checkpoint: "
                              f"{_describe(head)}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if _INDEX not in archive.files:
                raise CheckpointError(
                    f"load: {path} is a zip archive without a tinygrad_cs index (members: "
                    f"{', '.join(archive.files[:5]) or 'none'}): a plain .npz (read it with "
                    "numpy.load) or another program's file (torch.save also writes zips)")
            index = _read_index(archive[_INDEX], path)
            arrays = {name: archive[name] for name in archive.files if name != _INDEX}
    except CheckpointError:
        raise
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise CheckpointError(f"load: {path} contains pickled object arrays; they are not "
                                  "loaded, because unpickling can run arbitrary code") from None
        raise CheckpointError(f"load: {path} is truncated or corrupted ({e})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise CheckpointError(f"load: {path} is truncated or corrupted ({type(e).__name__}: "
                              f"{e})") from None
    return _Decoder(arrays, path).node(index["root"])


def _read_index(raw: np.ndarray, path: str) -> dict:
    try:
        index = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"load: {path} has an unreadable index ({e})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT or "root" not in index:
        raise CheckpointError(f"load: {path} has an index of a different format")
    if index.get("version") != VERSION:
        raise CheckpointError(f"load: {path} is checkpoint format version "
                              f"{index.get('version')!r}; this tinygrad_cs reads version "
                              f"{VERSION}")
    return index


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], path: str) -> None:
        self.arrays, self.path = arrays, path

    def _array(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise CheckpointError(f"load: {self.path} is corrupted: its index refers to a "
                                  f"missing array {name!r}")
        return self.arrays[name]

    def node(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, dict) and len(node) >= 1:
            kind = next(iter(node))
            value = node[kind]
            if kind == "dict" and isinstance(value, list):
                return {self._key(pair): self.node(pair[1]) for pair in value}
            if kind == "list" and isinstance(value, list):
                return [self.node(v) for v in value]
            if kind == "tuple" and isinstance(value, list):
                return tuple(self.node(v) for v in value)
            if kind == "array":
                return self._array(value)
            if kind == "scalar":
                return self._array(value)[()]
            if kind == "tensor":
                tensor = Tensor(self._array(value))
                if node.get("requires_grad") is True and tensor.dtype.kind == "f":
                    tensor.requires_grad_(True)
                return tensor
            if kind == "float" and value in ("nan", "inf", "-inf"):
                return float(value)
        raise CheckpointError(f"load: {self.path} is corrupted: unknown index entry "
                              f"{str(node)[:80]}")

    def _key(self, pair: Any) -> Any:
        if not (isinstance(pair, list) and len(pair) == 2) or isinstance(pair[0], (dict, list)):
            raise CheckpointError(f"load: {self.path} is corrupted: bad dict entry "
                                  f"{str(pair)[:80]}")
        return pair[0]


def _describe(head: bytes) -> str:
    """What a file that is not a zip archive probably is, from its first bytes."""
    if not head:
        return "the file is empty"
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}"):
        return ("it looks like a pickle (e.g. written by torch.save or pickle.dump); it is "
                "not loaded, because unpickling can run arbitrary code")
    if head.startswith(b"\x93NUM"):
        return "it is a single .npy array (read it with numpy.load)"
    return f"it does not start with a zip (.npz) header (first bytes {head!r})"


def _path(f: Any, op: str) -> str:
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"{op}: expected a file path (str or os.PathLike), got "
                        f"{type(f).__name__}")
    return os.fspath(f)
