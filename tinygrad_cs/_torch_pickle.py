"""Reading ``torch.save`` files without running them (used by ``tg.load``).

Since PyTorch 1.6, ``torch.save`` writes a zip archive whose members all sit in one
folder ``<prefix>/`` (``archive/`` or the file's stem)::

    data.pkl      a pickle (protocol 2) of the saved object
    data/<key>    the raw bytes of storage <key>: numel * itemsize, stored uncompressed
    byteorder     "little" or "big" (older files lack it: little)
    version, .format_version, .storage_alignment, .data/serialization_id   (not needed)

In ``data.pkl`` a tensor is a call, e.g. for a float32 tensor::

    torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
                                    requires_grad, backward_hooks[, metadata])
    storage = persistent id ('storage', torch.FloatStorage, key, location, numel)

(``_rebuild_tensor_v3`` takes the dtype as a further argument and an untyped storage,
numel in bytes, for dtypes such as uint16). Element ``i`` of a tensor of shape ``size``
is storage element ``storage_offset + sum(i[d] * stride[d])``.

Unpickling normally imports and calls whatever the file names, so a ``.pt`` file can
run any code. Here ``find_class`` resolves only the names in ``_Reader.allowed`` (the
rebuild functions, the storage and dtype names, ``OrderedDict``, ``set``,
``frozenset``, ``torch.Size``) and maps each to a function of ours that builds numpy
arrays; torch need not be installed. Any other global is refused, naming it. Each
storage is read once from its member, whose size must be exactly ``numel * itemsize``,
and every view is checked against its storage (offset, sizes and strides
non-negative, last element inside it) before ``as_strided`` makes it; then it is
copied. All tensors together may hold at most ``MAX_EXPANSION`` times the archive's
size (plus 1 MiB): views of one storage share it in the file but not in memory, so
this bounds what a small file can make us allocate. Tensors sharing a storage (views,
tied weights) come back as separate tensors with the right values.

The unpickled object is then copied into fresh dicts/lists/tuples/sets (an object
shared in the file stays shared, a cycle or more than ``MAX_DEPTH`` nested containers
is refused), which drops any attribute the file set on a container (such as a
state_dict's ``_metadata``). Parameters come back as plain tensors, keeping
``requires_grad`` for floating-point ones. Element types follow ``_wire_dtypes``
(float16 and bfloat16 become float32).
"""
from __future__ import annotations

import io
import math
import pickle
import re
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ._safe_npz import MAX_DEPTH, CheckpointError, short
from ._wire_dtypes import RESULT, WIRE, decode
from .tensor import Tensor

__all__ = ["MAX_EXPANSION", "is_torch_zip", "load_torch_zip"]

MAX_EXPANSION = 4  # tensors made / archive bytes: covers float16 -> float32 and tied weights
_KEY = re.compile(r"[A-Za-z0-9_]{1,64}")  # torch's storage keys are "0", "1", ...
_STORAGES = {  # torch.<name>Storage -> element type; UntypedStorage holds bytes
    "DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "UntypedStorage": "uint8",
}


class _Refused(Exception):
    """A problem found while unpickling; ``load_torch_zip`` adds the file's name."""


class _Sealed:
    """What ``find_class`` and ``persistent_load`` hand the unpickler: the pickle's BUILD
    opcode (which sets attributes) is refused on it, so a file cannot change our
    functions or records for the objects read after it."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise _Refused(f"the file tries to set attributes on {self!r}")


class _Function(_Sealed):
    """An allowed function (a rebuild function, ``OrderedDict``, ``set``, ...)."""

    __slots__ = ("call", "name")

    def __init__(self, name: str, call: Callable) -> None:
        self.name, self.call = name, call

    def __call__(self, *args: Any) -> Any:
        return self.call(*args)

    def __repr__(self) -> str:
        return self.name


class _Type(_Sealed):
    """An element type the file names: a storage type (``torch.FloatStorage``, as the
    persistent ids give it) or a dtype (``torch.float32``, as ``_rebuild_tensor_v3``
    receives it); ``wire`` is its name in ``_wire_dtypes``."""

    __slots__ = ("name", "storage", "wire")

    def __init__(self, name: str, wire: str, storage: bool) -> None:
        self.name, self.wire, self.storage = name, wire, storage

    def __repr__(self) -> str:
        return self.name


class _Storage(_Sealed):
    """One storage: its raw elements (numpy, in the file's byte order), read once."""

    __slots__ = ("key", "raw", "wire")

    def __init__(self, key: str, wire: str, raw: np.ndarray) -> None:
        self.key, self.wire, self.raw = key, wire, raw

    def __repr__(self) -> str:
        return f"storage {self.key!r}"


class _Rebuilt(_Sealed):
    """A tensor read from the file: its array (a copy) and whether it required grad."""

    __slots__ = ("array", "requires_grad")

    def __init__(self, array: np.ndarray, requires_grad: bool) -> None:
        self.array, self.requires_grad = array, requires_grad

    def __repr__(self) -> str:
        return f"a tensor of shape {self.array.shape}"


def is_torch_zip(names: list[str]) -> bool:
    """Whether the zip members ``names`` look like a ``torch.save`` archive."""
    return any(re.fullmatch(r"[^/]+/data\.pkl", n) for n in names)


def load_torch_zip(archive: zipfile.ZipFile, name: str, end: int) -> Any:
    """The object in the ``torch.save`` archive ``archive`` (of the ``end``-byte file
    ``name``), with ``tg.Tensor`` leaves; raises ``CheckpointError`` naming the file."""
    prefix = _prefix(archive, name)
    try:
        return _Reader(archive, prefix, end).load()
    except _Refused as e:
        raise CheckpointError(f"load: {name} is refused: {e}") from None
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, AttributeError,
            KeyError, IndexError, OverflowError, UnicodeDecodeError, zipfile.BadZipFile) as e:
        raise CheckpointError(f"load: {name} is a corrupted torch.save file "
                              f"({type(e).__name__}: {e})") from None


def _prefix(archive: zipfile.ZipFile, name: str) -> str:
    """The one folder every member sits in; member names must be plain relative paths."""
    names = archive.namelist()
    for member in names:
        parts = member.split("/")
        if (member.startswith("/") or "\\" in member or "\x00" in member
                or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", "..")):
            raise CheckpointError(f"load: {name} is refused: it has a zip member named "
                                  f"{member[:80]!r} (an absolute path, '..', '.' or an empty "
                                  "part)")
    prefixes = {n.split("/", 1)[0] for n in names}
    pickles = [n for n in names if re.fullmatch(r"[^/]+/data\.pkl", n)]
    if len(prefixes) != 1 or len(pickles) != 1:
        raise CheckpointError(f"load: {name} is not a torch.save archive: its members are not "
                              f"all in one folder with one data.pkl (folders: "
                              f"{sorted(prefixes)[:5]})")
    return pickles[0][:-len("data.pkl")]


class _Reader(pickle.Unpickler):
    """The restricted unpickler of one archive: allowed globals, storages, views."""

    def __init__(self, archive: zipfile.ZipFile, prefix: str, end: int) -> None:
        self.archive, self.prefix = archive, prefix
        self.budget = MAX_EXPANSION * end + 2**20  # bytes the tensors may still take
        self.storages: dict[str, _Storage] = {}
        self.order = self._byte_order()
        self.allowed: dict[tuple[str, str], _Function | _Type] = {}
        for module in ("builtins", "__builtin__"):  # protocol 2 spells builtins the py2 way
            self._allow(module, "set", set)
            self._allow(module, "frozenset", frozenset)
        self._allow("collections", "OrderedDict", OrderedDict)
        self._allow("torch", "Size", lambda dims=(): tuple(dims))
        self._allow("torch._utils", "_rebuild_tensor_v2", self._tensor_v2)
        self._allow("torch._utils", "_rebuild_tensor_v3", self._tensor_v3)
        self._allow("torch._utils", "_rebuild_parameter", self._parameter)
        self._allow("torch._utils", "_rebuild_parameter_with_state", self._parameter)
        for module in ("torch", "torch.storage"):
            for storage, wire in _STORAGES.items():
                self.allowed[(module, storage)] = _Type(f"{module}.{storage}", wire, True)
        for wire in WIRE:
            self.allowed[("torch", wire)] = _Type(f"torch.{wire}", wire, False)
        with archive.open(prefix + "data.pkl") as member:
            super().__init__(io.BytesIO(member.read()))

    def _allow(self, module: str, name: str, call: Callable) -> None:
        self.allowed[(module, name)] = _Function(f"{module}.{name}", call)

    def _byte_order(self) -> str:
        try:
            text = self.archive.read(self.prefix + "byteorder")
        except KeyError:  # files from before the member existed: little-endian machines
            return "<"
        if text not in (b"little", b"big"):
            raise _Refused(f"its byteorder member says {text[:20]!r}, not little or big")
        return "<" if text == b"little" else ">"

    # -- the two hooks of pickle.Unpickler -------------------------------------------------
    def find_class(self, module: str, name: str) -> _Function | _Type:
        found = self.allowed.get((module, name))
        if found is None:
            hint = ""
            if module.startswith(("torch.nn.", "torch.optim.")):
                hint = ("; it holds a whole model or optimizer (torch.save(model)): save "
                        "model.state_dict() with torch.save instead, then build the model "
                        "here and call load_state_dict(tg.load(path))")
            raise _Refused(f"it refers to the global {module}.{name}, which the restricted "
                           "reader does not allow (it rebuilds tensors, dicts, lists, tuples, "
                           f"sets, numbers and strings, and runs no code from the file){hint}")
        return found

    def persistent_load(self, pid: Any) -> _Storage:
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] == "storage"):
            raise _Refused(f"unknown persistent id {str(pid)[:80]} (expected ('storage', "
                           "type, key, location, numel))")
        _, kind, key, _location, numel = pid  # the location (cpu, cuda:0) is ignored
        if not (isinstance(kind, _Type) and kind.storage):
            raise _Refused(f"storage {str(key)[:40]!r} has the type {kind!r}, not a storage")
        if not (type(key) is str and _KEY.fullmatch(key)):
            raise _Refused(f"the storage key {str(key)[:80]!r} is not a plain name")
        if type(numel) is not int or numel < 0:
            raise _Refused(f"storage {key!r} claims {str(numel)[:40]} elements")
        known = self.storages.get(key)
        if known is not None:
            if known.wire != kind.wire or known.raw.size != numel:
                raise _Refused(f"storage {key!r} is used both as {known.raw.size} {known.wire} "
                               f"and as {numel} {kind.wire} elements")
            return known
        member = f"{self.prefix}data/{key}"
        try:
            info = self.archive.getinfo(member)
        except KeyError:
            raise _Refused(f"storage {key!r} has no member {member}") from None
        dtype = WIRE[kind.wire].newbyteorder(self.order)
        if info.file_size != numel * dtype.itemsize:
            raise _Refused(f"storage {key!r} claims {numel} {kind.wire} elements "
                           f"({numel * dtype.itemsize} bytes), but its member {member} holds "
                           f"{info.file_size} bytes")
        raw = np.frombuffer(self.archive.read(info), dtype=dtype)
        self.storages[key] = storage = _Storage(key, kind.wire, raw)
        return storage

    # -- the allowed functions -----------------------------------------------------------
    def _tensor_v2(self, storage: _Storage, offset: int, size: tuple, stride: tuple,
                   requires_grad: bool, hooks: Any, metadata: Any = None) -> _Rebuilt:
        if not isinstance(storage, _Storage):
            raise _Refused(f"a tensor is built from {storage!r}, not from a storage")
        return self._tensor(storage.raw, storage, offset, size, stride, requires_grad,
                            metadata)

    def _tensor_v3(self, storage: _Storage, offset: int, size: tuple, stride: tuple,
                   requires_grad: bool, hooks: Any, dtype: Any,
                   metadata: Any = None) -> _Rebuilt:
        if not isinstance(storage, _Storage) or storage.raw.dtype.itemsize != 1:
            raise _Refused(f"a tensor of dtype {dtype!r} is built from {storage!r}, not from "
                           "an untyped storage")
        if not (isinstance(dtype, _Type) and not dtype.storage):
            raise _Refused(f"a tensor has the dtype {str(dtype)[:40]}, which tinygrad_cs does "
                           f"not read (it reads {', '.join(WIRE)})")
        wide = WIRE[dtype.wire].newbyteorder(self.order)
        if storage.raw.size % wide.itemsize:
            raise _Refused(f"{storage!r} holds {storage.raw.size} bytes, not a whole number of "
                           f"{dtype.wire} elements")
        return self._tensor(storage.raw.view(wide), storage, offset, size, stride,
                            requires_grad, metadata, dtype.wire)

    def _tensor(self, raw: np.ndarray, storage: _Storage, offset: Any, size: Any, stride: Any,
                requires_grad: Any, metadata: Any, wire: str | None = None) -> _Rebuilt:
        wire = wire or storage.wire
        _check_view(raw.size, offset, size, stride, storage)
        if type(requires_grad) is not bool:
            raise _Refused(f"a tensor of {storage!r} has requires_grad={str(requires_grad)[:40]}")
        flips = dict(metadata) if isinstance(metadata, dict) else {}
        if metadata and (not isinstance(metadata, dict) or not set(flips) <= {"neg", "conj"}):
            raise _Refused(f"a tensor of {storage!r} has metadata {str(metadata)[:80]}, which "
                           "tinygrad_cs does not read (it knows the neg and conj bits)")
        nbytes = math.prod(size) * RESULT[wire].itemsize  # exact, however large the claim
        if nbytes > self.budget:
            raise _Refused(f"its tensors would take more than {MAX_EXPANSION} times the file's "
                           f"size in memory (a view of shape {size} of {storage!r} needs "
                           f"{nbytes} bytes, {max(self.budget, 0)} are left)")
        self.budget -= nbytes
        itemsize = raw.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(raw[offset:], shape=size,
                                               strides=[s * itemsize for s in stride],
                                               writeable=False)
        array = decode(view, wire)
        if flips.get("neg"):  # a negative view saved lazily: the storage holds -value
            np.negative(array, out=array)
        return _Rebuilt(array, requires_grad and array.dtype.kind == "f")

    def _parameter(self, data: Any, requires_grad: Any, hooks: Any,
                   state: Any = None) -> _Rebuilt:
        """A Parameter comes back as a plain tensor (its Python attributes dropped)."""
        if not isinstance(data, _Rebuilt) or type(requires_grad) is not bool:
            raise _Refused(f"a Parameter is built from {str(data)[:40]}")
        return _Rebuilt(data.array, requires_grad and data.array.dtype.kind == "f")

    # -- the result --------------------------------------------------------------------------
    def load(self) -> Any:
        return _Copier().copy(super().load(), "obj", 0)


def _check_view(numel: int, offset: Any, size: Any, stride: Any, storage: _Storage) -> None:
    """Refuse a view that is not ints or reaches outside its ``numel``-element storage."""
    ok = (type(offset) is int and type(size) is tuple and type(stride) is tuple
          and len(size) == len(stride) <= 32
          and all(type(n) is int for n in size + stride))
    if not ok:
        raise _Refused(f"a view of {storage!r} has offset {str(offset)[:40]}, size "
                       f"{str(size)[:80]}, stride {str(stride)[:80]}: expected an int and two "
                       "equally long tuples of ints")
    if offset < 0 or any(n < 0 for n in size + stride):
        raise _Refused(f"a view of {storage!r} has a negative offset, size or stride (offset "
                       f"{offset}, size {size}, stride {stride})")
    if 0 in size:
        last = offset - 1  # an empty view reads nothing; its offset may be the end
    else:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= numel or offset > numel:
        raise _Refused(f"a view of {storage!r} with offset {offset}, size {size} and stride "
                       f"{stride} reaches element {last}, past its {numel} elements")


class _Copier:
    """The unpickled object copied into fresh containers with ``tg.Tensor`` leaves."""

    _PLAIN = (type(None), bool, int, float, str, bytes)

    def __init__(self) -> None:
        self.done: dict[int, Any] = {}
        self.open: set[int] = set()  # containers between the root and here (cycles)

    def copy(self, obj: Any, where: str, depth: int) -> Any:
        if type(obj) in self._PLAIN:
            return obj
        if id(obj) in self.done:
            return self.done[id(obj)]
        if isinstance(obj, _Rebuilt):
            tensor = Tensor(obj.array)
            if obj.requires_grad:
                tensor.requires_grad_(True)
            self.done[id(obj)] = tensor
            return tensor
        make = self._containers().get(type(obj))
        if make is None:
            raise _Refused(f"{short(where)} is {obj!r}, not a tensor, container, number or "
                           "string")
        if id(obj) in self.open:
            raise _Refused(f"{short(where)} contains itself (a reference cycle)")
        if depth == MAX_DEPTH:
            raise _Refused(f"{short(where)} is nested deeper than {MAX_DEPTH} containers")
        self.open.add(id(obj))
        out = make(self, obj, where, depth + 1)
        self.open.discard(id(obj))
        self.done[id(obj)] = out
        return out

    def _mapping(self, obj: dict, where: str, depth: int) -> dict:
        out = type(obj)()
        for k, v in obj.items():
            key = self.copy(k, where, depth)
            if not _hashable_key(key):
                raise _Refused(f"{short(where)} has a dict key of type {type(key).__name__}")
            out[key] = self.copy(v, f"{where}[{k!r}]", depth)
        return out

    def _sequence(self, obj: list | tuple | set | frozenset, where: str, depth: int) -> Any:
        items = [self.copy(v, f"{where}[{i}]", depth) for i, v in enumerate(obj)]
        if isinstance(obj, (set, frozenset)) and not all(map(_hashable_key, items)):
            raise _Refused(f"{short(where)} is a set of something other than numbers, "
                           "strings and tuples")
        return items if type(obj) is list else type(obj)(items)

    @classmethod
    def _containers(cls) -> dict[type, Callable]:
        return {dict: cls._mapping, OrderedDict: cls._mapping, list: cls._sequence,
                tuple: cls._sequence, set: cls._sequence, frozenset: cls._sequence}


def _hashable_key(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(map(_hashable_key, key))
    return type(key) in _Copier._PLAIN
