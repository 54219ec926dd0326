"""Run the passes: each is ``Program -> (Program, [lines saying what it changed])``."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from .ir import Program, check

__all__ = ["Pass", "run_passes"]

Pass = Callable[[Program], "tuple[Program, list[str]]"]


def run_passes(program: Program, passes: Sequence[Pass]) -> tuple[Program, list[str]]:
    """Apply ``passes`` in order; return the final program and, per pass, a header line
    (``"== dce"``) followed by its own lines. Each result is ``check``ed, so a pass that
    breaks the program is named at once instead of failing later at replay."""
    report: list[str] = []
    for transform in passes:
        name = getattr(transform, "__name__", type(transform).__name__)
        program, lines = transform(program)
        try:
            check(program)
        except ValueError as error:
            raise ValueError(f"compile: pass {name} produced an invalid program: {error}") from None
        report.append(f"== {name}")
        report.extend(f"   {line}" for line in lines)
    return program, report
