"""Entries for rounding and remainders (``tinygrad_cs/ops/rounding.py``)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ... import ops
from ...ops import rounding as R
from ..registry import register
from ..strategies import floats, nonzero_floats
from . import binary, unary, with_scalar

# Away from the jumps of the step functions, so a finite difference never crosses one.
_OFF_INTEGERS = floats(-5.0, 5.0).filter(lambda x: 0.01 < x % 1.0 < 0.99)
_OFF_HALVES = floats(-5.0, 5.0).filter(lambda x: abs(x % 1.0 - 0.5) > 0.01)

register("floor", lambda a: ops.floor(a), reference=np.floor, inputs=unary(_OFF_INTEGERS),
         covers=R.Floor)
register("ceil", lambda a: ops.ceil(a), reference=np.ceil, inputs=unary(_OFF_INTEGERS),
         covers=R.Ceil)
register("trunc", lambda a: ops.trunc(a), reference=np.trunc, inputs=unary(_OFF_INTEGERS),
         covers=R.Trunc)
register("fix", lambda a: ops.fix(a), reference=np.trunc, inputs=unary(_OFF_INTEGERS),
         covers=R.Trunc)
register("frac", lambda a: ops.frac(a), reference=lambda a: a - np.trunc(a),
         inputs=unary(_OFF_INTEGERS), covers=R.Trunc)
register("round", lambda a: ops.round(a), reference=np.round, inputs=unary(_OFF_HALVES),
         covers=R.Round)
register("round[decimals]", lambda a, k: ops.round(a, decimals=k),
         reference=lambda a, k: np.round(a, k),
         inputs=with_scalar(floats(-5.0, 5.0).filter(lambda x: abs(x * 100 % 1 - 0.5) > 0.01),
                            st.just(2)), covers=R.Round)


def _quotients():
    """``(a, b)`` with ``a / b`` away from the integers, where the remainder jumps."""
    q = floats(-4.0, 4.0).filter(lambda x: 0.02 < x % 1.0 < 0.98)
    return binary(q, nonzero_floats(3.0, gap=0.3)).map(lambda qb: (qb[0] * qb[1], qb[1]))


register("remainder", lambda a, b: ops.remainder(a, b), reference=np.remainder,
         inputs=_quotients(), covers=R.Remainder)
register("fmod", lambda a, b: ops.fmod(a, b), reference=np.fmod, inputs=_quotients(),
         covers=R.Fmod)
register("clamp_min", lambda a: ops.clamp_min(a, 0.5), reference=lambda a: np.maximum(a, 0.5),
         inputs=unary(floats(avoid=(0.5,))))
register("clamp_max", lambda a: ops.clamp_max(a, -0.5), reference=lambda a: np.minimum(a, -0.5),
         inputs=unary(floats(avoid=(-0.5,))))
