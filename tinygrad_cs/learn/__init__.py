"""The learner's path: the chapters in ``docs/learn/`` and what they share.

A chapter is a percent-cell script ``docs/learn/NN-slug.py`` (it opens as a notebook and runs
as a plain script) beside its page ``NN-slug.md``; it writes its figures into
``docs/learn/figures/`` through ``save``. Two switches, both environment variables so that a
chapter run by ``python docs/learn/05-batchnorm.py`` honours them too:

* ``TGCS_LEARN_QUICK=1``: ``QUICK`` is true, and a chapter shrinks its data and steps so it
  runs in seconds (the test suite runs every chapter this way);
* ``TGCS_LEARN_FIGURES=DIR``: figures go to DIR instead of ``docs/learn/figures``.

``chapters.py`` finds the chapters and runs one in a fresh namespace; ``python -m
tinygrad_cs.learn`` (``__main__.py``, also ``tgcs learn``) is the command line. The chapters
live in the repository, not in the installed package: ``CHAPTERS_DIR`` exists in a checkout
or an editable install only.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["CHAPTERS_DIR", "QUICK", "figures_dir", "save"]

CHAPTERS_DIR = Path(__file__).resolve().parents[2] / "docs" / "learn"
QUICK = os.environ.get("TGCS_LEARN_QUICK", "") not in ("", "0")


def figures_dir() -> Path:
    """Where chapters write figures (``TGCS_LEARN_FIGURES`` or ``docs/learn/figures``)."""
    path = Path(os.environ.get("TGCS_LEARN_FIGURES") or CHAPTERS_DIR / "figures")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save(fig: Any, name: str, dpi: int = 100) -> Path:
    """Write the matplotlib figure ``fig`` as ``name`` (a ``.png`` file name) and close it.

    The PNG carries no software version or date, so a rerun writes the same bytes.
    """
    import matplotlib.pyplot as plt

    path = figures_dir() / name
    fig.savefig(path, dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return path
