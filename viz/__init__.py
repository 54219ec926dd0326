"""``tinygrad_cs.viz``: draw computation graphs and the gradients that flow through them.

Graphs (``draw_graph``, built on the engine's public ``tg.Graph``):

* ``Value`` graphs look like micrograd's: a record ``label | data | grad`` per
  value and a small ellipse per op between its inputs and its output;
* ``Tensor`` graphs have one box per tensor (the op that made it, shape, dtype),
  leaves named after the parameters of the Module passed as ``params``, nodes
  grouped into clusters by module scope; ``depth=k`` collapses each module k
  levels deep into one box; big graphs collapse by themselves past ``max_nodes``.

Gradient flow::

    with viz.capture_grads() as flow:
        loss.backward()
    viz.draw_graph(loss, params=model, grads=flow)   # coloured by gradient norm
    viz.grad_flow(model)                              # per-parameter table
    viz.plot_grad_flow(model, "grads.png")            # bar chart (matplotlib)
    viz.activation_stats(model, x)                    # per-layer mean / std / saturation

Detections (``viz.detection``, matplotlib): ``draw_detections(images, predictions, class_names,
"dets.png")`` draws boxes, masks and scores coloured by class; ``draw_nms_before_after`` shows
what non-maximum suppression kept.

Compiled programs (``draw_program``): what a ``tg.compile``d function replays, forward,
backward and the optimizer's update side by side, fused kernels as one box each.

``render(dot, "graph.svg")`` writes SVG, PNG or (with the system's Graphviz) PDF;
in a notebook the returned ``Drawing`` displays itself. ``python -m
tinygrad_cs.viz MODEL`` draws a registered example model from the command line.
"""
from .backend import Drawing, available_formats, render
from .detection import draw_detections, draw_nms_before_after
from .draw import draw_graph
from .gradflow import GradFlow, GradStat, capture_grads
from .plots import plot_activation_stats, plot_grad_flow
from .program import draw_program
from .registry import get_model, list_models, register_model
from .stats import activation_stats, grad_flow

__all__ = ["Drawing", "GradFlow", "GradStat", "activation_stats", "available_formats",
           "capture_grads", "draw_detections", "draw_graph", "draw_nms_before_after", "draw_program",
           "get_model", "grad_flow", "list_models", "plot_activation_stats", "plot_grad_flow",
           "register_model", "render"]
