"""tinygrad_cs.viz.draw_graph / render: DOT source checked node by node, real SVG and PNG files."""
from __future__ import annotations

import re

import pytest

import tinygrad_cs as tg
from tinygrad_cs import viz
from tinygrad_cs.viz import draw_graph, render


def _nodes(source: str) -> dict[str, str]:
    """node id -> label, parsed from DOT source."""
    return dict(re.findall(r'^\s*(n\d+(?:_op)?) \[label=("[^"]*"|\S+)', source, re.MULTILINE))


def _edges(source: str) -> list[tuple[str, str]]:
    return re.findall(r"^\s*(n\d+(?:_op)?) -> (n\d+(?:_op)?)", source, re.MULTILINE)


def _value_expression():
    a, b = tg.Value(2.0, label="a"), tg.Value(-3.0, label="b")
    e = a * b
    d = e + a          # a used twice: two edges out of it
    d.label = "d"
    d.backward()       # dd/da = b + 1 = -2, dd/db = a = 2
    return d


def test_value_graph_records_and_op_nodes():
    source = draw_graph(_value_expression()).source
    nodes = _nodes(source)
    records = {k: v for k, v in nodes.items() if not k.endswith("_op")}
    ops = {k: v for k, v in nodes.items() if k.endswith("_op")}
    assert len(records) == 4                        # a, b, e, d
    assert sorted(ops.values()) == ["Add", "Mul"]
    assert records["n0"] == '"{ a | data 2.0000 | grad -2.0000 }"'
    assert records["n1"] == '"{ b | data -3.0000 | grad 2.0000 }"'
    assert records["n2"] == '"{  | data -6.0000 | grad 1.0000 }"'
    assert records["n3"] == '"{ d | data -4.0000 | grad 1.0000 }"'
    edges = _edges(source)
    # value -> op for every op argument, op -> its output once
    assert sorted(edges) == sorted([("n0", "n2_op"), ("n1", "n2_op"), ("n2_op", "n2"),
                                    ("n2", "n3_op"), ("n0", "n3_op"), ("n3_op", "n3")])
    assert 'shape=record' in source and source.isascii()


def test_record_label_escapes_structure_characters():
    v = tg.Value(1.0, label="x|<y>{z}")
    w = v * 2.0
    source = draw_graph(w).source
    assert r"x\|\<y\>\{z\}" in source


def test_tensor_graph_labels_shapes_and_scopes():
    x = tg.randn(4, 3)
    W = tg.randn(3, 2, requires_grad=True)
    W.name = "W"
    with tg.scope("fc"):
        h = (x @ W).relu()
    h.name = "h"
    loss = h.sum()
    graph = tg.Graph(loss)
    source = draw_graph(loss).source
    nodes = _nodes(source)
    assert len(nodes) == len(graph.nodes) == 5
    assert len(_edges(source)) == len(graph.edges) == 4
    labels = list(nodes.values())
    assert '"leaf\\n(4, 3) float32"' in labels
    assert '"W\\n(3, 2) float32"' in labels
    assert any(lab.startswith('"Matmul\\n(4, 2) float32\\n[fc]') for lab in labels)
    assert any(lab.startswith('"h = ReLU\\n(4, 2) float32\\n[fc]') for lab in labels)
    assert any(lab.startswith('"Sum\\n() float32') for lab in labels)
    # only the leaf that requires grad is shaded
    assert source.count("fillcolor=lightblue") == 1


def test_multiple_roots_share_one_graph():
    a = tg.Value(1.0)
    b, c = a * 2.0, a + 1.0
    nodes = _nodes(draw_graph([b, c]).source)
    assert sum(not k.endswith("_op") for k in nodes) == 3


@pytest.mark.parametrize("fmt, magic", [("svg", b"<svg"), ("png", b"\x89PNG\r\n\x1a\n")])
def test_render_writes_real_images(tmp_path, fmt, magic):
    out = render(draw_graph(_value_expression()), tmp_path / "graph", format=fmt)
    assert out == tmp_path / f"graph.{fmt}"
    data = out.read_bytes()
    if fmt == "svg":
        assert magic in data[:400] and data.rstrip().endswith(b"</svg>")
        # the record text made it into the picture (SVG writes "-" as &#45;)
        assert b">data 2.0000<" in data and b">grad 2.0000<" in data and b">Mul<" in data
    else:
        assert data.startswith(magic)


def test_render_rejects_pdf(tmp_path):
    with pytest.raises(ValueError, match="svg"):
        render(draw_graph(tg.Value(1.0) * 2.0), tmp_path / "g.pdf", format="pdf")


def test_render_without_any_dot_names_both_options(tmp_path, monkeypatch):
    monkeypatch.setattr(viz.shutil, "which", lambda name: None)
    monkeypatch.setattr(viz, "_SCRIPT_DIRS", [str(tmp_path)])
    with pytest.raises(RuntimeError, match="graphviz-pure") as info:
        render(draw_graph(tg.Value(1.0) * 2.0), tmp_path / "g.svg")
    assert "dot" in str(info.value) and "PATH" in str(info.value)
