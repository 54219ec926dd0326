"""Entries for the elementwise ops (``tinygrad_cs/ops/elementwise.py``)."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ... import ops
from ...ops import elementwise as E
from ...ops import logexp as L
from ..registry import register
from ..strategies import (
    arrays,
    broadcastable_shapes,
    floats,
    lattice_pair,
    nonzero_floats,
    positive_floats,
)
from . import binary, unary, with_scalar

# -- arithmetic, with broadcasting and Python scalars on either side ---------------
register("add", lambda a, b: ops.add(a, b), reference=np.add, inputs=binary(), covers=E.Add)
register("add[scalar,reflected]", lambda a, c: c + a, reference=lambda a, c: c + a,
         inputs=with_scalar(), covers=E.Add)
register("sub", lambda a, b: ops.sub(a, b), reference=np.subtract, inputs=binary(),
         covers=E.Sub)
register("sub[scalar,reflected]", lambda a, c: c - a, reference=lambda a, c: c - a,
         inputs=with_scalar(), covers=E.Sub)
register("mul", lambda a, b: ops.mul(a, b), reference=np.multiply, inputs=binary(),
         covers=E.Mul)
register("mul[scalar]", lambda a, c: a * c, reference=lambda a, c: a * c,
         inputs=with_scalar(), covers=E.Mul)
register("div", lambda a, b: ops.div(a, b), reference=np.divide,
         inputs=binary(elements_b=nonzero_floats(gap=0.5)), covers=E.Div)
register("div[scalar,reflected]", lambda a, c: c / a, reference=lambda a, c: c / a,
         inputs=with_scalar(nonzero_floats(gap=0.5)), covers=E.Div)
register("neg", lambda a: ops.neg(a), reference=np.negative, inputs=unary(), covers=E.Neg)

# -- pow: tensor exponent (base > 0), scalar exponents, scalar base ------------------
register("pow[tensor]", lambda a, b: ops.pow(a, b), reference=np.power,
         inputs=binary(positive_floats(0.5, 4.0), floats(-2.0, 2.0)), covers=E.Pow)
register("pow[int exponent]", lambda a, k: a ** k, reference=lambda a, k: a ** k,
         inputs=with_scalar(floats(-3.0, 3.0), st.integers(0, 4)), covers=E.Pow)
register("pow[float exponent]", lambda a, c: ops.pow(a, c), reference=np.power,
         inputs=with_scalar(positive_floats(0.2, 5.0), floats(-2.5, 2.5)), covers=E.Pow)
register("pow[scalar base]", lambda a, c: c ** a, reference=lambda a, c: c ** a,
         inputs=with_scalar(floats(-3.0, 3.0), positive_floats(0.2, 4.0)), covers=E.Pow)

# -- smooth unary functions -------------------------------------------------------------
register("exp", lambda a: ops.exp(a), reference=np.exp, inputs=unary(), covers=E.Exp)
register("log", lambda a: ops.log(a), reference=np.log, inputs=unary(positive_floats()),
         covers=E.Log)
register("sqrt", lambda a: ops.sqrt(a), reference=np.sqrt, inputs=unary(positive_floats()),
         covers=E.Sqrt)
register("sin", lambda a: ops.sin(a), reference=np.sin, inputs=unary(), covers=E.Sin)
register("cos", lambda a: ops.cos(a), reference=np.cos, inputs=unary(), covers=E.Cos)
register("tanh", lambda a: ops.tanh(a), reference=np.tanh, inputs=unary(), covers=E.TanhFn)
register("sigmoid", lambda a: ops.sigmoid(a), reference=lambda a: 1.0 / (1.0 + np.exp(-a)),
         inputs=unary(), covers=E.SigmoidFn)
# The far negative tail, where the tanh form lost every digit. (Central differences cannot
# check the positive tail: there f(a +- eps) differ below float64's resolution at 1.)
register("sigmoid[tail]", lambda a: ops.sigmoid(a), reference=lambda a: 1.0 / (1.0 + np.exp(-a)),
         inputs=unary(floats(-30.0, -10.0)), covers=E.SigmoidFn, atol=1e-20, forward_atol=0.0)
register("log1p", lambda a: ops.log1p(a), reference=np.log1p,
         inputs=unary(floats(-0.9, 3.0)), covers=L.Log1p)
register("expm1", lambda a: ops.expm1(a), reference=np.expm1, inputs=unary(), covers=L.Expm1)
register("logsigmoid", lambda a: ops.logsigmoid(a),
         reference=lambda a: -np.logaddexp(0.0, -a), inputs=unary(floats(-30.0, 30.0)),
         covers=L.LogSigmoidFn)


def _softplus_ref(a, beta=1.0, threshold=20.0):
    return np.where(a * beta > threshold, a, np.log1p(np.exp(a * beta)) / beta)


register("softplus", lambda a, beta: ops.softplus(a, beta=beta), reference=_softplus_ref,
         inputs=with_scalar(floats(-8.0, 8.0), floats(0.5, 2.0)), covers=E.SoftplusFn)
# A low threshold puts inputs on both sides of the switch to the linear branch.
register("softplus[threshold]", lambda a: ops.softplus(a, 1.0, 2.0),
         reference=lambda a: _softplus_ref(a, 1.0, 2.0),
         inputs=unary(floats(-5.0, 5.0, avoid=(2.0,), gap=0.05)), covers=E.SoftplusFn)

# -- kinks: inputs drawn away from them ------------------------------------------------------
register("abs", lambda a: ops.abs(a), reference=np.abs, inputs=unary(nonzero_floats()),
         covers=E.Abs)
register("relu", lambda a: ops.relu(a), reference=lambda a: np.maximum(a, 0.0),
         inputs=unary(nonzero_floats()), covers=E.ReLUFn)
register("leaky_relu", lambda a, s: ops.leaky_relu(a, s),
         reference=lambda a, s: np.where(a > 0, a, s * a),
         inputs=with_scalar(nonzero_floats(), floats(0.01, 0.5)), covers=E.LeakyReLUFn)
register("elu", lambda a, alpha: ops.elu(a, alpha),
         reference=lambda a, alpha: np.where(a > 0, a, alpha * (np.exp(a) - 1.0)),
         inputs=with_scalar(nonzero_floats(), floats(0.5, 2.0)), covers=E.ELUFn)
register("clamp", lambda a: ops.clamp(a, -1.0, 2.0), reference=lambda a: np.clip(a, -1.0, 2.0),
         inputs=unary(floats(avoid=(-1.0, 2.0), gap=0.05)), covers=E.Clamp)
register("clamp[min only]", lambda a: ops.clamp(a, min=0.5),
         reference=lambda a: np.maximum(a, 0.5),
         inputs=unary(floats(avoid=(0.5,), gap=0.05)), covers=E.Clamp)
register("clamp[max only]", lambda a: ops.clip(a, max=-0.5),
         reference=lambda a: np.minimum(a, -0.5),
         inputs=unary(floats(avoid=(-0.5,), gap=0.05)), covers=E.Clamp)


@st.composite
def _untied_pair(draw):
    return draw(lattice_pair(draw(broadcastable_shapes(2, max_side=3)).input_shapes))


register("maximum", lambda a, b: ops.maximum(a, b), reference=np.maximum,
         inputs=_untied_pair(), covers=E.Maximum)
register("minimum", lambda a, b: ops.minimum(a, b), reference=np.minimum,
         inputs=_untied_pair(), covers=E.Minimum)


@st.composite
def _where_args(draw):
    sc, sa, sb = draw(broadcastable_shapes(3, max_side=3)).input_shapes
    cond = draw(arrays(sc, dtype=np.bool_, elements=st.booleans()))
    return cond, draw(arrays(sa, contiguous=True)), draw(arrays(sb, contiguous=True))


register("where", lambda cond, a, b: ops.where(cond, a, b), reference=np.where,
         inputs=_where_args(), covers=E.Where)
