"""Element types of weight files written by other programs (``torch.save``, safetensors).

tg tensors hold float32/float64, int8/16/32/64, uint8 and bool. A foreign file may
store more; its raw elements are read with the numpy dtype in ``WIRE`` and then
``decode`` turns them into a tg dtype, exactly:

=========  ==================================  ==============================
wire type  raw elements                         tg tensor
=========  ==================================  ==============================
float16    numpy float16                        float32 (every half is a float32)
bfloat16   uint16 bit patterns                  float32 (see below)
uint16     numpy uint16                         int32
uint32     numpy uint32                         int64
bool       one byte each                        bool (any non-zero byte is True)
others     float32/64, int8/16/32/64, uint8     unchanged
=========  ==================================  ==============================

A bfloat16 is the upper half of a float32 (sign, 8 exponent bits, 7 mantissa bits),
so its float32 value is its 16 bits shifted left by 16: ``bits.astype(uint32) << 16``
viewed as float32. Anything else (complex, float8, uint64, quantized types) is refused
by the readers, naming the type.
"""
from __future__ import annotations

import numpy as np

__all__ = ["RESULT", "WIRE", "decode"]

WIRE: dict[str, np.dtype] = {
    name: np.dtype(raw) for name, raw in (
        ("float64", np.float64), ("float32", np.float32), ("float16", np.float16),
        ("bfloat16", np.uint16), ("int64", np.int64), ("int32", np.int32),
        ("int16", np.int16), ("int8", np.int8), ("uint8", np.uint8), ("bool", np.uint8),
        ("uint16", np.uint16), ("uint32", np.uint32),
    )
}
_CHANGED = {"float16": np.float32, "bfloat16": np.float32, "uint16": np.int32,
          "uint32": np.int64, "bool": np.bool_}
# the tg dtype each wire type is read as
RESULT: dict[str, np.dtype] = {name: np.dtype(_CHANGED.get(name, raw))
                               for name, raw in WIRE.items()}


def decode(raw: np.ndarray, wire: str) -> np.ndarray:
    """A new native-endian array of a tg dtype holding the values of ``raw``, an array of
    ``wire`` elements (``raw.dtype`` is ``WIRE[wire]`` in either byte order)."""
    if wire == "bfloat16":
        return (raw.astype(np.uint32) << 16).view(np.float32)
    if wire == "bool":
        return raw != 0
    return raw.astype(RESULT[wire])
