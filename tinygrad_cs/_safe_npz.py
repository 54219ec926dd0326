"""Reading ``.npz`` members without believing what they claim (used by ``tg.load``).

A zip member's sizes and a ``.npy`` header's ``shape`` / ``descr`` are only claims: a
300-byte file can say it holds a (100000, 1000000) float64 array, and numpy would try to
allocate the 745 GiB before finding out. Here every claim is checked against what the
file can actually hold before anything is allocated:

* ``check_sizes``: each member's stored size fits between it and the next member (so all
  members together hold at most the file), and its inflated size is at most the stored
  size (stored) or ``DEFLATE_RATIO`` times it (deflated; no other method is read);
* ``read_npy``: the header is at most ``MAX_HEADER_SIZE`` bytes, parsed as a literal
  (never evaluated), names no object dtype (that would need unpickling), and
  ``header + prod(shape) * itemsize`` is exactly the member's inflated size.
"""
from __future__ import annotations

import ast
import math
import struct
import zipfile
from typing import IO

import numpy as np

__all__ = ["MAX_DEPTH", "MAX_HEADER_SIZE", "CheckpointError", "check_sizes", "read_npy",
           "short"]

MAX_HEADER_SIZE = 10_000  # bytes of one .npy header; numpy's own default limit
MAX_DEPTH = 100  # containers (dict/list/tuple) nested in a checkpoint; a state_dict needs ~4
DEFLATE_RATIO = 1032  # deflate's best case: no member inflates by more than this


class CheckpointError(ValueError):
    """A file that is not a readable tinygrad_cs checkpoint."""


def short(where: str, limit: int = 120) -> str:
    """A location such as ``obj[0][0]...[0]`` cut to a readable length."""
    return where if len(where) <= limit else f"{where[:limit // 2]}...{where[-limit // 2:]}"


def check_sizes(infos: list[zipfile.ZipInfo], end: int, name: str) -> None:
    """Refuse members whose sizes the file ``name`` (``end`` bytes long) cannot back."""
    infos = sorted(infos, key=lambda i: i.header_offset)
    for info, after in zip(infos, infos[1:] + [None]):
        stop = info.header_offset + info.compress_size
        if stop > (end if after is None else after.header_offset):
            raise CheckpointError(f"load: {name} is truncated or corrupted: member "
                                  f"{info.filename} claims {info.compress_size} bytes, more "
                                  "than the file holds there")
        if info.compress_type == zipfile.ZIP_STORED:
            inflated = info.compress_size
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            inflated = DEFLATE_RATIO * info.compress_size + 64
        else:
            raise CheckpointError(f"load: {name}: member {info.filename} uses zip "
                                  f"compression method {info.compress_type}; tinygrad_cs "
                                  "reads stored and deflated members (np.savez, "
                                  "np.savez_compressed)")
        if info.file_size > inflated:
            raise CheckpointError(f"load: {name} is corrupted: member {info.filename} claims "
                                  f"{info.file_size} bytes from {info.compress_size} stored")


def read_npy(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    """One ``.npy`` member, its header checked against the member's size before reading."""
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise CheckpointError(f"load: {name}: member {info.filename} is .npy format "
                                  f"version {version}, which tinygrad_cs does not read")
        size_format = "<H" if version == (1, 0) else "<I"
        (length,) = struct.unpack(size_format, _read_exactly(member, struct.calcsize(
            size_format), info, name))
        if length > MAX_HEADER_SIZE:
            raise CheckpointError(f"load: {name}: member {info.filename} has a {length}-byte "
                                  f"array header, over the limit of {MAX_HEADER_SIZE} bytes")
        text = _read_exactly(member, length, info, name).decode(
            "utf-8" if version == (3, 0) else "latin1")
        shape, fortran, dtype = _parse_header(text, info, name)
        offset = 8 + struct.calcsize(size_format) + length
        count = math.prod(shape)
        if offset + count * dtype.itemsize != info.file_size:
            raise CheckpointError(
                f"load: {name} is corrupted: member {info.filename}'s header claims shape "
                f"{shape} of {dtype} ({count * dtype.itemsize} bytes), but the member holds "
                f"{info.file_size - offset} bytes of data")
        array = np.empty(count, dtype=dtype)
        buffer, got = memoryview(array.view(np.uint8)), 0
        while got < array.nbytes:  # readinto may return short counts
            more = member.readinto(buffer[got:])
            if not more:
                raise CheckpointError(f"load: {name} is truncated: member {info.filename} "
                                      f"ends after {got} of {array.nbytes} bytes")
            got += more
    if fortran:
        return array.reshape(shape[::-1]).transpose()
    return array.reshape(shape)


def _read_exactly(member: IO[bytes], size: int, info: zipfile.ZipInfo, name: str) -> bytes:
    data = member.read(size)
    if len(data) != size:
        raise CheckpointError(f"load: {name} is truncated: member {info.filename} ends "
                              "inside its array header")
    return data


def _parse_header(text: str, info: zipfile.ZipInfo, name: str
                  ) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``{'descr': ..., 'fortran_order': ..., 'shape': ...}``, read as a literal (no code)."""
    try:
        header = ast.literal_eval(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        header = None
    shape = header.get("shape") if isinstance(header, dict) else None
    if (not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}
            or not isinstance(header["fortran_order"], bool) or not isinstance(shape, tuple)
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise CheckpointError(f"load: {name} is corrupted: member {info.filename} has an "
                              f"invalid array header {text[:80]!r}")
    try:
        dtype = np.lib.format.descr_to_dtype(header["descr"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"load: {name} is corrupted: member {info.filename} has an "
                              f"invalid dtype {str(header['descr'])[:80]} ({e})") from None
    if dtype.hasobject:
        raise CheckpointError(f"load: {name} contains pickled object arrays (member "
                              f"{info.filename}); they are not loaded, because unpickling "
                              "can run arbitrary code")
    return shape, header["fortran_order"], dtype
