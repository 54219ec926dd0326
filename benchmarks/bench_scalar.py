"""Scalar engine: one training step of a micrograd-style MLP(2, [16, 16, 1]), against micrograd.

The step is micrograd's own demo (``demo.ipynb``), written once and run by both engines
with identical weights and data (float64 everywhere, garbage collector on):

* forward over 100 samples: inputs wrapped as ``Value``s, scores from the MLP (ReLU after
  every layer but the last), SVM max-margin loss ``mean((1 + -y * score).relu())`` plus
  L2 regularisation ``1e-4 * sum(p * p)``;
* ``zero_grad`` (every parameter's ``grad`` set to 0);
* ``backward`` from the loss.

That is ~66k nodes. The time per step includes freeing the previous graph (by reference
counting for us; by the cyclic garbage collector for micrograd, whose backward closures
refer back to their nodes): each timed sample is a few consecutive steps of one engine,
after an untimed ``gc.collect()`` and one untimed step, so that each engine pays for its
own garbage and never for the other's. The cost of the collector grows with everything
else alive in the process (importing torch adds ~150k tracked objects), so both engines
are timed in the same process state. Per node = step time / nodes in that engine's graph (micrograd
also counts its wrapped constants such as the ``1`` in ``1 + x``, about 0.3% more nodes).
Goal: per node, ours at least 5x faster than micrograd (ratio ours / micrograd <= 0.2).
(micrograd measured 15.9 us/node on this machine.)

An informational row repeats the measurement with the collector off: the engines' own
work. There micrograd's graphs are freed only by the untimed ``gc.collect()`` between
samples, while ours are freed inside the step (~0.3 us/node), so that row slightly
favours micrograd.

The model code below follows ``micrograd/nn.py`` but takes the ``Value`` class as a
parameter, so that both engines run the same Python.
"""
from __future__ import annotations

import gc
import math
import random
import sys

if __package__:
    from .common import Row, markdown_table, micrograd, timeit_round_robin
else:  # run as a script: python benchmarks/bench_scalar.py
    from common import Row, markdown_table, micrograd, timeit_round_robin

import tinygrad_cs as tg

GOAL = 0.2        # ours / micrograd per node: at least 5x faster
SIZES = [16, 16, 1]
ALPHA = 1e-4


class Neuron:
    def __init__(self, value_cls, weights: list[float], bias: float, nonlin: bool) -> None:
        self.w = [value_cls(w) for w in weights]
        self.b = value_cls(bias)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class Layer:
    def __init__(self, value_cls, nin: int, nout: int, rng: random.Random, nonlin: bool) -> None:
        self.neurons = [Neuron(value_cls, [rng.uniform(-1, 1) for _ in range(nin)], 0.0, nonlin)
                        for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    def __init__(self, value_cls, nin: int, nouts: list[int], seed: int = 1337) -> None:
        rng = random.Random(seed)
        sz = [nin] + nouts
        self.layers = [Layer(value_cls, sz[i], sz[i + 1], rng, nonlin=i != len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


def moons(n: int, seed: int = 0) -> tuple[list[list[float]], list[float]]:
    """Two interleaving half circles (sklearn's make_moons, noise 0.1), labels -1 / +1."""
    rng = random.Random(seed)
    xs, ys = [], []
    for i in range(n):
        upper = i < n // 2
        t = math.pi * rng.random()
        if upper:
            x0, x1, label = math.cos(t), math.sin(t), -1.0
        else:
            x0, x1, label = 1.0 - math.cos(t), 0.5 - math.sin(t), 1.0
        xs.append([x0 + rng.gauss(0, 0.1), x1 + rng.gauss(0, 0.1)])
        ys.append(label)
    return xs, ys


def loss(value_cls, model: MLP, xs, ys):
    """micrograd demo's loss: SVM max-margin data loss plus L2 regularisation."""
    inputs = [[value_cls(v) for v in row] for row in xs]
    scores = [model(x) for x in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(ys, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def make_step(value_cls, xs, ys):
    """A closure running one step; also returns the model (for checks) and a graph builder."""
    model = MLP(value_cls, 2, SIZES)

    def step():
        total = loss(value_cls, model, xs, ys)
        model.zero_grad()
        total.backward()

    return step, model, lambda: loss(value_cls, model, xs, ys)


def count_micrograd_nodes(root) -> int:
    """Nodes reachable from ``root`` through ``_prev`` (iterative walk)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        node = stack.pop()
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def _check_same(ours_model: MLP, ref_model: MLP, ours_loss: float, ref_loss: float) -> None:
    """Both engines must compute the same loss and gradients (same program, same weights)."""
    if not math.isclose(ours_loss, ref_loss, rel_tol=1e-12, abs_tol=1e-12):
        raise AssertionError(f"scalar benchmark: loss {ours_loss} (ours) != {ref_loss} (micrograd)")
    for p, q in zip(ours_model.parameters(), ref_model.parameters()):
        if not math.isclose(p.grad, q.grad, rel_tol=1e-9, abs_tol=1e-12):
            raise AssertionError(f"scalar benchmark: gradient {p.grad} (ours) != {q.grad} "
                                 "(micrograd)")


def run(quick: bool = False) -> list[Row]:
    """Time one step in both engines, interleaved; return the table rows."""
    n = 10 if quick else 100
    xs, ys = moons(n)
    ours_step, ours_model, ours_graph = make_step(tg.Value, xs, ys)
    graph = ours_graph()
    ours_nodes = len(tg.Graph(graph))
    graph.backward()
    ours_loss = graph.data
    del graph
    candidates = {"tg": ours_step}
    ref_nodes = None
    if micrograd is not None:
        # micrograd's backward builds its topological order recursively
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
        ref_step, ref_model, ref_graph = make_step(micrograd.engine.Value, xs, ys)
        graph = ref_graph()
        ref_nodes = count_micrograd_nodes(graph)
        graph.backward()
        _check_same(ours_model, ref_model, ours_loss, graph.data)
        del graph
        candidates["micrograd"] = ref_step
    # Each sample: gc.collect() and one step untimed, then `inner` steps timed, so each
    # engine pays for freeing its own previous graph, as in a training loop.
    if quick:
        t = timeit_round_robin(candidates, repeats=1, inner=1, warmup=0, settle=True)
    else:
        t = timeit_round_robin(candidates, repeats=5, inner=3, warmup=0, settle=True)
    # The same with the collector off: the engines' own work, without the garbage
    # collector's share (informational; the goal is stated with the collector on).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        t_off = timeit_round_robin(candidates, repeats=1 if quick else 3, inner=1 if quick else 3,
                                   warmup=0, settle=True)
    finally:
        if was_enabled:
            gc.enable()
    ours_t, ref_t = t["tg"], t.get("micrograd")
    label = f"MLP(2, {SIZES}), {n} samples"
    return [
        Row(f"scalar: nodes in the graph, {label}", ours_nodes, ref_nodes, None,
            "micrograd", unit="nodes"),
        Row(f"scalar: one step (forward, zero_grad, backward), {label}, gc on",
            ours_t, ref_t, GOAL, "micrograd"),
        Row("scalar: per node", ours_t / ours_nodes,
            None if ref_t is None else ref_t / ref_nodes, GOAL, "micrograd"),
        Row("scalar: per node, gc off (engine work only; informational)",
            t_off["tg"] / ours_nodes,
            None if ref_t is None else t_off["micrograd"] / ref_nodes, None, "micrograd"),
    ]


def speedup_note(rows: list[Row]) -> str:
    """One line with micrograd / ours per node (the form the goal is stated in)."""
    per_node = next(r for r in rows if r.case == "scalar: per node")
    if per_node.ratio is None:
        return "scalar: micrograd not installed, no speed-up to report"
    return (f"scalar: per node, micrograd / tinygrad_cs = {1 / per_node.ratio:.1f}x "
            f"(goal >= {1 / GOAL:g}x)")


def main(quick: bool = False) -> None:
    print(f"gc {'on' if gc.isenabled() else 'off'}")
    rows = run(quick)
    print(markdown_table(rows, verdicts=not quick))
    if not quick:
        print(speedup_note(rows))


if __name__ == "__main__":
    main("--quick" in sys.argv)
