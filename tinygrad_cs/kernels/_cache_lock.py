"""One writer at a time per Numba cache directory, across processes.

Numba saves a compiled kernel in two files: the function's index (``<name>.nbi``, a
pickled ``{signature key: data file name}``) and a data file (``<name>.<n>.nbc``). Each
file is written to a temporary name and renamed, so a reader never sees half a file, but
the index update is read-modify-write. Two processes compiling the same function at once
(the background compile of ``_background.py`` beside the run that needs the kernels) could
therefore lose each other's entries, or both pick data file ``<name>.1.nbc`` for different
signatures, so that the index names one signature's machine code for another. ``install()``
wraps Numba's ``IndexDataCacheFile.save`` in an exclusive ``flock`` on one lock file per
cache directory (``.tinygrad_cs.lock``): the read-modify-write of the index and the data
file are then one step, and SIGINT / SIGTERM wait until it is done (so stopping a compiling
process never leaves an index naming a missing file, or a stray temporary file). Saves take
milliseconds; only compiling processes ever wait.

Where ``fcntl`` is missing (Windows) or Numba's internals differ from what this expects
(checked once, on a probe object), ``install()`` returns False and nothing changes; the
background compile is then not used.
"""
from __future__ import annotations

import contextlib
import functools
import os
import signal

LOCK_NAME = ".tinygrad_cs.lock"

_DEFERRED = {signal.SIGINT, signal.SIGTERM}   # delivered once the save is done

_installed = False


@contextlib.contextmanager
def locked(folder: str):
    """Hold the exclusive lock of cache directory ``folder`` (created if missing)."""
    import fcntl
    os.makedirs(folder, exist_ok=True)
    fd = os.open(os.path.join(folder, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)     # released by close, or by the kernel if we die
        yield
    finally:
        os.close(fd)


def install() -> bool:
    """Serialise Numba's cache saves between processes; True when in place."""
    global _installed
    if _installed:
        return True
    try:
        import fcntl  # noqa: F401 - only to know whether flock exists here

        from numba.core.caching import IndexDataCacheFile
    except ImportError:
        return False
    save = getattr(IndexDataCacheFile, "save", None)
    try:  # the constructor only names the files: does this Numba keep the index where we look?
        probe = IndexDataCacheFile(os.path.join("folder", "sub"), "name", None)._index_path
    except (AttributeError, TypeError):
        return False
    if (save is None or os.path.dirname(probe) != os.path.join("folder", "sub")
            or not hasattr(signal, "pthread_sigmask")):
        return False

    @functools.wraps(save)
    def locked_save(self, key, data):
        # a signal mid-save would leave an index naming a data file never written
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        try:
            with locked(os.path.dirname(self._index_path)):
                return save(self, key, data)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    IndexDataCacheFile.save = locked_save
    _installed = True
    return True
