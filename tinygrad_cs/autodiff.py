"""Reverse-mode differentiation, the public face: ``backward``, ``grad``, ``detect_anomaly``
and ``observe_gradients`` (``tg.autograd`` re-exports them as PyTorch's names).

The loop itself, and how it walks the graph, is ``backward_pass.py``.
"""
from __future__ import annotations

from .backward_pass import AnomalyError, backward, detect_anomaly, grad, observe_gradients

__all__ = ["AnomalyError", "backward", "detect_anomaly", "grad", "observe_gradients"]
