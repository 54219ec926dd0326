"""``kernels/_jit.py``: kernels stay cached, and still work where no cache is writable.

Each case runs in a fresh interpreter on a copy of the package whose
``kernels/__pycache__`` is a plain file (so Numba cannot write next to the sources, as in
a read-only install), with ``HOME``, ``XDG_CACHE_HOME`` and ``NUMBA_CACHE_DIR`` pointing
below a file (never creatable, even by root). The oracle is the kernel's numpy reference.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tinygrad_cs

SCRIPT = textwrap.dedent("""
    import json, sys, tempfile
    if sys.argv[1] == "no-temp":
        tempfile.tempdir = sys.argv[2]  # the last fallback is unwritable too
    import numpy as np
    import numba
    import tinygrad_cs
    from tinygrad_cs.kernels import _jit, lstm, lstm_reference
    gates = np.linspace(-3, 3, 16).reshape(2, 8)
    c = np.linspace(-1, 1, 4).reshape(2, 2)
    out, _ = lstm.forward(gates, c)
    ok = bool(np.allclose(out, lstm_reference.forward(gates, c)[0], rtol=1e-13))
    print(json.dumps({"file": tinygrad_cs.__file__, "cache": _jit.CACHE,
                      "cache_dir": numba.config.CACHE_DIR, "ok": ok}))
""")


@pytest.fixture(scope="module")
def read_only_install(tmp_path_factory):
    """A copy of the package that Numba cannot cache next to, plus a hostile environment."""
    root = tmp_path_factory.mktemp("readonly")
    src = Path(tinygrad_cs.__file__).parent
    shutil.copytree(src, root / "pkg" / "tinygrad_cs",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pkg" / "tinygrad_cs" / "kernels" / "__pycache__").write_text("not a directory")
    blocker = root / "a-file"
    blocker.write_text("")
    (root / "tmp").mkdir()
    env = {**os.environ, "PYTHONPATH": str(root / "pkg"), "HOME": str(blocker),
           "XDG_CACHE_HOME": str(blocker / "cache"), "NUMBA_CACHE_DIR": str(blocker / "numba"),
           "TMPDIR": str(root / "tmp")}
    return root, env


def _run(root, env, *args) -> dict:
    # cwd: ``python -c`` puts it first on sys.path, and the repository's own copy must not win
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *args], env=env, cwd=root,
                          check=False, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_falls_back_to_a_private_temporary_cache(read_only_install):
    root, env = read_only_install
    first = _run(root, env, "temp")
    assert first["file"].startswith(str(root))  # the copy was imported, not the repository
    assert first["ok"] and first["cache"]
    assert first["cache_dir"].startswith(str(root / "tmp"))
    index = list(Path(first["cache_dir"]).rglob("*.nbi"))
    assert index, "no kernel was cached in the fallback directory"
    assert _run(root, env, "temp") == first  # a second process finds (and loads) the same cache


def test_compiles_without_cache_when_nothing_is_writable(read_only_install):
    root, env = read_only_install
    result = _run(root, env, "no-temp", str(root / "a-file" / "tmp"))
    assert result["ok"] and result["cache"] is False
