"""Entries for batch / instance / group / layer norm (``tinygrad_cs/ops/normalization.py``).

Inputs are ``separated_arrays`` (elements at least 0.25 apart), so no normalised group
has a near-zero variance, where the derivatives of ``1 / sqrt(var + eps)`` blow up and
central differences lose their digits. Running statistics are Python tuples (they are
buffers, not inputs to differentiate) turned into arrays inside ``fn``; training-mode
entries pass fresh buffers, so the in-place update runs without touching the arguments.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ...kernels import norm_reference as R
from ...ops import normalization as N
from ..registry import register
from ..strategies import arrays, floats, separated_arrays

MAX_SIZE = 24  # elements per input: gradgradcheck's cost grows with the square of it


def _shape(draw, min_dims=2, max_dims=4, min_side=1):
    dims = draw(st.integers(min_dims, max_dims))
    shape = tuple(draw(st.integers(min_side, 3)) for _ in range(dims))
    assume(math.prod(shape) <= MAX_SIZE)
    return shape


def _params(draw, size, affine):
    if not affine:
        return None, None
    return (draw(arrays((size,), elements=floats(-2.0, 2.0), contiguous=True)),
            draw(arrays((size,), elements=floats(-2.0, 2.0), contiguous=True)))


@st.composite
def _bn_args(draw, training):
    shape = _shape(draw)
    if training and math.prod(shape) // shape[1] < 2:
        shape = (shape[0] + 1,) + shape[1:]  # training needs two values per channel
    c = shape[1]
    w, b = _params(draw, c, draw(st.booleans()))
    stats = tuple(draw(st.lists(floats(-1.0, 1.0), min_size=c, max_size=c))), tuple(
        draw(st.lists(floats(0.2, 2.0), min_size=c, max_size=c)))
    return draw(separated_arrays(shape)), w, b, stats


def _bn(training):
    def fn(x, w, b, stats):
        rm, rv = np.array(stats[0]), np.array(stats[1])
        return N.batch_norm(x, rm, rv, w, b, training=training, momentum=0.3)

    def reference(x, w, b, stats):
        rm, rv = np.array(stats[0]), np.array(stats[1])
        return R.batch_norm(x, rm, rv, w, b, training=training, momentum=0.3)[0]
    return fn, reference


for _mode, _training in (("train", True), ("eval", False)):
    _fn, _ref = _bn(_training)
    register(f"batch_norm[{_mode}]", _fn, reference=_ref, inputs=_bn_args(_training),
             covers=(N.BatchNormFn, N.ChannelNorm))


@st.composite
def _in_args(draw):
    shape = _shape(draw, min_dims=3)
    if math.prod(shape[2:]) < 2:
        shape = shape[:2] + (2,) + shape[3:]
    w, b = _params(draw, shape[1], draw(st.booleans()))
    return draw(separated_arrays(shape)), w, b


register("instance_norm", lambda x, w, b: N.instance_norm(x, weight=w, bias=b),
         reference=R.instance_norm, inputs=_in_args(), covers=N.InstanceNorm)


@st.composite
def _in_eval_args(draw):
    x, w, b = draw(_in_args())
    c = x.shape[1]
    return x, w, b, (tuple(draw(st.lists(floats(-1.0, 1.0), min_size=c, max_size=c))),
                     tuple(draw(st.lists(floats(0.2, 2.0), min_size=c, max_size=c))))


def _in_eval_ref(x, w, b, stats):
    rm, rv = (np.asarray(s).reshape((1, -1) + (1,) * (x.ndim - 2)) for s in stats)
    axes = tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return R.normalize(x, axes, None if w is None else w.reshape(shape),
                       None if b is None else b.reshape(shape), 1e-5, rm, rv)[0]


register("instance_norm[running stats]",
         lambda x, w, b, s: N.instance_norm(x, np.array(s[0]), np.array(s[1]), w, b,
                                            use_input_stats=False),
         reference=_in_eval_ref, inputs=_in_eval_args(), covers=N.InstanceNorm)


@st.composite
def _gn_args(draw):
    groups = draw(st.integers(1, 3))
    shape = _shape(draw)
    shape = (shape[0], groups * draw(st.integers(1, 2))) + shape[2:]
    assume(math.prod(shape) <= MAX_SIZE)
    w, b = _params(draw, shape[1], draw(st.booleans()))
    return draw(separated_arrays(shape)), groups, w, b


register("group_norm", lambda x, g, w, b: N.group_norm(x, g, w, b), reference=R.group_norm,
         inputs=_gn_args(), covers=N.GroupNormFn)


@st.composite
def _ln_args(draw):
    shape = _shape(draw, min_dims=1, max_dims=3)
    k = draw(st.integers(1, len(shape)))
    norm_shape = shape[len(shape) - k:]
    affine = draw(st.booleans())
    w = draw(arrays(norm_shape, elements=floats(-2.0, 2.0), contiguous=True)) if affine else None
    b = draw(arrays(norm_shape, elements=floats(-2.0, 2.0), contiguous=True)) if affine else None
    return draw(separated_arrays(shape)), norm_shape, w, b


register("layer_norm", lambda x, s, w, b: N.layer_norm(x, s, w, b), reference=R.layer_norm,
         inputs=_ln_args(), covers=N.LayerNormFn)
