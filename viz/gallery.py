"""Regenerate the README's gallery: ``python -m tinygrad_cs.viz.gallery [DIR] [--format png]``.

Writes into DIR (default ``docs/gallery``):

* ``scalar_neuron``: micrograd's neuron o = tanh(x1 w1 + x2 w2 + b), data and grad;
* ``mlp``: a 3-layer MLP with its loss, one cluster per module, leaves named;
* ``resnet_stages``: a small ResNet collapsed at depth 1 (its stages), and
  ``resnet_blocks_grads``: at depth 2, coloured by gradient norm;
* ``grad_flow_sigmoid`` / ``grad_flow_relu_kaiming``: the same 10-layer MLP with
  sigmoid and N(0, 0.01^2) weights (gradients vanish layer by layer) and with
  ReLU and Kaiming init (they do not), on one colour scale; ``grad_flow_bars.png``
  compares them as bar charts;
* ``activation_stats.png`` / ``init_grad_flow.png``: ``deep_mlp``'s study;
* ``compiled_step``: the README's ``tg.compile``d training step as a program (forward,
  backward and update side by side, ``draw_program``).

Graphs are SVG (or PNG with ``--format png``, e.g. to preview); plots are PNG.
Everything is seeded, so a rerun reproduces the pictures.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import deep_mlp
from .backend import render
from .draw import draw_graph
from .examples import compiled_step_program, init_study
from .gradflow import capture_grads
from .plots import plot_grad_flow
from .program import draw_program
from .registry import get_model
from .stats import grad_flow


def _draw(out: Path, name: str, fmt: str, root, **kwargs) -> Path:
    return render(draw_graph(root, name=name, **kwargs), out / f"{name}.{fmt}", format=fmt)


def make(out: Path, fmt: str = "svg") -> list[Path]:
    """Write every picture into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    neuron = get_model("scalar-expr").output
    neuron.backward()
    written.append(_draw(out, "scalar_neuron", fmt, neuron, rankdir="LR"))

    mlp = get_model("mlp")
    written.append(_draw(out, "mlp", fmt, mlp.output, params=mlp.params))

    resnet = get_model("resnet-mini")
    written.append(_draw(out, "resnet_stages", fmt, resnet.output, params=resnet.params,
                         depth=1))
    with capture_grads() as flow:
        resnet.output.backward()
    written.append(_draw(out, "resnet_blocks_grads", fmt, resnet.output, params=resnet.params,
                         depth=2, grads=flow))

    tables = {}
    for name, act, std, title in [("grad_flow_sigmoid", "sigmoid", 0.01, "sigmoid, N(0, 0.01^2)"),
                                  ("grad_flow_relu_kaiming", "relu", "kaiming", "ReLU, Kaiming")]:
        model, _, loss = init_study(act, std)
        with capture_grads() as flow:
            loss.backward()
        # one colour scale for both, so the two pictures compare
        written.append(_draw(out, name, fmt, loss, params=model, depth=1, grads=flow,
                             grad_range=(1e-18, 1.0)))
        tables[title] = grad_flow(model)
    written.append(out / "grad_flow_bars.png")
    plot_grad_flow(tables, written[-1], title="10-layer MLP: |grad| per weight")

    written += [out / "activation_stats.png", out / "init_grad_flow.png"]
    deep_mlp.draw(*deep_mlp.run(), *written[-2:])

    program = draw_program(compiled_step_program(), name="compiled_step")
    written.append(render(program, out / f"compiled_step.{fmt}", format=fmt))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tinygrad_cs.viz.gallery")
    parser.add_argument("out", nargs="?", default="docs/gallery")
    parser.add_argument("--format", default="svg", choices=["svg", "png"])
    args = parser.parse_args(argv)
    for path in make(Path(args.out), args.format):
        print(path)


if __name__ == "__main__":
    main()
