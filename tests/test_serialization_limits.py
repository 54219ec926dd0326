"""tg.load believes nothing a file claims until it is checked: crafted headers, oversized
headers, deep indexes and forged zip sizes are refused with a CheckpointError naming the file;
tg.save refuses what tg.load would refuse. Our own .npy reader is checked bit for bit."""
from __future__ import annotations

import io
import json
import os
import struct
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

import tinygrad_cs as tg
from tinygrad_cs import serialization
from tinygrad_cs.serialization import MAX_DEPTH, CheckpointError


def npy(header: dict, data: bytes) -> bytes:
    """A .npy member: magic, version 1.0 header for ``header``, then ``data`` as is."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def index_npy(root) -> bytes:
    raw = json.dumps({"format": "tinygrad_cs-checkpoint", "version": 1, "root": root})
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.frombuffer(raw.encode(), dtype=np.uint8))
    return buf.getvalue()


def write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)


def forge_sizes(data: bytes, name: str, compress_size: int, file_size: int) -> bytes:
    """Rewrite a member's sizes in both its local and its central-directory header."""
    out = bytearray(data)
    key = name.encode()
    local = out.find(b"PK\x03\x04")
    while out[local + 30:local + 30 + len(key)] != key:
        local = out.find(b"PK\x03\x04", local + 1)
    struct.pack_into("<II", out, local + 18, compress_size, file_size)
    central = out.find(b"PK\x01\x02")
    while out[central + 46:central + 46 + len(key)] != key:
        central = out.find(b"PK\x01\x02", central + 1)
    struct.pack_into("<II", out, central + 20, compress_size, file_size)
    return bytes(out)


def test_a_tiny_file_claiming_745_gib_is_refused_before_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (100_000, 1_000_000)}
    write_zip(path, {"__index__.npy": index_npy({"array": "a0"}),
                     "a0.npy": npy(header, bytes(16))})
    assert path.stat().st_size < 1000
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=r"bomb\.npz.*a0\.npy.*claims shape "
                                              r"\(100000, 1000000\).*800000000000 bytes.*16 b"):
        tg.load(path)
    assert path.read_bytes() == before  # a failing load changes nothing


def test_a_header_claiming_less_than_the_member_holds_is_refused(tmp_path):
    path = tmp_path / "short.npz"
    header = {"descr": "<f4", "fortran_order": False, "shape": (2,)}
    write_zip(path, {"__index__.npy": index_npy({"array": "a0"}),
                     "a0.npy": npy(header, bytes(12))})
    with pytest.raises(CheckpointError, match=r"short\.npz.*\(2,\).*8 bytes.*12 bytes"):
        tg.load(path)


def test_an_oversized_header_is_refused_as_such(tmp_path):
    path = tmp_path / "big_header.npz"
    text = repr({"descr": "<f8", "fortran_order": False, "shape": (1,)}).encode()
    text += b" " * (20_000 - len(text) - 1) + b"\n"
    member = b"\x93NUMPY\x02\x00" + struct.pack("<I", len(text)) + text + bytes(8)
    write_zip(path, {"__index__.npy": index_npy({"array": "a0"}), "a0.npy": member})
    with pytest.raises(CheckpointError, match=r"big_header\.npz.*a0\.npy.*20000-byte array "
                                              r"header.*limit of 10000") as e:
        tg.load(path)
    assert "pickle" not in str(e.value)


@pytest.mark.parametrize("header", [
    "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
    "{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}",
    "{'descr': '<f8', 'shape': (1,)}",
    "__import__('os').system('echo pwned')",
    "{'descr': 'not a dtype', 'fortran_order': False, 'shape': (1,)}",
])
def test_malformed_headers_are_refused(tmp_path, header):
    text = header.encode() + b"\n"
    member = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + bytes(8)
    path = tmp_path / "odd.npz"
    write_zip(path, {"__index__.npy": index_npy({"array": "a0"}), "a0.npy": member})
    with pytest.raises(CheckpointError, match=r"odd\.npz.*a0\.npy.*invalid"):
        tg.load(path)


def test_a_forged_inflated_size_is_refused(tmp_path):
    """The central directory claims 3.2 GB inflate from a few hundred stored bytes."""
    n = 400_000_000
    header = {"descr": "<f8", "fortran_order": False, "shape": (n,)}
    member = npy(header, bytes(1000))
    path = tmp_path / "deflated.npz"
    write_zip(path, {"__index__.npy": index_npy({"array": "a0"}), "a0.npy": member},
              zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as z:
        stored = z.getinfo("a0.npy").compress_size
    claimed = len(member) - 1000 + 8 * n
    path.write_bytes(forge_sizes(path.read_bytes(), "a0.npy", stored, claimed))
    with pytest.raises(CheckpointError, match=rf"deflated\.npz.*a0\.npy claims {claimed} "
                                              rf"bytes from {stored} stored"):
        tg.load(path)


def test_a_member_claiming_more_than_the_file_holds_there_is_refused(tmp_path):
    path = tmp_path / "overlap.npz"
    a0 = npy({"descr": "<f8", "fortran_order": False, "shape": (4,)}, bytes(32))
    write_zip(path, {"a0.npy": a0, "__index__.npy": index_npy({"array": "a0"})})
    size = path.stat().st_size  # a0 now claims to run over the index member and past the end
    path.write_bytes(forge_sizes(path.read_bytes(), "a0.npy", size, size))
    with pytest.raises(CheckpointError, match=rf"overlap\.npz.*a0\.npy claims {size} bytes, "
                                              "more than the file holds"):
        tg.load(path)


def test_np_savez_compressed_files_load(tmp_path):
    path = tmp_path / "compressed.npz"
    raw = json.dumps({"format": "tinygrad_cs-checkpoint", "version": 1,
                      "root": {"list": [{"array": "a0"}, {"tensor": "a1"}]}}).encode()
    w = np.zeros((300, 300))  # compresses ~1000:1, inside deflate's bound
    np.savez_compressed(path, __index__=np.frombuffer(raw, dtype=np.uint8), a0=w,
                        a1=np.arange(5, dtype=np.int32))
    a, t = tg.load(path)
    assert np.array_equal(a, w) and t.dtype == np.int32 and t.tolist() == list(range(5))


# -- depth limits ----------------------------------------------------------------------------
def nested(depth: int, kind: str, leaf):
    for _ in range(depth):
        leaf = {"k[[{": leaf} if kind == "dict" else [leaf]
    return leaf


@pytest.mark.parametrize("kind", ["dict", "list"])
def test_save_accepts_exactly_max_depth_and_load_reads_it_back(tmp_path, kind):
    obj = nested(MAX_DEPTH, kind, tg.tensor([1.0, 2.0]))
    tg.save(obj, tmp_path / "deep.npz")
    back = tg.load(tmp_path / "deep.npz")
    for _ in range(MAX_DEPTH):
        back = back["k[[{"] if kind == "dict" else back[0]
    assert back.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("kind", ["dict", "list"])
def test_save_refuses_deeper_nesting_and_writes_nothing(tmp_path, kind):
    path = tmp_path / "ckpt.npz"
    tg.save({"old": 1}, path)
    before = path.read_bytes()
    with pytest.raises(ValueError, match=rf"nested deeper than MAX_DEPTH = {MAX_DEPTH}"):
        tg.save(nested(MAX_DEPTH + 1, kind, 0), path)
    with pytest.raises(ValueError, match="nested deeper"):
        tg.save(nested(100_000, kind, 0), path)  # not a RecursionError
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.npz"]


def test_save_refuses_a_reference_cycle(tmp_path):
    loop = {"a": [1]}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match=r"obj\['a'\]\[1\] contains itself"):
        tg.save(loop, tmp_path / "x")
    shared = [1.0]
    tg.save([shared, shared], tmp_path / "x")  # shared, not cyclic: fine
    assert tg.load(tmp_path / "x") == [[1.0], [1.0]]


def test_strings_that_look_like_brackets_do_not_count_as_depth(tmp_path):
    obj = {'\\"' + "[" * 1000: ["{" * 1000 + '"', "]"]}
    tg.save(obj, tmp_path / "x")
    assert tg.load(tmp_path / "x") == obj


@pytest.mark.parametrize("depth", [serialization._MAX_JSON_DEPTH + 1, 200_000])
def test_load_refuses_an_index_nested_too_deep(tmp_path, depth):
    path = tmp_path / "deep.npz"
    lists = depth - 1  # the wrapper object is the first level; each {"list": [...]} adds two
    text = ('{"format": "tinygrad_cs-checkpoint", "version": 1, "root": '
            + '{"list": [' * (lists // 2) + "[" * (lists % 2) + "1" + "]" * (lists % 2)
            + "]}" * (lists // 2) + "}")
    np.savez(path, __index__=np.frombuffer(text.encode(), dtype=np.uint8))
    with pytest.raises(CheckpointError, match=rf"deep\.npz.*nested {depth} levels deep.*limit "
                                              rf"of {serialization._MAX_JSON_DEPTH}"):
        tg.load(path)


def test_save_refuses_an_int_too_long_for_the_index(tmp_path):
    with pytest.raises(ValueError, match="save: cannot write the checkpoint's index"):
        tg.save({"n": 10 ** 5000}, tmp_path / "x")
    assert os.listdir(tmp_path) == []


# -- our .npy reader against numpy's ---------------------------------------------------------
dtypes = (npst.scalar_dtypes() | npst.byte_string_dtypes() | npst.unicode_string_dtypes()
          | npst.integer_dtypes(endianness=">") | npst.floating_dtypes(endianness=">"))


@settings(deadline=None)
@given(npst.arrays(dtypes, npst.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
       st.booleans())
def test_arrays_round_trip_bit_for_bit(array, fortran):
    if fortran:
        array = np.asfortranarray(array)
    buf = io.BytesIO()
    tg.save({"x": array}, buf)
    buf.seek(0)
    back = tg.load(buf)["x"]
    assert back.dtype == array.dtype and back.shape == array.shape
    assert back.tobytes() == array.tobytes()
    assert back.flags.writeable and back.flags.f_contiguous == array.flags.f_contiguous
    buf.seek(0)
    with np.load(buf, allow_pickle=False) as archive:  # numpy reads what we write
        assert archive["a0"].tobytes() == array.tobytes()
