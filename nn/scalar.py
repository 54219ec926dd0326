"""A neural network made of scalars: micrograd's ``Neuron``, ``Layer`` and ``MLP`` on ``tg.Value``.

Every weight is one ``Value`` and every multiply-add is one graph node, so the
whole network is visible, and differentiable, one number at a time::

    model = MLP(2, [16, 16, 1])          # 2 inputs -> 16 -> 16 -> 1 output
    score = model([0.5, -1.0])           # a Value
    score.backward()                     # fills .grad of all 337 parameters

Shapes: a ``Neuron(nin)`` maps a list of ``nin`` numbers to one Value; a
``Layer(nin, nout)`` maps ``nin`` numbers to ``nout`` Values (one bare Value
when ``nout == 1``); an ``MLP(nin, [n1, ..., nk])`` chains ``Layer(nin, n1)``,
``Layer(n1, n2)``, ..., with ReLU after every layer but the last, which stays
linear so its output can be any real score.

Weights are drawn uniformly from [-1, 1] by the engine's seeded generator
(``tg.manual_seed``), biases start at 0.
"""
from __future__ import annotations

from collections.abc import Sequence

from tinygrad_cs.random import generator
from tinygrad_cs.value import Value

__all__ = ["MLP", "Layer", "Neuron", "ScalarModule"]


class ScalarModule:
    """Base class: a bag of ``Value`` parameters."""

    def parameters(self) -> list[Value]:
        """Every trainable Value, in a fixed order."""
        return []

    def zero_grad(self) -> None:
        """Reset every parameter's ``.grad`` to 0 (gradients accumulate otherwise)."""
        for p in self.parameters():
            p.grad = 0.0


class Neuron(ScalarModule):
    """out = relu(w . x + b) (or w . x + b when ``nonlin=False``); ``nin`` weights and a bias."""

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        rng = generator()
        self.w = [Value(rng.uniform(-1.0, 1.0)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(ScalarModule):
    """``nout`` independent neurons reading the same ``nin`` inputs."""

    def __init__(self, nin: int, nout: int, nonlin: bool = True) -> None:
        self.neurons = [Neuron(nin, nonlin=nonlin) for _ in range(nout)]

    def __call__(self, x: Sequence) -> Value | list[Value]:
        x = [xi if isinstance(xi, Value) else float(xi) for xi in x]  # numpy scalars -> float
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(ScalarModule):
    """A multi-layer perceptron: ``nin`` inputs, layer widths ``nouts``, linear last layer.

    Parameter count: sum over layers of (fan_in + 1) * fan_out, e.g.
    ``MLP(2, [16, 16, 1])`` has 3*16 + 17*16 + 17*1 = 337.
    """

    def __init__(self, nin: int, nouts: Sequence[int]) -> None:
        sizes = [nin] + list(nouts)
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x: Sequence) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
