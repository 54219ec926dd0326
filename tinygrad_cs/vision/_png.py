"""A PNG encoder in a screen of code (zlib and struct), so writing images needs no Pillow.

A PNG file is the 8-byte signature, then chunks ``length (4 bytes, big-endian) | type (4) |
data | CRC-32 of type + data``: ``IHDR`` (width, height, bit depth 8, colour type, and
compression, filter and interlace methods 0), ``IDAT`` (the zlib-compressed rows, each led by
its filter byte, 0 = none) and an empty ``IEND``.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["COLOR_TYPES", "SIGNATURE", "encode_png"]

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}
"""channels -> PNG colour type: grey, grey + alpha, RGB, RGBA."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def encode_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """The PNG file of a uint8 image (H, W) (grey) or (H, W, C) with C = 1 (grey), 2 (grey +
    alpha), 3 (RGB) or 4 (RGBA); ``level`` is zlib's compression level."""
    a = np.asarray(pixels)
    channels = 1 if a.ndim == 2 else a.shape[-1]
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or channels not in COLOR_TYPES \
            or 0 in a.shape[:2]:
        raise ValueError(f"encode_png: expected a non-empty uint8 image (H, W) or (H, W, C) "
                         f"with C in 1..4, got dtype {a.dtype} and shape {a.shape}")
    height, width = a.shape[:2]
    rows = np.zeros((height, 1 + width * channels), np.uint8)  # column 0: filter type 0
    rows[:, 1:] = a.reshape(height, width * channels)
    header = struct.pack(">IIBBBBB", width, height, 8, COLOR_TYPES[channels], 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) + _chunk(b"IEND", b""))
