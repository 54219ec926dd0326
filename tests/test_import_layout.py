"""``nn/`` and ``viz/`` import the engine by absolute name (DESIGN.md).

They are top-level folders that install as ``tinygrad_cs.nn`` / ``tinygrad_cs.viz``
(``package_dir``), so a relative import that climbs above them (``from .. import ops`` in
``nn/functional.py``) names a folder that does not exist on disk: readers and tools follow
it to the wrong place. Relative imports inside them (``from .module import Module``,
``from ..conv import Conv2d`` in ``nn/models/``) stay within the folder and are fine.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("folder", ["nn", "viz"])
def test_relative_imports_stay_inside_the_folder(folder):
    climbing = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        depth = len(path.relative_to(ROOT / folder).parts) - 1  # 0 for nn/x.py
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level > depth + 1:
                climbing.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                f"{'.' * node.level}{node.module or ''}")
    assert not climbing, ("relative imports that climb out of the folder (use "
                          "`from tinygrad_cs import ...`): " + ", ".join(climbing))


def test_the_core_and_its_op_registry_never_import_nn():
    """DESIGN.md's layering: the engine (and ``tg.testing``'s op registry) load without
    ``nn``, ``viz`` or anything above them."""
    import subprocess
    import sys
    code = ("import sys, tinygrad_cs; from tinygrad_cs.testing import registry; "
            "registry.entries(); registry.import_package_modules(); "
            "print(sorted(m for m in sys.modules if m.split('.')[:2] in (['tinygrad_cs', 'nn'], "
            "['tinygrad_cs', 'viz'], ['tinygrad_cs', 'vision'], ['tinygrad_cs', 'train'])))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
