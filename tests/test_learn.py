"""The learner's path (docs/learn/): every chapter runs, writes the figures its page shows,
and its page shows only code the script runs; the index and the runner list every chapter.

Chapters run in quick mode (``TGCS_LEARN_QUICK=1``), in this process (``chapters.run``
restores the switches and the engine's global modes after each), into a temporary folder,
once per session: the tests below share those runs.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_cs as tg
from tinygrad_cs.cli import main as tgcs
from tinygrad_cs.learn import CHAPTERS_DIR
from tinygrad_cs.learn.__main__ import main as learn_main
from tinygrad_cs.learn.chapters import Chapter, ChapterNotFound, find, list_chapters, run

pytestmark = pytest.mark.skipif(not CHAPTERS_DIR.is_dir(),
                                reason="docs/learn/ ships with the repository only")
CHAPTERS = list_chapters() if CHAPTERS_DIR.is_dir() else []
INDEX = CHAPTERS_DIR / "README.md"


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"),
                      re.MULTILINE | re.DOTALL)


def _lines(code: str) -> list[str]:
    """Code lines as the block rule compares them: no indentation, no blank lines."""
    return [line.strip() for line in code.splitlines() if line.strip()]


def _contains_contiguously(script: list[str], block: list[str]) -> bool:
    return any(script[i:i + len(block)] == block for i in range(len(script) - len(block) + 1))


_IMAGE = re.compile(r"!\[[^\]]*\]\((figures/[^)\s]+)\)|<img [^>]*src=\"(figures/[^\"]+)\"")


def _embedded_figures(markdown: str) -> list[str]:
    """``figures/...`` paths of the page's images (Markdown ``![](...)`` and HTML ``<img>``)."""
    return [markdown_path or html_path for markdown_path, html_path in _IMAGE.findall(markdown)]


_RUNS: dict[str, Path] = {}


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """``quick_run(chapter)``: the folder its quick run wrote figures to (run once)."""
    def get(chapter: Chapter) -> Path:
        if chapter.name not in _RUNS:
            out = tmp_path_factory.mktemp(f"learn-{chapter.number}")
            os.environ.setdefault("MPLBACKEND", "Agg")
            run(chapter, quick=True, figures=out)
            _RUNS[chapter.name] = out
        return _RUNS[chapter.name]
    return get


def test_there_are_chapters_named_by_the_convention():
    assert CHAPTERS, f"no NN-slug.py chapter in {CHAPTERS_DIR}"
    numbers = [c.number for c in CHAPTERS]
    assert numbers == sorted(set(numbers)), f"chapter numbers repeat: {numbers}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_chapter_runs_quickly_and_writes_the_figures_its_page_shows(chapter, quick_run):
    dtype = tg.get_default_dtype()
    out = quick_run(chapter)
    assert tg.get_default_dtype() == dtype and tg.is_grad_enabled()
    written = {p.name for p in out.iterdir()}
    assert f"{chapter.number}-thumb.png" in written, f"{chapter.name} wrote no thumbnail"
    assert all(name.startswith(f"{chapter.number}-") for name in written), written
    for figure in _embedded_figures(chapter.page.read_text(encoding="utf-8")):
        name = Path(figure).name
        assert name in written, f"{chapter.page.name} shows {figure}, the script wrote {written}"
        data = (out / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") or data.rstrip().endswith(b"</svg>"), name


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_every_code_block_of_the_page_is_code_the_script_runs(chapter):
    assert chapter.page.is_file(), f"{chapter.script.name} has no page {chapter.page.name}"
    script = _lines(chapter.script.read_text(encoding="utf-8"))
    blocks = _python_blocks(chapter.page)
    assert blocks, f"{chapter.page.name} shows no code"
    for block in blocks:
        assert _lines(block), f"{chapter.page.name} has an empty python block"
        assert _contains_contiguously(script, _lines(block)), (
            f"{chapter.page.name}: this block is not contiguous code of "
            f"{chapter.script.name}:\n{block}")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_the_page_figures_are_committed_and_its_boxes_complete(chapter):
    page = chapter.page.read_text(encoding="utf-8")
    figures = _embedded_figures(page)
    assert figures, f"{chapter.page.name} embeds no figure"
    for figure in figures:
        assert (CHAPTERS_DIR / figure).is_file(), f"{chapter.page.name}: {figure} is missing"
    # a wrong-notes box: "> **The notes say:** ..." then, in the same quote, "> **Correct:**"
    for box in re.findall(r"^> \*\*The notes say:\*\*.*?(?=^[^>]|\Z)", page,
                          re.MULTILINE | re.DOTALL):
        assert "> **Correct:**" in box, f"{chapter.page.name}: a box without its correction"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_the_script_opens_as_a_notebook_of_prose_and_code_cells(chapter):
    jupytext = pytest.importorskip("jupytext")
    cells = jupytext.read(chapter.script).cells
    prose = [c for c in cells if c.cell_type == "markdown"]
    code = [c for c in cells if c.cell_type == "code" and "import" not in c.source]
    assert prose and all(c.source.strip() for c in prose), f"{chapter.name}: no prose cells"
    assert len(code) >= 2 and not any("# %%" in c.source for c in cells), chapter.name


def test_a_rerun_writes_byte_identical_figures(quick_run, tmp_path):
    chapter = CHAPTERS[0]
    first = quick_run(chapter)
    run(chapter, quick=True, figures=tmp_path)
    for path in sorted(first.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_index_lists_every_chapter_with_its_thumbnail_in_order():
    index = INDEX.read_text(encoding="utf-8")
    positions = []
    for chapter in CHAPTERS:
        link = f"({chapter.name}.md)"
        assert link in index, f"docs/learn/README.md does not link {chapter.name}.md"
        assert f"figures/{chapter.number}-thumb.png" in index, chapter.name
        positions.append(index.index(link))
    assert positions == sorted(positions)
    readme = (CHAPTERS_DIR.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "docs/learn/README.md" in readme


def test_the_runner_lists_the_chapters_with_their_titles(capsys):
    out = subprocess.run([sys.executable, "-m", "tinygrad_cs.learn", "--list"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert [line.split()[:2] for line in out] == [[c.number, c.slug] for c in CHAPTERS]
    assert all(line.endswith(c.title) for line, c in zip(out, CHAPTERS))
    assert tgcs(["learn", "--list"]) == 0
    assert capsys.readouterr().out.splitlines() == out


def test_a_chapter_is_found_by_number_slug_or_both(capsys):
    chapter = CHAPTERS[0]
    for name in (chapter.number, str(int(chapter.number)), chapter.slug, chapter.name,
                 f"{chapter.name}.py"):
        assert find(name) == chapter
    with pytest.raises(ChapterNotFound, match=f"no chapter 'nope'.*{chapter.name}"):
        find("nope")
    assert tgcs(["learn", "nope"]) == 2
    assert "no chapter 'nope'" in capsys.readouterr().err
    assert learn_main(["nope"]) == 2
    assert capsys.readouterr().err.startswith("error: no chapter 'nope'")


def test_a_failing_chapter_leaves_the_switches_and_modes_as_they_were(tmp_path, monkeypatch):
    from tinygrad_cs import learn
    monkeypatch.delenv("TGCS_LEARN_QUICK", raising=False)
    quick = learn.QUICK
    (tmp_path / "01-broken.py").write_text(
        '"""A chapter that breaks.\n\nIt changes global modes first."""\n'
        "import os\nimport tinygrad_cs as tg\nfrom tinygrad_cs.learn import QUICK\n"
        "assert QUICK and os.environ['TGCS_LEARN_QUICK'] == '1'\n"
        "tg.set_default_dtype(tg.float64)\nraise RuntimeError('broken on purpose')\n")
    (tmp_path / "1-misnamed.py").write_text('"""Not a chapter: one digit."""\n')
    (chapter,) = list_chapters(tmp_path)
    assert (chapter.number, chapter.slug, chapter.title) == ("01", "broken",
                                                            "A chapter that breaks.")
    with pytest.raises(RuntimeError, match="broken on purpose"):
        run(chapter, quick=True, figures=tmp_path / "figs")
    assert "TGCS_LEARN_QUICK" not in os.environ and learn.QUICK is quick
    assert tg.get_default_dtype() == tg.float32


def test_missing_chapters_and_docstrings_are_named(tmp_path):
    with pytest.raises(ChapterNotFound, match="ship with the repository"):
        list_chapters(tmp_path / "absent")
    (tmp_path / "02-bare.py").write_text("x = 1\n")
    with pytest.raises(ValueError, match="02-bare.py: the script has no module docstring"):
        list_chapters(tmp_path)
