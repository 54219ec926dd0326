"""draw_graph on modules: clusters by scope, parameter names, depth collapse, max_nodes,
what ops saved, values; every walk iterative."""
from __future__ import annotations

import re
from contextlib import ExitStack

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.viz import draw_graph


class Block(nn.Module):
    """x + relu(fc(x)): 4 -> 4."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.act = nn.Linear(4, 4), nn.ReLU()

    def forward(self, x):
        return x + self.act(self.fc(x))


class Net(nn.Module):
    """stem (3 -> 4), two Blocks, head (4 -> 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(3, 4)
        self.blocks = nn.Sequential(Block(), Block())
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def _net():
    tg.manual_seed(0)
    model = Net()
    x = tg.randn(5, 3)
    x.name = "x"
    return model, model(x).sum()


def _clusters(source: str) -> list[str]:
    """The label of every cluster, in order."""
    return re.findall(r'subgraph cluster_\d+ \{\s*graph \[.*?label="([^"]*)"', source, re.DOTALL)


def _ids(source: str, prefix: str) -> set[str]:
    return set(re.findall(rf"^\s*({prefix}\d+) \[", source, re.MULTILINE))


def _edge_lines(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if " -> " in line]


def test_graph_of_the_net_has_the_expected_nodes():
    _, out = _net()
    # x; stem W, b, Linear; per block W, b, Linear, ReLU, residual Add; head 3; Sum
    assert len(tg.Graph(out)) == 1 + 3 + 2 * 5 + 3 + 1


def test_one_cluster_per_module_scope_with_class_names():
    model, out = _net()
    source = draw_graph(out, params=model).source
    assert sorted(_clusters(source)) == sorted([
        "stem: Linear", "blocks: Sequential", "blocks.0: Block", "blocks.0.fc: Linear",
        "blocks.0.act: ReLU", "blocks.1: Block", "blocks.1.fc: Linear", "blocks.1.act: ReLU",
        "head: Linear"])
    assert len(_ids(source, "n")) == 18 and not _ids(source, "m")
    # leaves are named after the parameters and drawn inside their module's cluster
    fc = source[source.index('label="blocks.1.fc: Linear"'):]
    fc = fc[:fc.index("}")]
    assert "<B>blocks.1.fc.weight</B>" in fc and "<B>blocks.1.fc.bias</B>" in fc
    assert "<B>Linear</B>" in fc
    assert "<B>x</B>" in source


def test_without_params_clusters_have_paths_and_leaves_follow_their_use():
    _, out = _net()
    source = draw_graph(out).source
    assert "blocks.0.fc" in _clusters(source) and "blocks: Sequential" not in source
    fc = source[source.index('label="blocks.0.fc"'):]
    fc = fc[:fc.index("}")]
    assert fc.count("<B>leaf</B>") == 2      # W and b, used only in there


def test_params_as_a_dict_names_leaves():
    W = tg.randn(2, 2, requires_grad=True)
    source = draw_graph((W * 2.0).sum(), params={"weights": W}).source
    assert "<B>weights</B>" in source


def test_bad_arguments_raise_clearly():
    out = (tg.randn(2, requires_grad=True) * 2).sum()
    with pytest.raises(TypeError, match="params must be a Module"):
        draw_graph(out, params=[1, 2])
    with pytest.raises(ValueError, match="depth must be a positive int"):
        draw_graph(out, depth=0)
    with pytest.raises(TypeError, match="GradFlow"):
        draw_graph(out, grads="yes")


def test_depth_1_collapses_each_top_level_module():
    model, out = _net()
    dot = draw_graph(out, params=model, depth=1)
    source = dot.source
    assert _ids(source, "m") == {"m0", "m1", "m2"} and _ids(source, "n") == {"n0", "n17"}
    assert not _clusters(source) and dot.notes == ()
    small = '<BR/><FONT POINT-SIZE="9">'
    assert f"<<B>Linear</B>{small}stem</FONT>{small}1 op, 16 params</FONT>>" in source
    assert f"<<B>Sequential</B>{small}blocks</FONT>{small}6 ops, 40 params</FONT>>" in source
    assert f"<<B>Linear</B>{small}head</FONT>{small}1 op, 10 params</FONT>>" in source
    # one edge per tensor crossing a boundary, labelled with its shape
    assert sorted(_edge_lines(source)) == sorted([
        'n0 -> m0 [label=" (5, 3)"]', 'm0 -> m1 [label=" (5, 4)"]',
        'm1 -> m2 [label=" (5, 4)"]', 'm2 -> n17 [label=" (5, 2)"]'])


def test_depth_2_shows_each_block_inside_its_stage():
    model, out = _net()
    source = draw_graph(out, params=model, depth=2).source
    assert sorted(_clusters(source)) == ["blocks: Sequential", "head: Linear", "stem: Linear"]
    assert len(_ids(source, "m")) == 2                       # blocks.0, blocks.1
    assert "<B>Block</B>" in source and "blocks.1</FONT>" in source
    # blocks.1 reads blocks.0's output twice (fc and the residual): one edge
    assert sum(1 for e in _edge_lines(source) if e.startswith("m0 -> m1")) == 1
    blocks = source[source.index('label="blocks: Sequential"'):]
    assert blocks.index("m0 [") < blocks.index("}")        # the blocks sit in the stage


def test_past_max_nodes_the_graph_collapses_by_scope_and_says_so():
    model, out = _net()
    dot = draw_graph(out, params=model, max_nodes=9)
    assert len(_ids(dot.source, "m")) == 3                  # depth 2 would need 10 boxes
    assert dot.notes == ("18 nodes exceed max_nodes=9: modules collapsed at depth 1",
                         "collapsed modules (nodes): stem (3), blocks (10), head (3)")
    assert "modules collapsed at depth 1" in dot.source     # in the picture's title
    # a depth that already fits is kept
    assert draw_graph(out, params=model, max_nodes=10).notes[0].endswith("at depth 2")


def test_a_graph_without_scopes_keeps_the_nodes_nearest_the_output():
    v = tg.Value(1.0, label="v0")
    for _ in range(30):
        v = v * 1.01
    v.label = "out"
    dot = draw_graph(v, max_nodes=10)
    source = dot.source
    assert len(_ids(source, "n")) == 9                      # 9 nodes nearest the output
    assert "22 nodes not drawn" in source and "Mul x21, leaf x1" in source
    note = ("31 nodes exceed max_nodes=10: the 22 nodes farthest from the output are not "
            "drawn (Mul x21, leaf x1)")
    assert dot.notes == (note,)
    assert "elided -> n22_op" in source                     # into the oldest op still drawn
    assert "{ out |" in source


def test_long_chains_and_deep_nesting_need_no_recursion():
    v = tg.Value(0.5)
    for _ in range(20_000):                                  # far past the recursion limit
        v = v * 1.0
    assert "nodes not drawn" in draw_graph(v, max_nodes=50).source
    x = tg.randn(2, requires_grad=True)
    with ExitStack() as stack:
        for k in range(300):                                 # 300 nested module scopes
            stack.enter_context(tg.scope(f"s{k}"))
        y = x.exp()
    source = draw_graph(y.sum(), max_nodes=10_000).source
    assert source.count("subgraph cluster_") == 300


def test_show_saved_lists_what_backward_will_read():
    a = tg.randn(3, requires_grad=True)
    b = tg.randn(3, requires_grad=True)
    e = (a * b).exp()
    source = draw_graph(e.sum(), show_saved=True).source
    assert "saved: input 0, input 1" in source              # Mul keeps both inputs
    assert "saved: output" in source                        # Exp keeps its result
    e.sum().backward()
    assert "saved: freed by backward" in draw_graph(e, show_saved=True).source


class _SavesAnArray(tg.Function):
    """out = 3 x, saving 2 x (neither input nor output) for a test."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x * 2.0)
        return x * 3.0

    @staticmethod
    def backward(ctx, grad):
        return grad * 3.0


def test_saved_arrays_get_their_own_box():
    x = tg.ones(3, requires_grad=True)
    source = draw_graph(_SavesAnArray.apply(x), show_saved=True).source
    assert "saved: array (3,)" in source
    assert 'n1_saved0 [label="saved\\n(3,) float32"' in source
    assert "n1_saved0 -> n1 [arrowhead=none style=dashed]" in source


def test_show_values_prints_small_tensors_and_summarises_large_ones():
    small = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    source = draw_graph((small * 2.0).sum(), show_values=True).source
    assert "[1, 2, 3]" in source and "[2, 4, 6]" in source and ">12</FONT>" in source
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    big = tg.tensor(data, requires_grad=True)
    source = draw_graph(big.sum(), show_values=True).source
    assert f"mean {data.mean():.3g}, std {data.std():.3g}" in source
    assert "min 0, max 11" in source
