"""``einsum``: Einstein summation, ``torch.einsum(equation, *operands)``.

    out[output letters] = sum over the other letters of prod_k operand_k[its letters]

The gradient of operand k is again an einsum: the output gradient times the other
operands, summed onto operand k's letters (a letter only operand k has, summed away in
the forward pass, comes back by broadcasting: a ones operand carries it). Written with
``einsum`` itself, so second derivatives work. ``...`` stands for the same leading dims in
every operand. A letter repeated within one operand (a diagonal, ``ii->i``) is refused.
"""
from __future__ import annotations

import string

import numpy as np

from ..engine import Function
from ._util import raw, shape_of

__all__ = ["einsum"]


class Einsum(Function):
    """out = np.einsum(spec, *operands) for an explicit spec (``ab,bc->ac``); see above."""
    @staticmethod
    def forward(ctx, *operands, spec):
        ctx.spec = spec
        ctx.save_for_backward(*operands)
        return np.asarray(np.einsum(spec, *operands))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, out = ctx.spec.split("->")
        terms = inputs.split(",")
        sizes = {c: n for term, x in zip(terms, operands) for c, n in zip(term, shape_of(x))}
        grads = []
        for k, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [(t, x) for j, (t, x) in enumerate(zip(terms, operands)) if j != k]
            known = set(out).union(*(t for t, _ in others))
            alone = "".join(c for c in terms[k] if c not in known)
            extra = [(alone, np.ones([sizes[c] for c in alone]))] if alone else []
            pieces = [(out, grad), *others, *extra]
            spec = ",".join(t for t, _ in pieces) + "->" + terms[k]
            grads.append(Einsum.apply(*(x for _, x in pieces), spec=spec))
        return tuple(grads) if len(grads) > 1 else grads[0]


def _explicit(equation: str, shapes: list[tuple]) -> str:
    """The equation with ``...`` written out in letters and the output made explicit."""
    equation = equation.replace(" ", "")
    inputs, arrow, out = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum(): {len(terms)} operand subscripts in {equation!r} for "
                         f"{len(shapes)} operands")
    used = set(equation)
    free = iter(c for c in string.ascii_letters if c not in used)
    width = max((len(s) - len(t.replace("...", "")) for t, s in zip(terms, shapes)
                 if "..." in t), default=0)
    dots = "".join(next(free) for _ in range(width))
    for t, s in zip(terms, shapes):
        n = len(t.replace("...", ""))
        if ("..." in t and len(s) < n) or ("..." not in t and len(s) != n):
            raise ValueError(f"einsum(): subscripts {t!r} do not fit an operand of shape {s}")
    terms = [t.replace("...", dots[width - (len(s) - len(t.replace('...', ''))):])
             for t, s in zip(terms, shapes)]
    for t in terms:
        if len(set(t)) != len(t):
            raise ValueError(f"einsum(): a letter repeated within one operand ({t!r}: a "
                             f"diagonal) is not supported")
    if arrow:
        out = out.replace("...", dots)
    else:
        counts = {c: "".join(terms).count(c) for c in set("".join(terms))}
        out = dots + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in dots))
    return ",".join(terms) + "->" + out


def einsum(equation: str, *operands):
    """``torch.einsum``: ``einsum('ij,jk->ik', a, b)`` (operands also as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    spec = _explicit(equation, [shape_of(x) for x in operands])
    try:
        return Einsum.apply(*operands, spec=spec)
    except ValueError as e:
        shapes = [np.shape(raw(x)) for x in operands]
        raise RuntimeError(f"einsum(): {equation!r} does not fit operands of shapes {shapes} "
                           f"({e})") from None
