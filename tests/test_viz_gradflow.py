"""Gradient flow on the graph: capture_grads summaries, colours for known norms, marks."""
from __future__ import annotations

import gc
import re

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs.viz import capture_grads, draw_graph, render
from tinygrad_cs.viz.colors import GradScale, viridis
from tinygrad_cs.viz.gradflow import summarize


def _node_attrs(source: str, nid: str) -> str:
    match = re.search(rf"^\s*{nid} \[(.*)\]$", source, re.MULTILINE)
    assert match, nid
    return match.group(1)


def _edge_attrs(source: str, src: str, dst: str) -> str:
    match = re.search(rf"^\s*{src} -> {dst} \[(.*)\]$", source, re.MULTILINE)
    assert match, (src, dst)
    return match.group(1)


def _scaled(factor: float):
    """x (4 ones) -> y = factor x -> loss = sum y: grads |loss| 1, |y| 2, |x| 2 factor."""
    x = tg.ones(4, requires_grad=True)
    loss = (x * factor).sum()
    with capture_grads() as flow:
        loss.backward()
    return loss, flow


def test_summaries_match_numpy():
    g = np.array([[0.0, -3.0], [4.0, 0.0]])
    stat = summarize(tg.zeros(2, 2), g)
    assert stat.norm == 5.0 and stat.max_abs == 4.0 and stat.mean_abs == 7.0 / 4
    assert stat.zero_share == 0.5 and stat.finite and stat.numel == 4
    assert stat.dead_share is None
    assert not summarize(tg.zeros(2), np.array([1.0, np.inf])).finite


def test_capture_records_every_node_and_the_loss_reference():
    loss, flow = _scaled(2.0)
    x, y = tg.Graph(loss).nodes[:2]
    assert len(flow) == 3 and flow.reference == 1.0
    assert flow.get(loss).norm == 1.0 and flow.get(y).norm == 2.0 and flow.get(x).norm == 4.0
    assert tg.ones(1) not in flow


def test_colours_follow_the_log_scale_for_known_norms():
    loss, flow = _scaled(2.0)
    source = draw_graph(loss, grads=flow).source
    # norms 4 (x), 2 (y), 1 (loss): the scale spans log10 1 .. log10 4, 2 sits in the middle
    assert "fillcolor=\"#fde725\"" in _node_attrs(source, "n0")      # viridis(1)
    assert "fillcolor=\"#21918c\"" in _node_attrs(source, "n1")      # viridis(0.5)
    assert "fillcolor=\"#440154\"" in _node_attrs(source, "n2")      # viridis(0)
    assert "fontcolor=white" in _node_attrs(source, "n2")
    assert "grad norm 4" in _node_attrs(source, "n0") and "grad norm 1<" in source
    # an edge carries its source's gradient
    assert 'color="#fde725"' in _edge_attrs(source, "n0", "n1")
    assert 'color="#21918c"' in _edge_attrs(source, "n1", "n2")
    assert "penwidth=4.0" in _edge_attrs(source, "n0", "n1")
    assert "penwidth=2.5" in _edge_attrs(source, "n1", "n2")
    # the legend spells the scale out
    legend = _node_attrs(source, "legend")
    assert "grad norm (log scale)" in legend and "shape=plaintext" in legend
    assert [c for c in re.findall(r'">([\d.e+-]+)</FONT></TD>', legend)] == \
        ["1", "1.4", "2", "2.8", "4"]


def test_a_fixed_range_gives_fixed_colours():
    loss, flow = _scaled(10.0)                     # x's gradient norm: 20
    source = draw_graph(loss, grads=flow, grad_range=(1e-2, 1e2)).source
    expected = viridis((np.log10(20) + 2) / 4)
    assert f'fillcolor="{expected}"' in _node_attrs(source, "n0")
    assert GradScale(-2, 2).color(1.0) == viridis(0.5) == "#21918c"


def test_vanishing_and_exploding_relative_to_the_loss_gradient():
    loss, flow = _scaled(1e-6)                     # |grad x| = 2e-6 < 1e-4 x 1
    source = draw_graph(loss, grads=flow).source
    assert "style=\"filled,dashed\"" in _node_attrs(source, "n0")
    assert "<I>vanishing</I>" in _node_attrs(source, "n0")
    assert "style=dashed" in _edge_attrs(source, "n0", "n1")
    assert "<I>vanishing" not in draw_graph(loss, grads=flow, vanishing=1e-7).source
    loss, flow = _scaled(1e5)                      # |grad x| = 2e5 > 1e4
    attrs = _node_attrs(draw_graph(loss, grads=flow).source, "n0")
    assert 'color="#ff7f00"' in attrs and "penwidth=4" in attrs and "<I>exploding" in attrs
    assert "<I>exploding" not in draw_graph(loss, grads=flow, exploding=1e6).source


def test_nan_and_inf_are_red():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    loss = x.sqrt().sum()                          # d sqrt / dx = inf at 0
    with capture_grads() as flow, np.errstate(divide="ignore"):
        loss.backward()
    source = draw_graph(loss, grads=flow).source
    attrs = _node_attrs(source, "n0")
    assert 'fillcolor="#e31a1c"' in attrs and "grad NaN/Inf" in attrs
    assert 'color="#e31a1c"' in _edge_attrs(source, "n0", "n1")
    assert "grad NaN/Inf" not in _node_attrs(source, "n1")  # the sqrt output's grad is fine


def test_relu_nodes_report_zero_gradients_and_dead_units():
    x = tg.tensor([[1.0, -1.0, 2.0], [3.0, -2.0, -1.0]], requires_grad=True)
    r = x.relu()
    loss = r.sum()
    with capture_grads() as flow:
        loss.backward()
    stat = flow.get(r)
    # the ReLU passes no gradient where its output is 0 (3 of 6); column 1 never fires
    assert stat.zero_share == 0.5 and stat.dead_share == pytest.approx(1 / 3)
    assert "zero grad 50%, dead units 33%" in draw_graph(loss, grads=flow).source
    assert flow.get(x).zero_share == 0.5           # and that is what reaches x


def test_grads_true_uses_the_latest_capture():
    loss, flow = _scaled(3.0)
    assert draw_graph(loss, grads=True).source == draw_graph(loss, grads=flow).source
    other = (tg.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="capture_grads"):
        draw_graph(other, grads=True)


def test_value_graphs_are_coloured_too():
    a, b = tg.Value(2.0, label="a"), tg.Value(-3.0, label="b")
    c = a * b
    with capture_grads() as flow:
        c.backward()
    source = draw_graph(c, grads=flow).source
    # |grad a| = 3 (largest), |grad b| = 2, |grad c| = 1 (smallest)
    assert 'fillcolor="#fde725"' in _node_attrs(source, "n0")
    assert 'fillcolor="#440154"' in _node_attrs(source, "n2")
    assert 'color="#440154"' in _edge_attrs(source, "n2_op", "n2")
    assert '"{ a | data 2.0000 | grad -3.0000 }"' in source


def test_blocks_take_the_gradient_leaving_them():
    from tinygrad_cs.viz.examples import mlp
    tg.manual_seed(0)
    model = mlp([3, 4, 2])
    out = model(tg.randn(5, 3))
    loss = out.sum()
    with capture_grads() as flow:
        loss.backward()
    source = draw_graph(loss, params=model, grads=flow, depth=1).source
    expected = np.sqrt(10.0)                        # d sum / d out = ones (5, 2)
    assert f"out grad norm {expected:.3g}" in source
    act = flow.get(tg.Graph(loss).nodes[[n.op for n in tg.Graph(loss).nodes].index("ReLU")])
    assert f"zero grad {act.zero_share:.0%}" in source


def test_capture_keeps_no_graph_alive_and_handles_create_graph():
    x = tg.randn(3, requires_grad=True)
    y = (x * x).sum()
    with capture_grads() as flow:
        (g,) = tg.grad(y, x, create_graph=True)    # gradients that are graph nodes
    assert flow.get(x).norm == pytest.approx(np.linalg.norm(2 * x.numpy()), rel=1e-6)
    count = len(flow)
    del y, g
    gc.collect()
    assert len(flow) < count


def test_a_coloured_graph_renders(tmp_path):
    loss, flow = _scaled(1e-6)
    out = render(draw_graph(loss, grads=flow), tmp_path / "flow.svg")
    svg = out.read_text()
    assert "#fde725" in svg and "grad norm (log scale)" in svg and "vanishing" in svg


def test_a_plain_backward_colours_the_leaves_and_says_how_to_colour_the_rest(tmp_path):
    x = tg.tensor([1.0, -2.0, 2.0, 4.0], requires_grad=True)
    loss = (x * 3.0).sum()
    loss.backward()                                # no capture: only x.grad is left
    source = draw_graph(loss, grads=True).source
    # one norm, |grad x| = 3 * 2 = 6, sits in the middle of its (centred) scale
    assert np.linalg.norm(x.grad.numpy()) == 6.0
    assert 'fillcolor="#21918c"' in _node_attrs(source, "n0")
    assert "grad norm 6" in _node_attrs(source, "n0")
    for op_node in ("n1", "n2"):                   # the ops' gradients were freed: white
        assert "fillcolor=white" in _node_attrs(source, op_node)
        assert "grad norm" not in _node_attrs(source, op_node)
    legend = _node_attrs(source, "legend")
    assert "only the leaves&#x27; .grad is coloured" in legend and "capture_grads()" in legend
    svg = render(draw_graph(loss, grads=True), tmp_path / "leaves.svg").read_text()
    assert "#21918c" in svg and "capture_grads() as flow" in svg
    # the same graph under a capture: every node coloured, and no such line
    x.grad = None
    with capture_grads() as flow:
        loss = (x * 3.0).sum()
        loss.backward()
    captured = draw_graph(loss, grads=True).source
    assert captured == draw_graph(loss, grads=flow).source
    assert "grad norm 1<" in captured and "only the leaves" not in captured


def test_a_plain_backward_colours_every_parameter_by_its_grad_norm():
    from tinygrad_cs.viz.examples import mlp
    tg.manual_seed(0)
    model = mlp([3, 4, 2])
    loss = model(tg.randn(5, 3)).relu().sum()
    loss.backward()
    graph = tg.Graph(loss)
    source = draw_graph(loss, params=model, grads=True).source
    norms = {name: float(np.linalg.norm(p.grad.numpy())) for name, p in model.named_parameters()}
    for name, p in model.named_parameters():
        attrs = _node_attrs(source, f"n{graph.index(p)}")
        assert name in attrs and f"grad norm {norms[name]:.3g}" in attrs
    low, high = min(norms.values()), max(norms.values())   # the scale spans the leaves
    smallest = next(n for n, v in norms.items() if v == low)
    largest = next(n for n, v in norms.items() if v == high)
    params = dict(model.named_parameters())
    assert 'fillcolor="#440154"' in _node_attrs(source, f"n{graph.index(params[smallest])}")
    assert 'fillcolor="#fde725"' in _node_attrs(source, f"n{graph.index(params[largest])}")


def test_a_plain_backward_of_values_colours_every_value_without_the_note():
    a, b = tg.Value(2.0, label="a"), tg.Value(-3.0, label="b")
    c = a * b
    c.backward()                                   # every Value keeps its .grad
    source = draw_graph(c, grads=True).source
    assert 'fillcolor="#fde725"' in _node_attrs(source, "n0")      # |grad a| = 3
    assert 'fillcolor="#440154"' in _node_attrs(source, "n2")      # |grad c| = 1
    assert "only the leaves" not in source


def test_an_explicit_capture_of_another_graph_is_refused():
    _, flow = _scaled(2.0)
    other = (tg.ones(2, requires_grad=True) * 2).sum()
    other.backward()
    with pytest.raises(RuntimeError, match="holds no node of this graph"):
        draw_graph(other, grads=flow)
