"""tinygrad_cs.viz.draw_graph / render: DOT source checked node by node, real SVG and PNG files."""
from __future__ import annotations

import re

import pytest

import tinygrad_cs as tg
from tinygrad_cs.viz import available_formats, backend, draw_graph, render


def _nodes(source: str) -> dict[str, str]:
    """node id -> label, parsed from DOT source (quoted, HTML-like or bare labels)."""
    return dict(re.findall(r'^\s*(n\d+(?:_op)?) \[label=("[^"]*"|<.*?>(?= \w+=|\])|\S+)',
                           source, re.MULTILINE))


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
    assert "rankdir=TB" in source


def test_record_label_escapes_structure_characters():
    v = tg.Value(1.0, label="x|<y>{z}")
    w = v * 2.0
    source = draw_graph(w).source
    assert r"x\|\<y\>\{z\}" in source


def test_tensor_graph_labels_shapes_and_dtypes():
    x = tg.randn(4, 3)
    W = tg.randn(3, 2, requires_grad=True)
    W.name = "W"
    h = (x @ W).relu()
    h.name = "h"
    loss = h.sum()
    graph = tg.Graph(loss)
    source = draw_graph(loss, rankdir="LR").source
    nodes = _nodes(source)
    assert len(nodes) == len(graph.nodes) == 5
    assert len(_edges(source)) == len(graph.edges) == 4
    small = '<BR/><FONT POINT-SIZE="9">'
    assert set(nodes.values()) == {
        f"<<B>leaf</B>{small}(4, 3) float32</FONT>>",
        f"<<B>W</B>{small}(3, 2) float32</FONT>>",
        f"<<B>Matmul</B>{small}(4, 2) float32</FONT>>",
        f"<<B>h = ReLU</B>{small}(4, 2) float32</FONT>>",
        f"<<B>Sum</B>{small}() float32</FONT>>"}
    # only the leaf that requires grad is shaded blue; the output has a bold border
    assert source.count("fillcolor=lightblue") == 1
    assert re.search(r"n4 \[label=.*penwidth=2", source)
    assert "rankdir=LR" in source


def test_show_shapes_false_leaves_only_titles():
    x = tg.randn(2, 2, requires_grad=True)
    source = draw_graph(x.exp().sum(), show_shapes=False).source
    assert "float32" not in source and "<B>Exp</B>" in source


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


def test_render_takes_the_format_from_the_suffix(tmp_path):
    out = render(draw_graph(tg.Value(1.0) * 2.0), tmp_path / "g.png")
    assert out.read_bytes().startswith(b"\x89PNG")


def test_pdf_needs_the_system_graphviz(tmp_path):
    dot = draw_graph(tg.Value(1.0) * 2.0)
    if "pdf" in available_formats():
        assert render(dot, tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    else:
        with pytest.raises(ValueError, match="graphviz-pure writes only 'svg' and 'png'"):
            render(dot, tmp_path / "g.pdf")


def test_render_rejects_unknown_formats(tmp_path):
    with pytest.raises(ValueError, match="'svg', 'png' or 'pdf'"):
        render(draw_graph(tg.Value(1.0) * 2.0), tmp_path / "g.jpg")


def test_jupyter_display_is_svg():
    dot = draw_graph(_value_expression())
    bundle = dot._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"]
    assert bundle["image/svg+xml"].rstrip().endswith("</svg>")
    assert ">Mul<" in dot._repr_svg_()


def _no_dot(tmp_path, monkeypatch):
    monkeypatch.setattr(backend.shutil, "which", lambda name: None)
    monkeypatch.setattr(backend, "_SCRIPT_DIRS", [str(tmp_path)])


def test_render_without_any_dot_names_both_options(tmp_path, monkeypatch):
    _no_dot(tmp_path, monkeypatch)
    with pytest.raises(RuntimeError, match="graphviz-pure") as info:
        render(draw_graph(tg.Value(1.0) * 2.0), tmp_path / "g.svg")
    assert "`dot` is on PATH" in str(info.value) and "apt install graphviz" in str(info.value)
    assert available_formats() == ()


def test_building_dot_needs_no_binary_but_display_explains(tmp_path, monkeypatch):
    _no_dot(tmp_path, monkeypatch)
    dot = draw_graph(_value_expression())          # no error: DOT source only
    assert "n3_op -> n3" in dot.source
    with pytest.raises(RuntimeError, match="graphviz-pure"):
        dot._repr_mimebundle_()
    with pytest.raises(RuntimeError, match="graphviz-pure"):
        dot.pipe(format="svg")
