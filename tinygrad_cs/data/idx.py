"""A reader for the IDX format (MNIST, Fashion-MNIST): ``read_idx(path) -> np.ndarray``, and
``read_images_labels`` for MNIST's pair of files (images, labels).

Layout: two zero bytes, a dtype code, the number of dimensions d, then d big-endian uint32
sizes, then the values in big-endian C order. Files ending in ``.gz`` (or starting with gzip's
magic bytes) are decompressed first.
"""
from __future__ import annotations

import gzip
import os

import numpy as np

__all__ = ["read_idx", "read_images_labels"]

# dtype code -> big-endian numpy dtype
DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise ValueError(f"read_idx: {path} is a damaged gzip file ({e})") from None
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the IDX file ``path`` (plain or gzip), in native byte order:
    shape = the header's dimensions, dtype = uint8, int8, int16, int32, float32 or float64."""
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (magic bytes {raw[:4].hex()}, "
                         f"expected 0000 then a dtype code in "
                         f"{[hex(c) for c in DTYPES]} and the number of dimensions)")
    dtype, ndim = DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated inside its header ({len(raw)} bytes, "
                         f"the header of {ndim} dimensions needs {header})")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"read_idx: {path} has {len(raw)} bytes, but a {dtype.name} array of "
                         f"shape {shape} needs {expected}")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def read_images_labels(images: str | os.PathLike, labels: str | os.PathLike,
                       name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, H, W), labels (N,) int64)`` from MNIST's pair of IDX files, checked to
    hold one label per image; ``name`` (e.g. ``"Fashion-MNIST train"``) starts any error."""
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or y.shape != x.shape[:1]:
        raise ValueError(f"{name}: images {x.shape} ({images}) and labels {y.shape} ({labels}) "
                         f"do not match: expected (N, H, W) images and N labels")
    return x, y.astype(np.int64)
