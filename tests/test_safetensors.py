"""``tinygrad_cs.safetensors``: files move both ways with ``safetensors.torch``, and hostile
headers raise a clear error."""
import json
import os
import struct
import sys

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.safetensors import load, load_file, save, save_file
from tinygrad_cs.serialization import CheckpointError

safetensors = pytest.importorskip("safetensors")


def _torch():
    torch = pytest.importorskip("torch")
    return torch, pytest.importorskip("safetensors.torch")


def test_files_written_by_safetensors_torch_load_with_their_values(tmp_path):
    torch, st = _torch()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, generator=g) * 100
    tensors = {"f32": x, "f64": x.double(), "f16": x.half(), "bf16": x.bfloat16(),
               "i64": x.long(), "i32": x.int(), "i16": x.short(), "i8": x.to(torch.int8),
               "u8": x.abs().to(torch.uint8), "bool": x > 0, "scalar": torch.tensor(2.5),
               "empty": torch.zeros(0, 3), "u16": x.abs().int().to(torch.uint16)}
    path = tmp_path / "torch.safetensors"
    st.save_file(tensors, str(path), metadata={"format": "pt"})
    loaded = load_file(path)
    assert sorted(loaded) == sorted(tensors)
    wider = {torch.float16: torch.float32, torch.bfloat16: torch.float32,
             torch.uint16: torch.int32}
    for name, t in tensors.items():
        expected = t.to(wider.get(t.dtype, t.dtype)).numpy()
        assert isinstance(loaded[name], tg.Tensor)
        assert loaded[name].dtype == expected.dtype, name
        np.testing.assert_array_equal(loaded[name].numpy(), expected, err_msg=name)
    assert load(path.read_bytes()).keys() == loaded.keys()


def test_files_we_write_load_in_torch(tmp_path):
    _, st = _torch()
    tg.manual_seed(1)
    tensors = {"w": tg.randn(4, 3), "w64": tg.randn(2, 2).double(), "labels": tg.arange(5),
               "mask": tg.tensor([True, False]), "bytes": np.arange(4, dtype=np.uint8),
               "half": np.array([1.5, -2.0], dtype=np.float16),
               "strided": tg.randn(4, 6)[:, ::2], "big_endian": np.arange(3, dtype=">i4")}
    path = tmp_path / "ours.safetensors"
    save_file(tensors, path, metadata={"epoch": "3"})
    theirs = st.load_file(str(path))
    for name, t in tensors.items():
        expected = t.numpy() if isinstance(t, tg.Tensor) else t
        np.testing.assert_array_equal(theirs[name].numpy(), expected, err_msg=name)
        assert theirs[name].numpy().dtype == expected.dtype.newbyteorder("="), name
    with safetensors.safe_open(str(path), framework="np") as f:
        assert f.metadata() == {"epoch": "3"}
    assert [p.name for p in tmp_path.iterdir()] == ["ours.safetensors"]  # no temp file left


def test_a_tg_model_moves_to_torch_and_back(tmp_path):
    torch, st = _torch()
    tg.manual_seed(2)
    ours = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    path = tmp_path / "model.safetensors"
    save_file(ours.state_dict(), path)
    theirs.load_state_dict(st.load_file(str(path)))
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(tg.tensor(x)).numpy(), expected, rtol=1e-6, atol=1e-6)

    again = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    st.save_file(theirs.state_dict(), str(path))
    again.load_state_dict(load_file(path))
    np.testing.assert_array_equal(again(tg.tensor(x)).numpy(), ours(tg.tensor(x)).numpy())


def test_bytes_round_trip_without_torch():
    arrays = {"a": np.arange(6, dtype=np.float64).reshape(2, 3), "b": np.array([1, 2], np.int8)}
    data = save(arrays, metadata={"note": "x"})
    out = load(data)
    for name, a in arrays.items():
        assert out[name].dtype == a.dtype
        np.testing.assert_array_equal(out[name].numpy(), a)
    assert load(bytearray(data))["b"].tolist() == [1, 2]


# -- hostile and broken files ---------------------------------------------------------------
def _file(header, data=b"", length=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + data


@pytest.mark.parametrize("raw, words", [
    (_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 100]}}, b"\0" * 8),
     "not a valid safetensors file"),  # offsets out of range
    (_file({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12),
     "not a valid safetensors file"),  # overlapping
    (_file({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
     "not a valid safetensors file"),  # size does not match the shape
    (_file({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 12),
     "not a valid safetensors file"),  # bytes left over after the last tensor
    (_file(b'{"w": {"dtype": "F32", "shape": [1], "data_off'), "not a valid safetensors file"),
    (_file(b"[1, 2, 3]"), "not a valid safetensors file"),
    (_file(b"{}", length=2**63), "claims 9223372036854775808 bytes"),
    (_file({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8)[:-3],
     "not a valid safetensors file"),  # truncated
    (b"\x05\x00\x00", "shorter than the 8-byte header length"),
    (_file({"w": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8),
     "C64"),
])
def test_hostile_or_broken_headers_raise_a_clear_error(tmp_path, raw, words):
    path = tmp_path / "evil.safetensors"
    path.write_bytes(raw)
    with pytest.raises(CheckpointError, match=words) as e:
        load_file(path)
    assert str(path) in str(e.value)
    with pytest.raises(CheckpointError, match=words):
        load(raw)


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"old")
    for tensors, words in (([tg.ones(2)], "dict of names"), ({1: tg.ones(2)}, "names must be str"),
                           ({"m": nn.Linear(2, 2)}, "not a tensor"),
                           ({"o": np.array([None])}, "dtype object"),
                           ({"c": np.ones(2, np.complex64)}, "dtype complex64")):
        with pytest.raises(TypeError, match=words):
            save_file(tensors, path)
    with pytest.raises(TypeError, match="metadata must be a dict of str to str"):
        save_file({"w": tg.ones(2)}, path, metadata={"epoch": 3})
    assert path.read_bytes() == b"old"
    with pytest.raises(RuntimeError, match="CPU only"):
        load_file(path, device="cuda")
    with pytest.raises(TypeError, match="bytes"):
        load("model.safetensors")


def test_without_the_package_an_import_error_says_how_to_install_it(monkeypatch, tmp_path):
    for name in [m for m in sys.modules if m == "safetensors" or m.startswith("safetensors.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "safetensors", None)  # "import safetensors" now fails
    with pytest.raises(ImportError, match="pip install safetensors"):
        save({"w": tg.ones(2)})
    with pytest.raises(ImportError, match="needs the safetensors package"):
        load_file(os.fspath(tmp_path / "missing.safetensors"))
