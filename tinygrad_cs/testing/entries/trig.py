"""Entries for the unary functions of ``tinygrad_cs/ops/trig.py`` (inside each domain,
away from its poles)."""
from __future__ import annotations

import numpy as np

from ... import ops
from ...ops import trig as T
from ..registry import register
from ..strategies import floats, positive_floats
from . import binary, unary

_CASES = [
    ("tan", np.tan, floats(-1.2, 1.2), T.Tan),
    ("sinh", np.sinh, floats(-5.0, 5.0), T.Sinh),
    ("cosh", np.cosh, floats(-5.0, 5.0), T.Cosh),
    ("asin", np.arcsin, floats(-0.9, 0.9), T.Asin),
    ("acos", np.arccos, floats(-0.9, 0.9), T.Acos),
    ("atan", np.arctan, floats(), T.Atan),
    ("asinh", np.arcsinh, floats(), T.Asinh),
    ("acosh", np.arccosh, floats(1.1, 10.0), T.Acosh),
    ("atanh", np.arctanh, floats(-0.9, 0.9), T.Atanh),
    ("log2", np.log2, positive_floats(), T.Log2),
    ("log10", np.log10, positive_floats(), T.Log10),
    ("exp2", np.exp2, floats(), T.Exp2),
]


def _call(name):
    fn = getattr(ops, name)
    return lambda a: fn(a)


for _name, _reference, _values, _cls in _CASES:
    register(_name, _call(_name), reference=_reference, inputs=unary(_values), covers=_cls)

# away from the origin, where the angle jumps
register("atan2", lambda a, b: ops.atan2(a, b), reference=np.arctan2,
         inputs=binary(floats(0.2, 5.0), floats()), covers=T.Atan2)
