"""``DataLoader(num_workers=2)`` in a script without an ``if __name__ == "__main__":`` guard.

PyTorch on Linux runs such scripts (it forks); spawned workers would re-run the script, so
our loader warns once and builds the batches in threads. It must finish, never hang, and
give exactly the batches of ``num_workers=0``. A guarded script keeps its processes.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tinygrad_cs.data._workers import main_script_is_unguarded

SCRIPT = """
import numpy as np
import tinygrad_cs as torch

x = np.arange(40, dtype=np.float32).reshape(20, 2)
data = torch.utils.data.TensorDataset(x, np.arange(20))
def run(workers):
    loader = torch.utils.data.DataLoader(data, batch_size=3, shuffle=True, seed=1,
                                         num_workers=workers)
    return [b[0].numpy().tolist() for epoch in range(2) for b in loader]
{body}
"""


def _run(tmp_path, body: str) -> subprocess.CompletedProcess:
    path = tmp_path / "script.py"
    path.write_text(SCRIPT.format(body=textwrap.dedent(body)))
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=240, check=False, cwd=tmp_path)


def test_an_unguarded_script_uses_threads_with_one_warning_and_the_same_batches(tmp_path):
    other_loader = "print(len(list(torch.utils.data.DataLoader(data, num_workers=2))) == 20)\n"
    done = _run(tmp_path, "print(run(2) == run(0))\n" + other_loader)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "True"]
    warnings = [line for line in done.stderr.splitlines() if "RuntimeWarning" in line]
    assert len(warnings) == 1 and "threads build the batches" in warnings[0]


def test_a_guarded_script_keeps_its_worker_processes(tmp_path):
    body = """
    if __name__ == "__main__":
        import multiprocessing
        batches = iter(torch.utils.data.DataLoader(data, batch_size=3, num_workers=2))
        next(batches)  # the epoch's two worker processes are running now
        print(run(2) == run(0), len(multiprocessing.active_children()))
    """
    done = _run(tmp_path, body)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True", "2"]
    assert "RuntimeWarning" not in done.stderr


@pytest.mark.parametrize("source,unguarded", [
    ("x = 1\n", True),
    ("if __name__ == '__main__':\n    x = 1\n", False),
    ("if '__main__' == __name__:\n    x = 1\n", False),
    ("def main():\n    if __name__ == '__main__':\n        pass\n", True),
])
def test_the_guard_is_found_at_the_top_level_only(tmp_path, monkeypatch, source, unguarded):
    path = tmp_path / "main_script.py"
    path.write_text(source)
    main = type(sys)("__main__")
    main.__file__ = str(path)
    monkeypatch.setitem(sys.modules, "__main__", main)
    assert main_script_is_unguarded() is unguarded
