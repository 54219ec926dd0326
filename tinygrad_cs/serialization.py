"""Checkpoints: ``tg.save(obj, f)`` / ``tg.load(f)``, safe by construction.

``obj`` is a tree of dicts, lists and tuples whose leaves are numpy arrays,
tensors, numpy scalars and plain ``int`` / ``float`` / ``str`` / ``bool`` / ``None``:
a model's ``state_dict()``, an optimizer's and a scheduler's, ``tg.get_rng_state()``,
the epoch number, all in one dict. ``f`` is a path or a binary file object, as for
``torch.save`` / ``torch.load``.

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

Nothing is ever unpickled and nothing a file claims is believed before it is checked:
the index is JSON nested at most ``3 * MAX_DEPTH + 2`` deep, each array header is at
most ``MAX_HEADER_SIZE`` bytes and its ``prod(shape) * itemsize`` must be exactly the
data its zip member holds, and the members' sizes must fit in the file (see
``_safe_npz``). So a hostile or broken file raises ``CheckpointError`` naming it, and
never runs code, recurses without bound or allocates more than the file can fill.

Writing to a path is atomic; see ``save`` for what a killed writer leaves behind.

``save`` never pickles: a whole ``Module`` or optimizer is refused with the advice to
save its ``state_dict()``. ``load`` also reads the state-dict files ``torch.save``
writes (a zip archive with a ``data.pkl``, told apart from ours by its members, not by
the file's extension), through ``_torch_pickle``'s restricted reader: it rebuilds
tensors and plain containers and executes nothing from the file. The ``.safetensors``
format, both ways, is in ``tinygrad_cs.safetensors``.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import secrets
import stat
import zipfile
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from ._safe_npz import MAX_DEPTH, MAX_HEADER_SIZE, CheckpointError, check_sizes, read_npy
from ._safe_npz import short as _short
from ._torch_pickle import is_torch_zip, load_torch_zip
from .tensor import Tensor

try:  # POSIX: advisory locks tell a live writer's temp file from a dead one's
    import fcntl
except ImportError:  # pragma: no cover - Windows: no locks, so no clean-up of temp files
    fcntl = None

__all__ = ["MAX_DEPTH", "MAX_HEADER_SIZE", "CheckpointError", "load", "save"]

FORMAT, VERSION = "tinygrad_cs-checkpoint", 1
_INDEX = "__index__"
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH = b"\x80\x02\x8a\x0a"  # pickle protocol 2, then torch's 10-byte magic number
_MAX_JSON_DEPTH = 3 * MAX_DEPTH + 2  # {"dict": [[k, NODE]]} is 3 levels, plus the wrapper
_TEMP = re.compile(r"\..+\.tgcs-[0-9]+-[0-9a-f]{12}\.tmp")


# -- encoding ------------------------------------------------------------------------------
class _Encoder:
    """Turns the object tree into a JSON-able index plus a dict of named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.path: set[int] = set()  # ids of the containers from the root down to here

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
            return {"tensor": self._store(obj.numpy(), where),
                    "requires_grad": obj.requires_grad}
        if isinstance(obj, np.ndarray):
            return {"array": self._store(obj, where)}
        if isinstance(obj, (dict, list, tuple)):
            return self.container(obj, where)
        if callable(getattr(obj, "state_dict", None)):  # a Module or an optimizer
            raise TypeError(f"save: cannot store a whole {type(obj).__name__} at {where}: a "
                            "checkpoint holds data, never pickled code; save its "
                            "state_dict() (tg.save(model.state_dict(), path)), then rebuild "
                            "the object and call load_state_dict(tg.load(path))")
        raise TypeError(f"save: cannot store an object of type {type(obj).__name__} at {where} "
                        "(supported: dict, list, tuple, Tensor, numpy array/scalar, int, float, "
                        "str, bool, None)")

    def container(self, obj: dict | list | tuple, where: str) -> dict:
        if id(obj) in self.path:
            raise ValueError(f"save: {_short(where)} contains itself (a reference cycle), "
                             "which a checkpoint cannot store")
        if len(self.path) == MAX_DEPTH:
            raise ValueError(f"save: {_short(where)} is nested deeper than MAX_DEPTH = "
                             f"{MAX_DEPTH} dicts/lists/tuples, the limit tg.load accepts")
        self.path.add(id(obj))
        if isinstance(obj, dict):
            out = {"dict": [[self.key(k, where), self.node(v, f"{where}[{k!r}]")]
                            for k, v in obj.items()]}
        else:
            kind = "list" if isinstance(obj, list) else "tuple"
            out = {kind: [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        self.path.discard(id(obj))
        return out

    def key(self, key: Any, where: str) -> Any:
        if key is None or isinstance(key, (bool, str)):
            return key
        if isinstance(key, int):
            return int(key)
        if isinstance(key, float) and math.isfinite(key):
            return key
        raise TypeError(f"save: unsupported dict key {key!r} ({type(key).__name__}) in "
                        f"{_short(where)} (keys must be str, int, finite float, bool or None)")


def _members(obj: Any) -> dict[str, np.ndarray]:
    """The .npz members for ``obj``: raises before anything is written."""
    encoder = _Encoder()
    root = encoder.node(obj, "obj")
    try:
        index = json.dumps({"format": FORMAT, "version": VERSION, "root": root},
                           allow_nan=False)
    except ValueError as e:  # e.g. an int past Python's 4300-digit str() limit
        raise ValueError(f"save: cannot write the checkpoint's index: {e}") from None
    members = dict(encoder.arrays)
    members[_INDEX] = np.frombuffer(index.encode("utf-8"), dtype=np.uint8)
    return members


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Write ``obj`` (nested dicts/lists/tuples of arrays, tensors, numbers, strings) to ``f``,
    a path or a binary file object (``io.BytesIO``, ``open(p, "wb")``).

    A ``save`` that raises leaves the destination as it was: the object is encoded (and
    refused, e.g. for an unsupported type, a reference cycle, or more than ``MAX_DEPTH``
    nested containers) before anything is written.

    To a path, writing is atomic: the data goes to a temp file
    ``.<name>.tgcs-<pid>-<random>.tmp`` in the destination's directory, is fsync'ed, then
    ``os.replace``d over it, so a crash leaves the old checkpoint or the new one, never
    half of one. The writer holds an ``flock`` on its temp file until the rename; the
    kernel drops it when the writer dies (even by SIGKILL), so a killed save leaves only
    that temp file, in that directory, and the next ``save`` into the same directory (by
    any process) deletes every such file whose lock is free, never a live writer's
    (whatever its pid: pids are only in the name for people). Without ``fcntl``
    (Windows) nothing is cleaned up. A path that is a symlink is written through to its
    target (as ``open(path, "wb")`` would), the link stays; an existing target keeps its
    permission bits, but a hard-linked target is replaced, not written in place.

    To a file object, the archive is written at its current position, as
    ``torch.save`` does; that is not atomic (a failure mid-write leaves part of it).
    """
    members = _members(obj)
    write_atomically(f, "save", lambda file: np.savez(file, **members))


def write_atomically(f: str | os.PathLike | IO[bytes], op: str,
                     write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(file)`` for ``f``: a binary file object directly, or a path through a
    locked temp file that is fsync'ed and renamed over it (as ``save`` describes), so
    the path holds the old data or the new, never part of it. ``op`` names the caller
    in errors."""
    if not isinstance(f, (str, os.PathLike)) and hasattr(f, "write"):
        _check_binary(f, op, "wb")
        write(f)
        return
    path = _path(f, op)
    target = os.path.realpath(path)  # through symlinks, as open(path, "wb") would write
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{op}: cannot write {path}: no directory {folder}")
    _remove_stale_temps(folder)
    tmp, file = _locked_temp(folder, os.path.basename(target))
    try:
        with file:
            if os.path.exists(target):
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
            write(file)
            file.flush()
            os.fsync(file.fileno())
            if fcntl is not None:  # rename while locked: a cleaner never sees it unlocked
                os.replace(tmp, target)
        if fcntl is None:  # Windows cannot rename an open file
            os.replace(tmp, target)
    except BaseException:
        if os.path.lexists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)


def _locked_temp(folder: str, name: str) -> tuple[str, IO[bytes]]:
    """A new temp file in ``folder``, opened for writing and (on POSIX) flock'ed."""
    while True:
        tmp = os.path.join(folder, f".{name}.tgcs-{os.getpid()}-{secrets.token_hex(6)}.tmp")
        # open(..., "xb") rather than mkstemp: the usual umask permissions; the caller
        # closes it (a context manager here would close it too early)
        file = open(tmp, "xb")  # noqa: SIM115
        if fcntl is None:
            return tmp, file
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)
            if os.fstat(file.fileno()).st_nlink > 0:
                return tmp, file
        except BaseException:
            file.close()
            os.remove(tmp)
            raise
        # a cleaner locked and deleted it in the instant between open and flock
        file.close()


def _remove_stale_temps(folder: str) -> None:
    """Delete the temp files in ``folder`` whose writer is gone (its flock is free)."""
    if fcntl is None:
        return
    try:
        with os.scandir(folder) as listing:
            entries = list(listing)
    except PermissionError:  # a directory we may write but not list: nothing we can find
        return
    for entry in entries:
        if not (_TEMP.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)):
            continue
        try:  # O_NONBLOCK: a FIFO given such a name must not hang the open
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, PermissionError):  # gone already, or another user's
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(entry.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino:
                os.unlink(entry.path)
        except (BlockingIOError, FileNotFoundError, PermissionError):
            continue  # a live writer holds it; it was renamed or removed; not ours to remove
        finally:
            os.close(fd)


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
def load(f: str | os.PathLike | IO[bytes], map_location: Any = None,
         weights_only: bool = True) -> Any:
    """Read a checkpoint written by ``save`` from a path or a binary file object: tensors
    come back as ``tg.Tensor`` (same dtype), arrays as arrays, numbers, strings and
    containers as they were.

    A file written by ``torch.save`` (PyTorch 1.6 or later) loads too, as the same tree
    of dicts (an ``OrderedDict`` stays one), lists, tuples and numbers with ``tg.Tensor``
    leaves, so ``model.load_state_dict(tg.load("resnet.pt"))`` works when the
    architecture matches; Parameters come back as plain tensors, float16 and bfloat16 as
    float32 (see ``_torch_pickle`` and ``_wire_dtypes``).

    ``map_location`` and ``weights_only`` are accepted so that ``torch.load`` calls
    port unchanged; loading is always weights-only (no code can run, whatever
    ``weights_only`` says) and on the CPU. Raises ``CheckpointError`` naming the file
    for anything that is not a valid checkpoint (a plain pickle, a legacy non-zip
    ``torch.save`` file, a pickle naming any global beyond tensors and containers, a
    truncated or foreign file, a plain ``.npz``, headers or views that claim more than
    the file holds, containers nested too deep); it changes no file.
    """
    if not isinstance(f, (str, os.PathLike)) and hasattr(f, "read"):
        _check_binary(f, "load", "rb")
        return _load(f, str(getattr(f, "name", f"<{type(f).__name__}>")))
    path = _path(f, "load")
    with open(path, "rb") as file:
        return _load(file, path)


def _load(file: IO[bytes], name: str) -> Any:
    head = file.read(len(_ZIP_MAGIC))
    if head != _ZIP_MAGIC:
        raise CheckpointError(f"load: {name} is not a tinygrad_cs checkpoint: "
                              f"{_describe(head)}")
    if file.seekable():
        file.seek(-len(head), io.SEEK_CUR)
    else:  # zip's directory is at the end: a pipe has to be read whole
        file = io.BytesIO(head + file.read())
    try:
        return _read_zip(file, name)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError) as e:
        raise CheckpointError(f"load: {name} is truncated or corrupted ({type(e).__name__}: "
                              f"{e})") from None


def _read_zip(file: IO[bytes], name: str) -> Any:
    """The object in the zip archive in ``file``: a tinygrad_cs checkpoint or a
    ``torch.save`` file, told apart by their members, every size claim checked before
    anything is allocated (see ``_safe_npz``)."""
    start = file.tell()
    end = file.seek(0, io.SEEK_END)
    file.seek(start)
    with zipfile.ZipFile(file) as archive:
        infos = archive.infolist()
        names = [i.filename for i in infos]
        if f"{_INDEX}.npy" in names:
            check_sizes(infos, end, name)
            index, arrays = _arrays(archive, name)
            return _Decoder(arrays, name).node(index["root"])
        if is_torch_zip(names):
            check_sizes(infos, end, name)
            return load_torch_zip(archive, name, end - start)
        raise CheckpointError(
            f"load: {name} is a zip archive without a tinygrad_cs index or a torch.save "
            f"data.pkl (members: {', '.join(names[:5]) or 'none'}): a plain .npz (read it "
            "with numpy.load) or another program's file")


def _arrays(archive: zipfile.ZipFile, name: str) -> tuple[dict, dict[str, np.ndarray]]:
    """The index and the arrays of a tinygrad_cs checkpoint."""
    infos = {i.filename[:-4]: i for i in archive.infolist() if i.filename.endswith(".npy")}
    index = _read_index(read_npy(archive, infos.pop(_INDEX), name), name)
    return index, {key: read_npy(archive, info, name) for key, info in infos.items()}


def _read_index(raw: np.ndarray, path: str) -> dict:
    text = raw.tobytes()
    depth = _json_depth(text)
    if depth > _MAX_JSON_DEPTH:
        raise CheckpointError(f"load: {path} has an index nested {depth} levels deep, over "
                              f"the limit of {_MAX_JSON_DEPTH} (MAX_DEPTH = {MAX_DEPTH} "
                              "containers)")
    try:
        index = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, a huge int literal
        raise CheckpointError(f"load: {path} has an unreadable index ({e})") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT or "root" not in index:
        raise CheckpointError(f"load: {path} has an index of a different format")
    if index.get("version") != VERSION:
        raise CheckpointError(f"load: {path} is checkpoint format version "
                              f"{index.get('version')!r}; this tinygrad_cs reads version "
                              f"{VERSION}")
    return index


def _json_depth(text: bytes) -> int:
    """How deeply the ``[`` / ``{`` of JSON ``text`` nest (brackets inside strings aside)."""
    outside = re.sub(rb'"[^"\\]*(?:\\.[^"\\]*)*"', b"", text, flags=re.DOTALL)
    codes = np.frombuffer(outside, dtype=np.uint8)
    opens = (codes == ord("[")) | (codes == ord("{"))
    closes = (codes == ord("]")) | (codes == ord("}"))
    steps = opens.astype(np.int64) - closes
    return int(np.cumsum(steps).max(initial=0))


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
    if head == _LEGACY_TORCH:
        return ("it looks like a legacy torch.save file (PyTorch < 1.6, or "
                "_use_new_zipfile_serialization=False), which tinygrad_cs does not read; "
                "re-save it with a current PyTorch: torch.save(torch.load(path), new_path)")
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}"):
        return ("it looks like a pickle (e.g. written by torch.save or pickle.dump); it is "
                "not loaded, because unpickling can run arbitrary code")
    if head.startswith(b"\x93NUM"):
        return "it is a single .npy array (read it with numpy.load)"
    return f"it does not start with a zip (.npz) header (first bytes {head!r})"


def _check_binary(f: Any, op: str, mode: str) -> None:
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{op}: {getattr(f, 'name', 'the file')} is open in text mode; "
                        f"open it in binary mode ({mode!r})")


def _path(f: Any, op: str) -> str:
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"{op}: expected a file path (str or os.PathLike) or a binary file "
                        f"object, got {type(f).__name__}")
    return os.fspath(f)
