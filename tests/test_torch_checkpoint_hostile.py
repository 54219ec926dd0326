"""Hostile and broken ``torch.save``-style archives: ``tg.load`` refuses each one, naming the
file and the problem, and runs nothing. The archives are written opcode by opcode here, so
these tests need no torch."""
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.serialization import CheckpointError


# -- a tiny pickle writer: protocol 2 opcodes, as torch.save emits them ---------------------------
def s(text):
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def i(n):
    if -2**31 <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes(n.bit_length() // 8 + 1, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw  # LONG1


def glob(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def tup(*items):
    return b"(" + b"".join(items) + b"t"


def call(function, *args):
    return function + tup(*args) + b"R"


def storage(key, numel, kind="FloatStorage"):
    return tup(s("storage"), glob("torch", kind), s(key), s("cpu"), i(numel)) + b"Q"


def tensor(key, numel, size, stride, offset=0, kind="FloatStorage"):
    return call(glob("torch._utils", "_rebuild_tensor_v2"), storage(key, numel, kind), i(offset),
                tup(*map(i, size)), tup(*map(i, stride)), b"\x89",
                call(glob("collections", "OrderedDict")))


def dict_of(**items):
    return b"}(" + b"".join(s(k) + v for k, v in items.items()) + b"u"


def archive(body, storages=None, extra=None, prefix="archive", protocol=2):
    """The bytes of a torch.save-style zip whose data.pkl is ``body`` (opcodes)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{prefix}/data.pkl", bytes([0x80, protocol]) + body + b".")
        z.writestr(f"{prefix}/byteorder", b"little")
        for key, data in (storages or {}).items():
            z.writestr(f"{prefix}/data/{key}", data)
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        z.writestr(f"{prefix}/version", b"3\n")
    return out.getvalue()


def floats(*values):
    return np.array(values, dtype="<f4").tobytes()


def refused(tmp_path, data, *words):
    """Write ``data`` to a file, load it: a CheckpointError naming the file and ``words``."""
    path = tmp_path / "evil.pt"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as e:
        tg.load(path)
    message = str(e.value)
    assert str(path) in message
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "code from the file ran"


# -- the reader itself works without torch -------------------------------------------------------
def test_a_hand_written_archive_loads(tmp_path):
    body = dict_of(w=tensor("0", 6, (2, 3), (3, 1)), col=tensor("0", 6, (2,), (3,), offset=1),
                   n=tensor("1", 1, (), (), kind="LongStorage"))
    path = tmp_path / "ok.pt"
    path.write_bytes(archive(body, {"0": floats(0, 1, 2, 3, 4, 5),
                                    "1": np.array([7], "<i8").tobytes()}))
    loaded = tg.load(path)
    np.testing.assert_array_equal(loaded["w"].numpy(), [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(loaded["col"].numpy(), [1, 4])
    assert loaded["n"].dtype == np.int64 and loaded["n"].item() == 7


# -- code execution ----------------------------------------------------------------------------
@pytest.mark.parametrize("module, name", [("os", "system"), ("posix", "system"),
                                          ("subprocess", "check_call"), ("builtins", "exec")])
def test_a_global_that_runs_a_command_is_refused(tmp_path, marker, module, name):
    body = call(glob(module, name), s(f"touch {marker}"))
    refused(tmp_path, archive(body), f"{module}.{name}", "does not allow")


def test_builtins_eval_is_refused(tmp_path, marker):
    body = call(glob("builtins", "eval"), s(f"open({str(marker)!r}, 'w')"))
    refused(tmp_path, archive(body), "builtins.eval")


def test_a_real_malicious_pickle_is_refused(tmp_path, marker):
    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    body = pickle.dumps({"w": Evil()}, protocol=2)[2:-1]  # without PROTO and STOP
    refused(tmp_path, archive(body), ".system")


def test_stack_global_tricks_are_refused(tmp_path, marker):
    stack_global = b"\x93"
    for module, name in (("os", "system"), ("torch._utils", "_rebuild_tensor_v2.__globals__"),
                         ("builtins", "getattr"), ("collections", "OrderedDict.__init__")):
        body = s(module) + s(name) + stack_global + tup(s(f"touch {marker}")) + b"R"
        refused(tmp_path, archive(body, protocol=4), f"{module}.{name}")


def test_allowed_functions_cannot_be_changed_by_build(tmp_path):
    # BUILD (b) with a state dict would set attributes on the rebuild function itself
    body = glob("torch._utils", "_rebuild_tensor_v2") + dict_of(__defaults__=tup(i(1))) + b"b"
    refused(tmp_path, archive(body), "set attributes")
    test_a_hand_written_archive_loads(tmp_path)  # and nothing changed for the next load


def test_a_global_used_as_a_value_or_an_unknown_call_is_refused(tmp_path):
    refused(tmp_path, archive(dict_of(t=glob("torch", "FloatStorage"))), "torch.FloatStorage",
            "not a tensor")
    refused(tmp_path, archive(call(glob("torch", "float32"))), "not callable")
    refused(tmp_path, archive(call(glob("torch._utils", "_rebuild_qtensor"))),
            "torch._utils._rebuild_qtensor")


# -- claims the file cannot back -----------------------------------------------------------------
def test_views_past_their_storage_are_refused(tmp_path):
    data = {"0": floats(*range(6))}
    refused(tmp_path, archive(tensor("0", 6, (2,), (1,), offset=5), data), "reaches element 6",
            "past its 6 elements")
    refused(tmp_path, archive(tensor("0", 6, (2, 3), (4, 1)), data), "reaches element 6")
    refused(tmp_path, archive(tensor("0", 6, (3,), (1,), offset=7), data), "offset 7")
    refused(tmp_path, archive(tensor("0", 6, (2,), (-1,), offset=3), data), "negative")
    refused(tmp_path, archive(tensor("0", 6, (2, 3), (1,)), data), "equally long tuples")


def test_a_huge_claimed_size_with_a_tiny_member_is_refused(tmp_path):
    refused(tmp_path, archive(tensor("0", 10**12, (10**12,), (1,)), {"0": floats(1, 2)}),
            "claims 1000000000000 float32 elements", "holds 8 bytes")


def test_a_stride_zero_view_cannot_make_us_allocate_without_bound(tmp_path):
    # a valid view (every element is storage element 0), but 8 TB once copied
    body = tensor("0", 1, (10**6, 10**6), (0, 0))
    refused(tmp_path, archive(body, {"0": floats(1)}), "times the file's size")
    # fifty calls of one rebuild with one memoized argument tuple: 3 bytes each, 400 kB out
    args = tup(storage("0", 1), i(0), tup(i(100_000)), tup(i(0)), b"\x89",
               call(glob("collections", "OrderedDict")))
    rebuild = glob("torch._utils", "_rebuild_tensor_v2")
    many = b"](" + rebuild + b"q\x00" + args + b"q\x01R" + b"h\x00h\x01R" * 50 + b"e"
    refused(tmp_path, archive(many, {"0": floats(1)}), "times the file's size")


def test_deep_nesting_and_cycles_are_refused(tmp_path):
    depth = 100_000
    nested = b"]" * depth + b"a" * (depth - 1)  # [[[...]]]
    refused(tmp_path, archive(nested), "nested deeper than 100")
    cycle = b"]q\x00h\x00a"  # a list that contains itself
    refused(tmp_path, archive(cycle), "reference cycle")


def test_a_shared_object_is_copied_once(tmp_path):
    # each level holds the one below twice: 2**60 paths, 60 objects
    body = b"]q\x00"
    for level in range(1, 61):
        body += b"(" + b"h" + bytes([level - 1]) + b"h" + bytes([level - 1]) + b"l"
        body += b"q" + bytes([level])
    path = tmp_path / "dag.pt"
    path.write_bytes(archive(body))
    loaded = tg.load(path)
    node = loaded
    for _ in range(60):  # a DAG of 60 lists, not a tree of 2**60 paths expanded
        assert node[0] is node[1]
        node = node[0]
    assert node == []


@pytest.mark.parametrize("bad", ["archive/../evil", "/archive/data/0", "archive/./x"])
def test_a_member_name_with_dot_dot_or_an_absolute_path_is_refused(tmp_path, bad):
    refused(tmp_path, archive(b"N", extra={bad: b"x"}), "zip member named", bad)


def test_a_storage_key_that_is_a_path_is_refused(tmp_path):
    body = tensor("../0", 1, (1,), (1,))
    refused(tmp_path, archive(body, extra={"archive/0": floats(1)}), "not a plain name")
    refused(tmp_path, archive(tensor("7", 1, (1,), (1,))), "no member archive/data/7")


def test_one_storage_read_as_two_types_is_refused(tmp_path):
    body = tup(tensor("0", 2, (2,), (1,)), tensor("0", 1, (1,), (1,), kind="LongStorage"))
    refused(tmp_path, archive(body, {"0": floats(1, 2)}), "used both as")


def test_bad_persistent_ids_byte_order_and_pickles_are_refused(tmp_path):
    refused(tmp_path, archive(tup(s("module"), s("x")) + b"Q"), "unknown persistent id")
    bad_type = tup(s("storage"), glob("torch", "float32"), s("0"), s("cpu"), i(1)) + b"Q"
    refused(tmp_path, archive(bad_type, {"0": floats(1)}), "not a storage")
    data = archive(b"N").replace(b"little", b"middle")
    refused(tmp_path, data, "byteorder")
    refused(tmp_path, archive(b"\xff"), "corrupted")


def test_a_truncated_archive_is_refused(tmp_path):
    whole = archive(dict_of(w=tensor("0", 6, (6,), (1,))), {"0": floats(*range(6))})
    for cut in (len(whole) // 3, len(whole) - 30):
        refused(tmp_path, whole[:cut], "truncated")


def test_a_zip_that_is_not_a_checkpoint_is_refused(tmp_path):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", b"hello")
    refused(tmp_path, out.getvalue(), "without a tinygrad_cs index or a torch.save data.pkl",
            "readme.txt")
    two = archive(b"N", extra={"other/data.pkl": b"\x80\x02N."})
    refused(tmp_path, two, "one folder")
