"""README.md stays true: its tour runs, prints what its comments say, and CI runs its test command."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

pytestmark = pytest.mark.skipif(not README.is_file(), reason="README.md is not next to tests/")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)


def _expected_output(block: str) -> list[str]:
    """The text of every ``# prints X`` comment (minus an ``, i.e. ...`` explanation)."""
    return [m.group(1) for m in re.finditer(r"# prints (.*?)(?:, i\.e\. .*)?$", block, re.MULTILINE)]


def test_every_print_in_the_tour_is_annotated():
    for block in _blocks("python"):
        assert block.count("print(") == len(_expected_output(block)), block


def test_tour_runs_and_prints_what_it_claims(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)           # the tour renders neuron.svg / neuron.png here
    namespace: dict = {"__name__": "__readme__"}
    blocks = _blocks("python")
    assert len(blocks) >= 6
    for block in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - the oracle
        assert out.getvalue().splitlines() == _expected_output(block), block
    assert (tmp_path / "neuron.svg").read_bytes().rstrip().endswith(b"</svg>")
    assert (tmp_path / "neuron.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_ci_runs_the_readme_test_command():
    commands = [b.strip() for b in _blocks("bash")]
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command == "pip install -e '.[test,data,plot]' && python -m pytest -q"
    assert f'TEST_COMMAND="{test_command}"' in (ROOT / ".ci" / "run").read_text()

