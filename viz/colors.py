"""Colours for gradient norms: a log scale, the marks, and the legend that explains them.

A norm ``g`` maps to ``t = (log10 g - lo) / (hi - lo)`` clipped to [0, 1], and ``t``
to the viridis colour map (dark purple for the smallest norms, yellow for the
largest): perceptually uniform and readable in grey, and free of red, which is
kept for NaN/Inf; an exactly zero gradient, off every log scale, is light grey. By default ``lo``/``hi`` span the norms of the drawn graph.

Marks, relative to the reference norm (the loss gradient's): below
``vanishing * reference`` a node is drawn dashed and labelled "vanishing"; above
``exploding * reference`` it gets a thick orange border and "exploding".
"""
from __future__ import annotations

import html
import math
from collections.abc import Iterable

__all__ = ["EXPLODING_BORDER", "NAN_COLOR", "ZERO_COLOR", "GradScale", "viridis"]

# matplotlib's viridis at t = 0, 1/8, ..., 1
_VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c",
            "#28ae80", "#5ec962", "#addc30", "#fde725")
NAN_COLOR = "#e31a1c"
EXPLODING_BORDER = "#ff7f00"
ZERO_COLOR = "#d9d9d9"   # exactly zero gradient: below every log scale


def viridis(t: float) -> str:
    """The viridis colour at ``t`` in [0, 1], as "#rrggbb" (linear between 9 stops)."""
    t = min(max(t, 0.0), 1.0) * (len(_VIRIDIS) - 1)
    i = min(int(t), len(_VIRIDIS) - 2)
    f = t - i
    lo, hi = _VIRIDIS[i], _VIRIDIS[i + 1]
    rgb = [round(int(lo[k:k + 2], 16) * (1 - f) + int(hi[k:k + 2], 16) * f) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


class GradScale:
    """Log-scale map from gradient norm to colour and line width.

    ``lo``/``hi`` are log10 norms; ``vanishing``/``exploding`` are ratios to
    ``reference`` (the loss gradient's norm) that mark a node.
    """

    def __init__(self, lo: float, hi: float, reference: float = 1.0,
                 vanishing: float = 1e-4, exploding: float = 1e4) -> None:
        if hi <= lo:  # one distinct norm: centre it
            lo, hi = lo - 0.5, hi + 0.5
        self.lo, self.hi = lo, hi
        self.reference = reference if reference and math.isfinite(reference) else 1.0
        self.vanishing, self.exploding = vanishing, exploding

    @classmethod
    def spanning(cls, norms: Iterable[float], **kwargs) -> GradScale:
        """The scale whose ends are the smallest and largest finite positive norms."""
        logs = [math.log10(n) for n in norms if n > 0 and math.isfinite(n)]
        if not logs:
            return cls(-1.0, 1.0, **kwargs)
        return cls(min(logs), max(logs), **kwargs)

    def position(self, norm: float) -> float:
        """Where ``norm`` falls on the scale, 0 (smallest) to 1 (largest)."""
        if norm <= 0:
            return 0.0
        return min(max((math.log10(norm) - self.lo) / (self.hi - self.lo), 0.0), 1.0)

    def color(self, norm: float) -> str:
        if not math.isfinite(norm):
            return NAN_COLOR
        return ZERO_COLOR if norm == 0 else viridis(self.position(norm))

    def font_color(self, norm: float) -> str:
        """White text on the dark half of viridis, black on the light half."""
        dark = math.isfinite(norm) and norm > 0 and self.position(norm) < 0.55
        return "white" if dark else "black"

    def width(self, norm: float) -> float:
        """Edge pen width: 1 for the smallest norms to 4 for the largest."""
        return 4.0 if not math.isfinite(norm) else round(1.0 + 3.0 * self.position(norm), 2)

    def status(self, norm: float, finite: bool = True) -> str:
        """'nan' (NaN/Inf), 'vanishing', 'exploding' or 'ok', relative to the reference."""
        if not finite or not math.isfinite(norm):
            return "nan"
        if norm < self.vanishing * self.reference:
            return "vanishing"
        if norm > self.exploding * self.reference:
            return "exploding"
        return "ok"

    def legend_html(self, steps: int = 5, note: str | None = None) -> str:
        """An HTML-like Graphviz table: colour swatches with their norms, the marks, and
        ``note`` (plain text) as a last row when given."""
        cells = []
        for k in range(steps):
            log = self.lo + (self.hi - self.lo) * k / (steps - 1)
            norm = 10.0 ** log
            cells.append(f'<TD BGCOLOR="{self.color(norm)}"><FONT COLOR='
                         f'"{self.font_color(norm)}">{norm:.2g}</FONT></TD>')
        extra = "" if note is None else \
            f'<TR><TD COLSPAN="{steps}" ALIGN="LEFT"><I>{html.escape(note)}</I></TD></TR>'
        vanish = self.vanishing * self.reference
        explode = self.exploding * self.reference
        return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
                f'<TR><TD COLSPAN="{steps}"><B>grad norm (log scale)</B></TD></TR>'
                f'<TR>{"".join(cells)}</TR>'
                f'<TR><TD COLSPAN="{steps}" ALIGN="LEFT">dashed: vanishing, norm &lt; '
                f'{vanish:.0e}<BR ALIGN="LEFT"/>'
                f'<FONT COLOR="{EXPLODING_BORDER}">thick orange border</FONT>: exploding, '
                f'norm &gt; {explode:.0e}<BR ALIGN="LEFT"/>'
                f'<FONT COLOR="{NAN_COLOR}">red</FONT>: NaN or Inf<BR ALIGN="LEFT"/>'
                'grey: zero gradient; white: none reached it<BR ALIGN="LEFT"/>'
                f'</TD></TR>{extra}</TABLE>>')
