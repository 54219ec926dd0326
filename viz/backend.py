"""Which ``dot`` draws the picture, and writing it to a file.

Building DOT source needs nothing but the ``graphviz`` Python package. Turning it
into an image needs a ``dot`` executable: the system's Graphviz when ``dot`` is on
PATH, else the pip-installable ``graphviz-pure`` port (a wheel whose binary is named
``graphviz-pure``; it writes SVG and PNG but no PDF). ``Drawing`` is the
``graphviz.Digraph`` that ``draw_graph`` returns: it picks the binary before every
``pipe``/``render`` (so also before Jupyter displays it) and says clearly what to
install when neither exists.
"""
from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

import graphviz
from graphviz.backend import dot_command

__all__ = ["Drawing", "available_formats", "find_dot", "render"]

# Where a venv's or user's console scripts live, in case that folder is not on PATH.
_SCRIPT_DIRS = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]

_MISSING = ("no Graphviz `dot` executable found. Either install Graphviz so that `dot` is "
            "on PATH (e.g. `apt install graphviz`; it also writes PDF), or "
            "`pip install graphviz-pure` (a pip-installable port, SVG and PNG only).")


def find_dot() -> tuple[str, str] | None:
    """``("system", path)`` for Graphviz's ``dot``, ``("pure", path)`` for graphviz-pure,
    or None when neither is installed."""
    system = shutil.which("dot")
    if system:
        return "system", system
    pure = shutil.which("graphviz-pure")
    for folder in _SCRIPT_DIRS:
        candidate = Path(folder) / "graphviz-pure"
        if pure is None and candidate.is_file():
            pure = str(candidate)
    return ("pure", pure) if pure else None


def use_available_dot(required: bool, what: str = "render") -> str | None:
    """Point the graphviz package at the best ``dot``; returns its kind ("system"/"pure").

    With ``required`` a missing binary raises a RuntimeError naming both options.
    """
    found = find_dot()
    if found is None:
        if required:
            raise RuntimeError(f"{what}: {_MISSING}")
        return None
    kind, path = found
    # "dot" stays a bare name when it is on PATH, as the graphviz package expects
    dot_command.DOT_BINARY = Path("dot") if kind == "system" else Path(path)
    return kind


def available_formats() -> tuple[str, ...]:
    """Image formats the installed renderer writes: PDF needs the system's Graphviz."""
    found = find_dot()
    if found is None:
        return ()
    return ("svg", "png", "pdf") if found[0] == "system" else ("svg", "png")


def _check_format(format: str) -> None:
    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"render: format must be 'svg', 'png' or 'pdf', got {format!r}")
    if format == "pdf" and use_available_dot(required=True) != "system":
        raise ValueError("render: PDF needs the system's Graphviz (`dot` on PATH); "
                         "graphviz-pure writes only 'svg' and 'png'")


class Drawing(graphviz.Digraph):
    """A ``graphviz.Digraph`` that finds its renderer itself.

    ``notes`` lists what ``draw_graph`` collapsed to keep the picture readable
    (also printed in the picture's title).
    """

    notes: tuple[str, ...] = ()

    def pipe(self, format: str | None = None, *args, **kwargs):
        use_available_dot(required=True, what="pipe")
        return super().pipe(format, *args, **kwargs)

    def render(self, *args, **kwargs):
        use_available_dot(required=True)
        return super().render(*args, **kwargs)

    def _repr_svg_(self) -> str:
        """The SVG that IPython shows for this graph (older front ends ask for this)."""
        return self.pipe(format="svg", encoding="utf-8")


def render(dot: graphviz.Graph, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write ``dot`` as an image to ``path`` and return the path written.

    ``format`` is "svg" (default), "png" or "pdf" (system Graphviz only); when it is
    None the suffix of ``path`` decides, and a path without suffix gets ".svg"
    (or ``.<format>``). Uses the system's ``dot`` when on PATH, else graphviz-pure.
    """
    path = Path(path)
    if format is None:
        format = path.suffix[1:].lower() if path.suffix else "svg"
    _check_format(format)
    use_available_dot(required=True)
    if not path.suffix:
        path = path.with_suffix(f".{format}")
    # pipe, not Digraph.render: no intermediate .gv file is left next to the image
    path.write_bytes(dot.pipe(format=format))
    return path
