"""A second process that compiles, into the shared cache, the kernels a cold run needs later.

On a cold cache the first ``tgcs train`` compiles every kernel it meets, one after another,
on one core (Numba's compiler is single-threaded Python). ``start(kernels)`` launches
``python -m tinygrad_cs.kernels._background``, which compiles the listed kernels with
exactly the listed signatures (``Dispatcher.compile``: the same code the run would compile
for itself), walking the list from its END: the run compiles from the beginning, in the
order it meets them, and when it reaches a kernel the helper has finished, Numba loads it
from the cache instead. The two meet about halfway, so the compiling takes about half as long
on two cores. The list (``_first_run.KERNELS``) is the main job's, in order of first use.

Safety, as the design asks:
* the machine code is the same: Numba's cache key is the signature, the CPU and the
  function's bytecode, and the helper compiles the same source with the same options;
* concurrent writers cannot corrupt the cache: ``_cache_lock`` makes each save one step;
* it never outlives the run: ``stop()`` ends it (at the run's end, and at exit), and the
  helper asks Linux to end it if its parent dies (``PR_SET_PDEATHSIG``), and checks its
  parent between kernels elsewhere;
* its failures are printed (the helper names each kernel it could not compile) and never
  fail the run, which then compiles what it needs itself;
* it only starts when it can help: not on a warm cache (``is_cold()``, one ``stat``), not
  where nothing can be cached, not without the lock, not with
  ``TINYGRAD_CS_BACKGROUND_COMPILE=0``; and once it has compiled the whole main-job list it
  marks the cache warm (``mark_warm``), so later processes do not start it again.

Who starts it: ``tgcs train`` of the main job's model, and ``tg.compile``'s first trace of a
function that reaches a convolution (``compile/api.py``).

A signature is written as the ``repr`` of Numba's types (``Array(float32, 3, 'C', False,
aligned=True)``, ``int64``) and read back by ``parse_type``.
"""
from __future__ import annotations

import atexit
import importlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence

ENV = "TINYGRAD_CS_BACKGROUND_COMPILE"

Entry = tuple[str, str, tuple[str, ...]]   # (module, function, argument types)

_ARRAY = re.compile(r"Array\((\w+), (\d+), '([CFA])', (True|False), aligned=(True|False)\)")


def parse_type(text: str):
    """The Numba type that prints as ``text`` (arrays and scalar types only)."""
    from numba.core import types

    array = _ARRAY.fullmatch(text)
    if array is not None:
        dtype, ndim, layout, readonly, aligned = array.groups()
        return types.Array(parse_type(dtype), int(ndim), layout, readonly=readonly == "True",
                           aligned=aligned == "True")
    scalar = types.boolean if text == "bool" else getattr(types, text, None)
    if isinstance(scalar, types.Number | types.Boolean):
        return scalar
    raise ValueError(f"parse_type: cannot read the Numba type {text!r} "
                     "(only arrays, numbers and booleans)")


def compile_entry(module: str, name: str, arg_types: Sequence[str]) -> None:
    """Compile (or load from the cache) kernel ``module.name`` for ``arg_types``."""
    dispatcher = getattr(importlib.import_module(module), name)
    dispatcher.compile(tuple(parse_type(t) for t in arg_types))


class BackgroundCompile:
    """The running helper process; ``stop()`` ends it and reports how it went."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        atexit.register(self.stop)

    def stop(self) -> int:
        """End the helper if it still runs; its exit code (negative: ended by a signal).
        A helper that failed by itself is reported on stderr (its own lines say why)."""
        atexit.unregister(self.stop)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            return self.proc.returncode
        code = self.proc.returncode
        if code != 0:
            print(f"tgcs: the background compile failed (exit code {code}); this run "
                  "compiled its kernels itself", file=sys.stderr, flush=True)
        return code


def start(kernels: Sequence[Entry] | None = None) -> BackgroundCompile | None:
    """Start compiling ``kernels`` (default: the main job's, ``_first_run.KERNELS``) in a
    helper process, last first; None where it would not help (see the module docstring)."""
    from . import _jit, is_cold

    if os.environ.get(ENV, "1") == "0" or not (_jit.CACHE and _jit.LOCKED) or not is_cold():
        return None
    whole_list = kernels is None
    if kernels is None:
        from ._first_run import KERNELS as kernels
    import numba

    import tinygrad_cs

    package = os.path.dirname(os.path.abspath(tinygrad_cs.__file__))
    env = dict(os.environ)
    # the helper must import these very files, and cache where this process caches
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.dirname(package),
                                                    env.get("PYTHONPATH")) if p)
    if numba.config.CACHE_DIR:
        env["NUMBA_CACHE_DIR"] = numba.config.CACHE_DIR
    # stderr is shared, for its reports; stdout is not, so a pipe reading the run's output
    # (`tgcs train | tee log`) ends with the run
    proc = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, cwd=_jit.cache_dir(), env=env,
                            text=True)
    request = {"parent": os.getpid(), "package": package, "whole_list": whole_list,
               "kernels": [list(k) for k in reversed(kernels)]}
    try:
        proc.stdin.write(json.dumps(request))
        proc.stdin.close()
    except OSError:                        # it died at once: stop() reports its exit code
        pass
    return BackgroundCompile(proc)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to end this process when its parent dies (elsewhere: checked per kernel)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)      # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:             # it died before we asked
        os._exit(0)


def main() -> int:
    """The helper: read the request on stdin, compile each kernel; 1 if any failed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the run's to handle
    request = json.load(sys.stdin)
    parent = request["parent"]
    _die_with_parent(parent)
    import tinygrad_cs
    here = os.path.dirname(os.path.abspath(tinygrad_cs.__file__))
    if here != request["package"]:
        print(f"tgcs: background compile: imported {here}, but the run uses "
              f"{request['package']}; compiling nothing", file=sys.stderr)
        return 2
    failed = 0
    for module, name, arg_types in request["kernels"]:
        if os.getppid() != parent:
            return 0
        try:
            compile_entry(module, name, arg_types)
        except Exception as error:  # noqa: BLE001 - reported, and the run compiles it itself
            failed += 1
            print(f"tgcs: background compile of {module}.{name}({', '.join(arg_types)}) "
                  f"failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    if failed:
        return 1
    if request.get("whole_list"):
        from . import mark_warm
        mark_warm()        # every kernel of the main job is in the cache now
    return 0


if __name__ == "__main__":
    sys.exit(main())
