"""Text of the boxes: numbers, shapes, escaping, and Graphviz HTML-like labels.

All labels are ASCII ("grad", not the nabla sign): every renderer has the glyphs.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "escape_record",
    "fixed4",
    "html",
    "html_label",
    "shape_text",
    "short",
    "values_text",
]


def fixed4(x: Any) -> str:
    """4 decimals, as micrograd draws them; a grad that is itself a node shows its value."""
    return f"{float(getattr(x, 'data', x)):.4f}"


def short(x: float) -> str:
    """A gradient-sized number in 3 significant digits: 0.0123, 1.2e-07, nan."""
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.3g}"


def shape_text(shape: Any) -> str:
    """A shape as Python prints a tuple: (4, 3), (5,), ()."""
    return str(tuple(shape))


def escape_record(text: str) -> str:
    """Escape the characters that structure a record label."""
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def html(text: Any) -> str:
    """Escape text for a Graphviz HTML-like label."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def html_label(title: str, lines: list[str], bold: bool = True) -> str:
    """``<`` title, then one smaller line per entry ``>``: a node's HTML-like label.

    ``title`` and ``lines`` must already be escaped (lines may carry markup).
    """
    head = f"<B>{title}</B>" if bold else title
    body = "".join(f'<BR/><FONT POINT-SIZE="9">{line}</FONT>' for line in lines)
    return f"<{head}{body}>"


def values_text(data: Any, limit: int = 6) -> list[str]:
    """What ``show_values`` prints: the values of a small tensor, else its statistics."""
    a = np.asarray(data)
    if a.size <= limit:
        flat = ", ".join(f"{float(v):.3g}" for v in a.reshape(-1))
        return [f"[{flat}]" if a.ndim else flat]
    a = a.astype(np.float64)
    return [f"mean {a.mean():.3g}, std {a.std():.3g}", f"min {a.min():.3g}, max {a.max():.3g}"]
