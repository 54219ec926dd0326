"""Porting a PyTorch program to tinygrad_cs by rewriting its import lines, and nothing else.

``port_source(text)`` rewrites every ``import torch...`` / ``from torch... import`` line
(and ``torchvision`` to ``tinygrad_cs.vision``) and leaves every other line as it is::

    import torch                        ->  import tinygrad_cs as torch
    import torch.nn as nn               ->  import tinygrad_cs.nn as nn
    from torch.utils.data import X      ->  from tinygrad_cs.utils.data import X
    import torchvision.transforms as T  ->  import tinygrad_cs.vision.transforms as T

``load_program(name, library, folder)`` writes the program (ported or not) into ``folder``
and imports it from there as a module, so the worker processes a ``DataLoader`` spawns can
import it too.
"""
from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType

PROGRAMS = Path(__file__).parent
_IMPORT = re.compile(r"\s*(import|from)\s+torch(vision)?\b")
_BARE = re.compile(r"(\s*)import (torch|torchvision)\s*$")


def port_line(line: str) -> str:
    """One line with its torch / torchvision imports rewritten (other lines unchanged)."""
    if not _IMPORT.match(line):
        return line
    bare = _BARE.match(line)
    if bare:
        target = "tinygrad_cs.vision" if bare.group(2) == "torchvision" else "tinygrad_cs"
        return f"{bare.group(1)}import {target} as {bare.group(2)}"
    return re.sub(r"\btorch\b", "tinygrad_cs", re.sub(r"\btorchvision\b", "tinygrad_cs.vision",
                                                      line))


def port_source(text: str) -> str:
    return "\n".join(port_line(line) for line in text.split("\n"))


def load_program(name: str, library: str, folder: Path) -> ModuleType:
    """``tests/ports/<name>.py`` as a module, as written (``library="torch"``) or ported."""
    text = (PROGRAMS / f"{name}.py").read_text()
    if library != "torch":
        text = port_source(text)
    module_name = f"port_{name}_{library}"
    (folder / f"{module_name}.py").write_text(text)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)
