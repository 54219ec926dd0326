"""grad_flow / activation_stats against numpy, the CS231n init study, and their plots."""
from __future__ import annotations

import sys
from itertools import pairwise

import numpy as np
import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.viz import activation_stats, grad_flow, plot_activation_stats, plot_grad_flow
from tinygrad_cs.viz.examples import init_study
from tinygrad_cs.viz.plots import PANEL_SIZE, panel_grid


def _small_net():
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2),
                          nn.Sigmoid())
    x = tg.randn(6, 3)
    return model, x


def _numpy_forward(model, x):
    """Every layer's output, computed with numpy from the parameters."""
    outs, a = [], x.numpy().astype(np.float64)
    for layer in model:
        if isinstance(layer, nn.Linear):
            a = a @ layer.weight.numpy().T + layer.bias.numpy()
        else:
            a = {nn.Tanh: np.tanh, nn.ReLU: lambda v: np.maximum(v, 0),
                 nn.Sigmoid: lambda v: 1 / (1 + np.exp(-v))}[type(layer)](a)
        outs.append(a)
    return outs


def test_grad_flow_table_matches_numpy():
    model, x = _small_net()
    model(x).sum().backward()
    table = grad_flow(model)
    assert [r.name for r in table] == [n for n, _ in model.named_parameters()]
    for row, (_, p) in zip(table, model.named_parameters()):
        g, w = p.grad.numpy().astype(np.float64), p.numpy().astype(np.float64)
        assert row.shape == p.shape
        assert row.mean_abs == pytest.approx(np.abs(g).mean(), rel=1e-6)
        assert row.max_abs == pytest.approx(np.abs(g).max(), rel=1e-6)
        if np.any(w):
            assert row.ratio == pytest.approx(np.linalg.norm(g) / np.linalg.norm(w), rel=1e-6)
        else:                                     # a zero bias: the ratio is undefined
            assert np.isnan(row.ratio)
    text = str(table)
    assert text.splitlines()[0].split() == ["name", "shape", "mean", "|g|", "max", "|g|",
                                            "|g|/|w|"]
    assert "0.weight  (4, 3)" in text and len(text.splitlines()) == 1 + len(table)


def test_grad_flow_flags_parameters_far_below_the_largest():
    a, b = tg.ones(3, requires_grad=True), tg.ones(3, requires_grad=True)
    unused = tg.ones(1, requires_grad=True)
    (a * 1e-5 + b).sum().backward()
    table = grad_flow({"a": a, "b": b, "unused": unused})
    assert [r.name for r in table] == ["a", "b"]  # no gradient, no row
    assert table.vanishing == ["a"]
    assert grad_flow({"a": a, "b": b}, vanishing=1e-6).vanishing == []
    assert "vanishing" in str(table).splitlines()[1]


def test_activation_stats_match_numpy_per_layer():
    model, x = _small_net()
    table = activation_stats(model, x)
    outs = _numpy_forward(model, x)
    assert [(r.name, r.cls) for r in table] == [
        ("0", "Linear"), ("1", "Tanh"), ("2", "Linear"), ("3", "ReLU"), ("4", "Linear"),
        ("5", "Sigmoid")]
    for row, a in zip(table, outs):
        assert row.shape == a.shape
        assert row.mean == pytest.approx(a.mean(), abs=1e-6)
        assert row.std == pytest.approx(a.std(), abs=1e-6)
        np.testing.assert_allclose(row.sample, a.reshape(-1), atol=1e-6)
    sat = {r.cls: (r.saturated, r.criterion) for r in table}
    assert sat["Linear"] == (None, "")
    assert sat["Tanh"] == (pytest.approx(np.mean(np.abs(outs[1]) > 0.99)), "|a| > 0.99")
    assert sat["ReLU"] == (pytest.approx(np.mean(outs[3] == 0)), "a = 0")
    assert sat["Sigmoid"][1] == "a < 0.01 or a > 0.99"
    assert "Tanh" in str(table).splitlines()[2]


def test_activation_stats_select_layers_and_remove_their_hooks():
    model, x = _small_net()
    assert [r.name for r in activation_stats(model, x, layers=(nn.Tanh, nn.ReLU))] == ["1", "3"]
    assert [r.name for r in activation_stats(model, x, layers=["0", "4"])] == ["0", "4"]
    picked = activation_stats(model, x, layers=lambda name, m: name == "")
    assert [r.cls for r in picked] == ["Sequential"]
    assert len(activation_stats(model, x)) == 6   # no hook of the earlier calls is left
    with pytest.raises(TypeError, match="nn.Module"):
        activation_stats(lambda v: v, x)


def test_the_cs231n_initialisation_study():
    acts = (nn.Tanh, nn.ReLU, nn.Sigmoid)
    model, x, _ = init_study("tanh", 0.01)
    std = [r.std for r in activation_stats(model, x, layers=acts)]
    assert 0.05 < std[0] < 0.2 and std[-1] < 1e-6          # shrinks ~10x per layer
    model, x, _ = init_study("relu", "kaiming")
    std = [r.std for r in activation_stats(model, x, layers=acts)]
    assert all(0.5 < s < 2.0 for s in std)                  # preserved through depth
    model, _, loss = init_study("sigmoid", 0.01)
    loss.backward()
    flagged = grad_flow(model).vanishing
    assert "fc1.weight" in flagged and "out.weight" not in flagged
    weights = [r.mean_abs for r in grad_flow(model) if r.name.endswith("weight")]
    assert all(a < b for a, b in pairwise(weights[:-1]))  # fc1 < fc2 < ... < fc10


matplotlib = pytest.importorskip("matplotlib")


def test_plot_grad_flow_writes_a_png_and_marks_vanishing_layers(tmp_path):
    a, b = tg.ones(3, requires_grad=True), tg.ones(3, requires_grad=True)
    (a * 1e-5 + b).sum().backward()
    fig = plot_grad_flow({"net": {"a.weight": a, "b.weight": b}}, tmp_path / "g.png")
    assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a.weight", "b.weight"]
    assert [t.get_color() for t in ax.get_xticklabels()] == ["#e31a1c", "black"]
    assert ax.get_yscale() == "log" and ax.get_title() == "net"


def test_plot_grad_flow_leaves_biases_out_unless_asked(tmp_path):
    model, x = _small_net()
    model(x).sum().backward()
    ticks = [t.get_text() for t in plot_grad_flow(model).axes[0].get_xticklabels()]
    assert ticks == ["0.weight", "2.weight", "4.weight"]
    assert len(plot_grad_flow(model, biases=True).axes[0].get_xticklabels()) == 6


def test_plot_activation_stats_one_row_per_network(tmp_path):
    model, x = _small_net()
    table = activation_stats(model, x)
    fig = plot_activation_stats({"a": table, "b": model}, tmp_path / "act.png", x=x)
    assert (tmp_path / "act.png").read_bytes().startswith(b"\x89PNG")
    assert len(fig.axes) == 2 * (1 + 6)
    assert fig.axes[1].get_title().startswith("0\nmean")
    assert "zeros" in fig.axes[4].get_title()                  # the ReLU layer
    with pytest.raises(ValueError, match="pass x"):
        plot_activation_stats(model)


def _deep_net(layers: int):
    """``layers`` modules: (Linear 4, Tanh) pairs, a last Linear when ``layers`` is odd."""
    tg.manual_seed(0)
    parts = [nn.Linear(4, 4) if k % 2 == 0 else nn.Tanh() for k in range(layers)]
    return nn.Sequential(*parts), tg.randn(8, 4)


def _cells(fig):
    """(grid rows, grid columns, row, column) of every panel, in drawing order."""
    out = []
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        rows, columns = spec.get_gridspec().get_geometry()
        out.append((rows, columns, spec.rowspan.start, spec.colspan.start))
    return out


@pytest.mark.parametrize("count, max_columns, grid", [
    (1, 6, (1, 1)), (4, 6, (1, 4)), (6, 6, (1, 6)), (7, 6, (2, 6)), (23, 6, (4, 6)),
    (23, 5, (5, 5))])
def test_panel_grid_fills_rows_of_at_most_max_columns(count, max_columns, grid):
    assert panel_grid(count, max_columns) == grid
    rows, columns = grid
    assert rows * columns >= count > (rows - 1) * columns


@pytest.mark.parametrize("layers, grid", [(22, (4, 6)), (3, (1, 4)), (6, (2, 6))])
def test_plot_activation_stats_lays_the_layers_out_on_a_readable_grid(layers, grid):
    model, x = _deep_net(layers)
    fig = plot_activation_stats(model, x=x)
    cells = _cells(fig)
    assert len(cells) == 1 + layers                       # std panel + one per layer, no blanks
    rows, columns = grid
    assert {c[:2] for c in cells} == {grid}
    # read left to right, top to bottom: panel k at (k // columns, k % columns)
    assert [c[2:] for c in cells] == [(k // columns, k % columns) for k in range(1 + layers)]
    assert fig.axes[0].get_title() == "std per layer"
    assert fig.axes[1 + layers - 1].get_title().startswith(f"{layers - 1}\nmean")
    width, height = fig.get_size_inches()
    assert width == pytest.approx(PANEL_SIZE[0] * columns + 0.3)
    assert height == pytest.approx(PANEL_SIZE[1] * rows + 0.35)


def test_plot_activation_stats_gives_each_network_its_block_of_rows():
    deep, x = _deep_net(22)
    shallow, _ = _deep_net(3)
    fig = plot_activation_stats({"deep": deep, "shallow": shallow}, x=x)
    cells = _cells(fig)
    assert len(cells) == 23 + 4
    assert {c[:2] for c in cells[:23]} == {(4, 6)}            # same columns for both
    assert {c[:2] for c in cells[23:]} == {(1, 6)}
    assert [sub.get_suptitle() for sub in fig.subfigs] == ["deep", "shallow"]


def test_missing_matplotlib_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_grad_flow({"a": tg.ones(1)})
