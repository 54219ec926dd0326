"""Reverse-mode differentiation, the public face: ``backward``, ``grad``, ``detect_anomaly``
and ``observe_gradients`` (``tg.autograd`` re-exports them as PyTorch's names).

The loop itself lives in ``engine.py``, beside ``Node``, ``Function`` and ``Context``:

1. ``_topological_order`` walks from the outputs to the leaves with an explicit stack
   (no recursion, so a 100,000-op chain is fine), inputs before outputs.
2. Walking that order backwards, each node's total gradient (the sum ``+=`` of what its
   consumers sent) goes through its hooks, then into ``.grad`` (leaves) or into its op's
   ``backward``, whose results are summed back to each input's shape and added to the
   inputs' totals.
3. Unless ``retain_graph``, each op's saved values are freed as it is done.

A tensor an op saved and that changed in place since raises (``versions.py``); with
``create_graph=True`` the gradients are graph nodes, differentiable again.
"""
from __future__ import annotations

from .engine import AnomalyError, backward, detect_anomaly, grad, observe_gradients

__all__ = ["AnomalyError", "backward", "detect_anomaly", "grad", "observe_gradients"]
