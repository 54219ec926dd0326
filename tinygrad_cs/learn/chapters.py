"""Finding the chapters in ``CHAPTERS_DIR`` and running one.

A chapter is a script ``NN-slug.py`` (NN two digits) beside its page ``NN-slug.md``; its
title is the first line of the script's docstring. ``run`` executes a script as
``python docs/learn/NN-slug.py`` would, in a fresh namespace (``runpy.run_path``), with the
switches of ``tinygrad_cs.learn`` set for the run and put back afterwards, so one process can
run chapter after chapter (the runner's ``--all``, the test suite).
"""
from __future__ import annotations

import ast
import os
import re
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import CHAPTERS_DIR

__all__ = ["Chapter", "ChapterNotFound", "find", "list_chapters", "run"]

_NAME = re.compile(r"^(\d\d)-([a-z0-9][a-z0-9-]*)\.py$")


class ChapterNotFound(LookupError):
    """No chapter by that name, or no chapters folder at all (an installed package)."""


@dataclass(frozen=True)
class Chapter:
    """One chapter: ``number`` ("05"), ``slug`` ("activations"), ``title`` (the docstring's
    first line), its ``script`` and its ``page`` (which may not exist yet)."""
    number: str
    slug: str
    title: str
    script: Path

    @property
    def name(self) -> str:
        return f"{self.number}-{self.slug}"

    @property
    def page(self) -> Path:
        return self.script.with_suffix(".md")


def _title(script: Path) -> str:
    doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"), str(script)))
    if not doc:
        raise ValueError(f"chapter {script.name}: the script has no module docstring "
                         "(its first line is the chapter's title)")
    return doc.strip().splitlines()[0].strip()


def list_chapters(folder: Path | None = None) -> list[Chapter]:
    """Every chapter in ``folder`` (default ``CHAPTERS_DIR``), in order of number."""
    folder = CHAPTERS_DIR if folder is None else Path(folder)
    if not folder.is_dir():
        raise ChapterNotFound(
            f"the learner's chapters are not here ({folder} does not exist): they ship with "
            "the repository, not the installed package; clone it and `pip install -e .`")
    found = []
    for script in sorted(folder.iterdir()):
        match = _NAME.match(script.name)
        if match:
            found.append(Chapter(match[1], match[2], _title(script), script))
    return found


def find(name: str, folder: Path | None = None) -> Chapter:
    """The chapter called ``name``: its number ("5", "05"), its slug ("activations") or
    both ("05-activations"). Raises ``ChapterNotFound`` listing the chapters otherwise."""
    chapters = list_chapters(folder)
    key = name.strip().removesuffix(".py")
    for chapter in chapters:
        if key.isdigit() and int(key) == int(chapter.number) or key in (chapter.slug,
                                                                          chapter.name):
            return chapter
    known = ", ".join(c.name for c in chapters) or "none"
    raise ChapterNotFound(f"no chapter {name!r} in {CHAPTERS_DIR if folder is None else folder} "
                   f"(chapters: {known})")


@contextmanager
def _switches(quick: bool | None, figures: Path | None) -> Iterator[None]:
    """Set ``TGCS_LEARN_QUICK`` / ``TGCS_LEARN_FIGURES`` (and ``learn.QUICK``, which a
    chapter imports) for the duration, then restore them and the engine's global modes."""
    import tinygrad_cs as tg
    from tinygrad_cs import learn

    wanted = {}
    if quick is not None:
        wanted["TGCS_LEARN_QUICK"] = "1" if quick else "0"
    if figures is not None:
        wanted["TGCS_LEARN_FIGURES"] = str(figures)
    saved_env = {key: os.environ.get(key) for key in wanted}
    saved_quick, saved_dtype = learn.QUICK, tg.get_default_dtype()
    os.environ.update(wanted)
    learn.QUICK = os.environ.get("TGCS_LEARN_QUICK", "") not in ("", "0")
    try:
        # a chapter that switches dtype or grad mode must not change the next one's world
        with tg.set_grad_enabled(tg.is_grad_enabled()):
            yield
    finally:
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        learn.QUICK = saved_quick
        tg.set_default_dtype(saved_dtype)


def run(chapter: Chapter | str, *, quick: bool | None = None,
        figures: Path | None = None) -> dict[str, Any]:
    """Run ``chapter`` (a ``Chapter`` or a name for ``find``) top to bottom as a script.

    ``quick``: True/False sets ``TGCS_LEARN_QUICK`` for the run (None leaves it as it is);
    ``figures``: the folder its figures go to (None: ``TGCS_LEARN_FIGURES`` or
    ``docs/learn/figures``). Returns the script's global namespace.
    """
    chapter = find(chapter) if isinstance(chapter, str) else chapter
    with _switches(quick, figures):
        return runpy.run_path(str(chapter.script), run_name="__main__")
