"""Why initialisation matters, on a 10-layer MLP: ``python -m tinygrad_cs.viz.deep_mlp [DIR]``.

CS231n's experiment: push 256 samples x ~ N(0, 1) through 10 layers of 100 units
and look at each layer's activations and at the gradient each weight receives
from a cross-entropy loss. Four networks, the same data:

* tanh, weights N(0, 0.01^2): every layer shrinks its input ~10x; activations
  collapse to 0 by layer 4 and so do the weight gradients (they are x * delta);
* tanh, Xavier (std sqrt(1 / fan_in)): activations keep a healthy spread;
* ReLU, weights N(0, 0.01^2): the same collapse; half the units are 0 anyway;
* ReLU, Kaiming (std sqrt(2 / fan_in)): the variance is preserved through depth.

It prints the two tables and writes ``activation_stats.png`` (a histogram per
layer and network) and ``grad_flow.png`` (mean / max |grad| per weight).
"""
from __future__ import annotations

import sys
from pathlib import Path

from tinygrad_cs import nn

from .examples import init_study
from .plots import plot_activation_stats, plot_grad_flow
from .stats import activation_stats, grad_flow

NETWORKS = {"tanh, N(0, 0.01^2)": ("tanh", 0.01), "tanh, Xavier": ("tanh", "xavier"),
            "ReLU, N(0, 0.01^2)": ("relu", 0.01), "ReLU, Kaiming": ("relu", "kaiming")}


def run(networks: dict = NETWORKS) -> tuple[dict, dict]:
    """({title: ActivationTable}, {title: GradTable}) for each (activation, init)."""
    activations, grads = {}, {}
    for title, (act, std) in networks.items():
        model, x, loss = init_study(act, std)
        loss.backward()
        activations[title] = activation_stats(model, x, layers=(nn.Tanh, nn.ReLU, nn.Sigmoid))
        grads[title] = grad_flow(model)
    return activations, grads


def draw(activations: dict, grads: dict, activation_path: Path, grad_path: Path) -> None:
    """Write the two pictures of ``run()``'s results."""
    plot_activation_stats(activations, activation_path,
                          title="10-layer MLP: activations per layer at initialisation")
    plot_grad_flow(grads, grad_path, title="10-layer MLP: |grad| per weight after one backward")


def main(out_dir: str | Path = ".") -> list[Path]:
    """Print the tables and write the two pictures into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    activations, grads = run()
    for title in activations:
        print(f"== {title}\n{activations[title]}\n{grads[title]}\n")
    paths = [out / "activation_stats.png", out / "grad_flow.png"]
    draw(activations, grads, *paths)
    return paths


if __name__ == "__main__":
    for path in main(sys.argv[1] if len(sys.argv) > 1 else "."):
        print(path)
