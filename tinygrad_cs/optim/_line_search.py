"""A strong-Wolfe line search (Nocedal & Wright, *Numerical Optimization*, Alg. 3.5 / 3.6),
used by ``LBFGS(line_search_fn="strong_wolfe")``.

Along a descent direction ``d`` from ``x``, with ``phi(t) = f(x + t d)``, so
``phi'(t) = grad f(x + t d) . d`` and ``phi'(0) = gtd < 0``, a step ``t`` satisfies the
strong Wolfe conditions when

    phi(t) <= phi(0) + c1 t phi'(0)        (sufficient decrease, c1 = 1e-4)
    |phi'(t)| <= c2 |phi'(0)|              (curvature, c2 = 0.9)

Bracketing (Alg. 3.5): try ``t``; if it breaks sufficient decrease, or ``phi`` rose since the
previous trial, or ``phi'(t) >= 0``, a step that satisfies both lies between the previous
trial and ``t``: zoom there. If it satisfies the curvature condition, done. Otherwise step
further, to the minimiser of the cubic through the last two trials, kept within
``[t + 0.01 (t - t_prev), 10 t]``.

Zoom (Alg. 3.6) keeps a bracket ``[lo, hi]`` (``lo``: the lower ``phi``) and tries the
minimiser of the cubic through both ends. A trial within 10% of the bracket's width from
an end, twice running (or outside it), is moved to 10% inside it, so the bracket keeps
shrinking. A trial that breaks sufficient decrease or does not beat ``phi(lo)`` becomes
``hi``; otherwise it becomes ``lo`` (if ``phi'`` there points back towards the old ``lo``,
the old ``lo`` becomes ``hi`` first), or ends the search if it satisfies the curvature
condition. The search also ends after ``max_ls`` evaluations, or when the bracket is
shorter than ``tolerance_change`` (measured as ``width * max|d|``, the largest change of any
coordinate), and returns the best point it has seen: ``lo``. These choices are the ones
``torch.optim.LBFGS`` documents and uses, so the two take the same steps.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["cubic_minimum", "strong_wolfe"]

Evaluate = Callable[[float], tuple[float, np.ndarray]]  # t -> (phi(t), grad f(x + t d))


def cubic_minimum(t1: float, f1: float, g1: float, t2: float, f2: float, g2: float,
                  bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic with values ``f1, f2`` and slopes ``g1, g2`` at ``t1, t2``,
    clipped to ``bounds`` (default: the interval between the two points).

    With ``a < b`` the two points in order (N&W eq. 3.59)::

        d1 = g_a + g_b - 3 (f_a - f_b) / (a - b)
        d2 = sqrt(d1^2 - g_a g_b)
        t  = b - (b - a) (g_b + d2 - d1) / (g_b - g_a + 2 d2)

    When ``d1^2 < g_a g_b`` the cubic has no minimiser, and when the denominator is 0 the
    formula says nothing: then the middle of the bounds. (The search in ``strong_wolfe``
    never asks about two equal points; if asked, ``a``.)
    """
    lo_bound, hi_bound = bounds if bounds is not None else (min(t1, t2), max(t1, t2))
    (a, fa, ga), (b, fb, gb) = sorted(((t1, f1, g1), (t2, f2, g2)), key=lambda p: p[0])
    if a == b:  # no interval to fit a cubic on
        return min(max(a, lo_bound), hi_bound)
    d1 = ga + gb - 3 * (fa - fb) / (a - b)
    square = d1 * d1 - ga * gb
    if square < 0:
        return (lo_bound + hi_bound) / 2
    d2 = math.sqrt(square)
    if gb - ga + 2 * d2 == 0:  # a degenerate fit (the formula is 0/0 or x/0)
        return (lo_bound + hi_bound) / 2
    t = b - (b - a) * ((gb + d2 - d1) / (gb - ga + 2 * d2))
    return min(max(t, lo_bound), hi_bound)


def strong_wolfe(evaluate: Evaluate, d: np.ndarray, t: float, f: float, g: np.ndarray,
                 gtd: float, c1: float = 1e-4, c2: float = 0.9,
                 tolerance_change: float = 1e-9,
                 max_ls: int = 25) -> tuple[float, np.ndarray, float, int]:
    """A step ``t`` along ``d`` satisfying the strong Wolfe conditions, starting from the trial
    ``t``; ``f``, ``g``, ``gtd`` are ``phi(0)``, the gradient at ``x`` and ``phi'(0)``.

    ``evaluate(t)`` returns ``(phi(t), gradient at x + t d)``; it is called at most
    ``max_ls + 1`` times. Returns ``(phi(t), gradient, t, number of evaluations)`` for the
    step chosen (``t = 0`` when no trial beat ``x``).
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    iters = 0  # evaluations after the first
    gtd_new = float(g_new @ d)
    prev = (0.0, f, g, gtd)  # the previous trial: t, phi, gradient, phi'
    found = False
    while iters < max_ls:
        trial = (t, f_new, g_new, gtd_new)
        if f_new > f + c1 * t * gtd or (iters > 1 and f_new >= prev[1]):
            bracket = [prev, trial]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, found = [trial], True
            break
        if gtd_new >= 0:
            bracket = [prev, trial]
            break
        t = cubic_minimum(prev[0], prev[1], prev[3], t, f_new, gtd_new,
                          bounds=(t + 0.01 * (t - prev[0]), t * 10))
        prev = trial
        f_new, g_new = evaluate(t)
        iters += 1
        gtd_new = float(g_new @ d)
    else:  # no bracket within max_ls trials: the better of x and the last trial
        bracket = [(0.0, f, g, gtd), (t, f_new, g_new, gtd_new)]

    lo = 0 if len(bracket) == 1 or bracket[0][1] <= bracket[1][1] else 1
    stuck = False  # the previous trial was too close to an end of the bracket
    while not found and iters < max_ls:
        (t_a, f_a, _, gtd_a), (t_b, f_b, _, gtd_b) = bracket
        left, right = min(t_a, t_b), max(t_a, t_b)
        if (right - left) * d_norm < tolerance_change:
            break
        t = cubic_minimum(t_a, f_a, gtd_a, t_b, f_b, gtd_b)
        margin = 0.1 * (right - left)
        if min(right - t, t - left) < margin:
            if stuck or t >= right or t <= left:
                t = right - margin if abs(t - right) < abs(t - left) else left + margin
                stuck = False
            else:
                stuck = True
        else:
            stuck = False
        f_new, g_new = evaluate(t)
        iters += 1
        gtd_new = float(g_new @ d)
        trial = (t, f_new, g_new, gtd_new)
        hi = 1 - lo
        if f_new > f + c1 * t * gtd or f_new >= bracket[lo][1]:
            bracket[hi] = trial
            lo = 0 if bracket[0][1] <= bracket[1][1] else 1
        else:
            if abs(gtd_new) <= -c2 * gtd:
                found = True
            elif gtd_new * (bracket[hi][0] - bracket[lo][0]) >= 0:
                bracket[hi] = bracket[lo]
            bracket[lo] = trial
    t, f_new, g_new, _ = bracket[lo]
    return f_new, g_new, t, iters + 1
