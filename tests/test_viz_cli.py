"""The model registry, ``python -m tinygrad_cs.viz``, and the committed gallery."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn, viz
from tinygrad_cs.viz import backend, get_model, list_models, register_model
from tinygrad_cs.viz.__main__ import main
from tinygrad_cs.viz.registry import Sample

ROOT = Path(__file__).resolve().parents[1]


def test_the_examples_are_registered():
    names = list_models()
    for name in ("scalar-expr", "scalar-mlp", "mlp", "resnet-mini", "deep-sigmoid-small",
                 "deep-relu-kaiming"):
        assert names.get(name), name
    sample = get_model("mlp")
    assert sample.output.shape == () and sample.output.requires_grad
    assert {n for n, _ in sample.params.named_parameters()} >= {"fc1.weight", "fc3.bias"}
    assert get_model("resnet-mini").depth == 1


def test_register_a_module_and_its_input():
    register_model("tiny-dense", lambda: (nn.Linear(3, 2), tg.randn(4, 3)), description="tiny")
    sample = get_model("tiny-dense")
    assert isinstance(sample, Sample) and sample.output.shape == (4, 2)
    assert list_models()["tiny-dense"] == "tiny"
    assert "<B>weight</B>" in viz.draw_graph(sample.output, params=sample.params).source
    with pytest.raises(KeyError, match="known: .*mlp"):
        get_model("no-such-model")


def test_cli_writes_svg_png_and_dot(tmp_path, capsys):
    assert main(["mlp", "-o", str(tmp_path / "m.svg")]) == 0
    assert (tmp_path / "m.svg").read_text().rstrip().endswith("</svg>")
    assert capsys.readouterr().out.strip() == str(tmp_path / "m.svg")
    assert main(["resnet-mini", "-o", str(tmp_path / "r.png"), "--grads", "--depth", "2"]) == 0
    assert (tmp_path / "r.png").read_bytes().startswith(b"\x89PNG")
    assert main(["resnet-mini", "-o", str(tmp_path / "r.gv"), "--format", "dot"]) == 0
    source = (tmp_path / "r.gv").read_text()
    assert len(re.findall(r"^\s*m\d+ \[", source, re.MULTILINE)) == 8   # depth 1: its modules
    assert main(["resnet-mini", "-o", str(tmp_path / "full.gv"), "--full"]) == 0
    assert "subgraph cluster_" in (tmp_path / "full.gv").read_text()


def test_cli_prints_what_it_collapsed(tmp_path, capsys):
    assert main(["scalar-mlp", "-o", str(tmp_path / "s.gv"), "--max-nodes", "40"]) == 0
    assert "note: 101 nodes exceed max_nodes=40" in capsys.readouterr().err


def test_cli_dot_output_needs_no_renderer(tmp_path, monkeypatch):
    monkeypatch.setattr(backend.shutil, "which", lambda name: None)
    monkeypatch.setattr(backend, "_SCRIPT_DIRS", [str(tmp_path)])
    assert main(["scalar-expr", "-o", str(tmp_path / "e.gv")]) == 0
    assert "shape=record" in (tmp_path / "e.gv").read_text()
    assert main(["scalar-expr", "-o", str(tmp_path / "e.svg")]) == 1


def test_cli_errors(tmp_path, capsys):
    assert main(["nope"]) == 2
    assert "no model named 'nope'" in capsys.readouterr().err
    if "pdf" not in viz.available_formats():
        assert main(["mlp", "-o", str(tmp_path / "m.pdf")]) == 1
        assert "PDF needs the system's Graphviz" in capsys.readouterr().err


def test_python_dash_m_lists_the_models():
    out = subprocess.run([sys.executable, "-m", "tinygrad_cs.viz", "--list"],
                         capture_output=True, text=True, check=True).stdout
    assert re.search(r"^resnet-mini\s+the zoo's ResNet-8", out, re.MULTILINE)


def test_the_readme_shows_the_committed_gallery():
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("README.md is not next to tests/")
    images = re.findall(r"\((docs/gallery/[^)]+)\)", readme.read_text(encoding="utf-8"))
    assert len(images) >= 8
    for image in images:
        data = (ROOT / image).read_bytes()
        assert data.startswith(b"\x89PNG") or data.rstrip().endswith(b"</svg>"), image


@pytest.mark.parametrize("name", ["resnet8", "svm", "char_lstm", "dcgan", "scalar-expr"])
def test_grads_works_for_zoo_models_and_examples(tmp_path, name):
    """The README's ``tgcs graph resnet20 --grads``: classifiers are drawn up to a loss,
    other non-scalar outputs run backward from their sum; the picture is coloured."""
    if name not in list_models():
        pytest.skip(f"{name} is not registered")
    out = tmp_path / f"{name}.gv"
    assert main([name, "-o", str(out), "--grads", "--format", "dot"]) == 0
    assert "grad" in out.read_text()
    sample = get_model(name)
    if name == "resnet8":
        assert sample.output.shape == () and sample.output.op == "cross_entropy"
