"""Entries for pooling and nearest resampling (``tinygrad_cs/ops/pool.py``).

Inputs are tiny (gradcheck runs one backward per output element). Max pooling draws
``separated_arrays``: no two elements within 0.25, so a finite-difference step never
changes which element of a window is the largest.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ...kernels import pool_reference as R
from ...ops import pool as P
from ..registry import register
from ..strategies import arrays, separated_arrays

MAX_SIZE = 40  # elements per input: gradgradcheck's cost grows with the square of it


def _shape(draw, batched=True, max_side=5):
    """(N, C, H, W), or (C, H, W) when not ``batched``."""
    lead = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    shape = lead[not batched:] + (draw(st.integers(1, max_side)),
                                  draw(st.integers(1, max_side)))
    assume(math.prod(shape) <= MAX_SIZE)
    return shape


@st.composite
def _window(draw, shape, dilated):
    """(kernel, stride, padding, dilation, ceil_mode) valid for spatial ``shape[-2:]``."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilated else (1, 1)
    padding = tuple(draw(st.integers(0, ((k - 1) * d + 1) // 2)) if dilated else
                    draw(st.integers(0, k // 2)) for k, d in zip(kernel, dilation))
    ceil_mode = draw(st.booleans())
    sizes = [R.pool_output_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in
             zip(shape[-2:], kernel, stride, padding, dilation)]
    assume(min(sizes) >= 1)
    return kernel, stride, padding, dilation, ceil_mode


def _batched(fn):
    """Run a reference written for (N, C, H, W) on (C, H, W) input too."""
    def reference(x, *args):
        out = fn(x[None] if x.ndim == 3 else x, *args)
        if x.ndim == 3:
            return tuple(o[0] for o in out) if isinstance(out, tuple) else out[0]
        return out
    return reference


@st.composite
def _max_args(draw, batched=True):
    shape = _shape(draw, batched)
    x, window = draw(separated_arrays(shape)), draw(_window(shape, dilated=True))
    # a dilated window can fall wholly into the padding: its max is -inf (as PyTorch)
    assume(np.isfinite(_batched(R.max_pool2d)(x, *window)[0]).all())
    return (x, *window)


register("max_pool2d", lambda x, k, s, p, d, c: P.max_pool2d(x, k, s, p, d, c),
         reference=_batched(lambda x, *a: R.max_pool2d(x, *a)[0]), inputs=_max_args(),
         covers=(P.MaxPool2dFn, P.ScatterAddPlanes, P.GatherPlanes))
register("max_pool2d[unbatched]", lambda x, k, s, p, d, c: P.max_pool2d(x, k, s, p, d, c),
         reference=_batched(lambda x, *a: R.max_pool2d(x, *a)[0]),
         inputs=_max_args(batched=False), covers=P.MaxPool2dFn)
register("max_pool2d[return_indices]",
         lambda x, k, s, p, d, c: P.max_pool2d(x, k, s, p, d, c, return_indices=True),
         reference=_batched(R.max_pool2d), inputs=_max_args(), covers=P.MaxPool2dFn)


@st.composite
def _avg_args(draw, batched=True):
    shape = _shape(draw, batched)
    kernel, stride, padding, _, ceil_mode = draw(_window(shape, dilated=False))
    divisor = draw(st.sampled_from([None, 1, 3, -2]))
    return (draw(arrays(shape, contiguous=True)), kernel, stride, padding, ceil_mode,
            draw(st.booleans()), divisor)


register("avg_pool2d", lambda x, *a: P.avg_pool2d(x, *a), reference=_batched(R.avg_pool2d),
         inputs=_avg_args(), covers=(P.AvgPool2dFn, P.AvgPool2dBackward))
register("avg_pool2d[unbatched]", lambda x, *a: P.avg_pool2d(x, *a),
         reference=_batched(R.avg_pool2d), inputs=_avg_args(batched=False), covers=P.AvgPool2dFn)


@st.composite
def _adaptive_args(draw, batched=True):
    shape = _shape(draw, batched, max_side=6)
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    return draw(arrays(shape, contiguous=True)), size


register("adaptive_avg_pool2d", lambda x, s: P.adaptive_avg_pool2d(x, s),
         reference=_batched(R.adaptive_avg_pool2d), inputs=_adaptive_args(),
         covers=P.AdaptiveAvgPool2dFn)
register("adaptive_avg_pool2d[unbatched]", lambda x, s: P.adaptive_avg_pool2d(x, s),
         reference=_batched(R.adaptive_avg_pool2d), inputs=_adaptive_args(batched=False),
         covers=P.AdaptiveAvgPool2dFn)


@st.composite
def _interp_args(draw):
    """(x, size, scale_factor, mode) for 1-3 spatial dims."""
    dims = draw(st.integers(1, 3))
    shape = (1, draw(st.integers(1, 2))) + tuple(draw(st.integers(1, 3)) for _ in range(dims))
    mode = draw(st.sampled_from(["nearest", "nearest-exact"]))
    if draw(st.booleans()):
        size = tuple(draw(st.integers(1, 4)) for _ in range(dims))
        factors = None
    else:
        factors = tuple(draw(st.sampled_from([0.5, 0.75, 1.0, 1.5, 2.0, 2.5]))
                        for _ in range(dims))
        size = tuple(int(n * f) for n, f in zip(shape[2:], factors))
    assume(min(size) >= 1 and math.prod(shape[:2] + size) <= MAX_SIZE)
    return draw(arrays(shape, contiguous=True)), None if factors else size, factors, mode


def _interp_ref(x, size, factors, mode):
    spatial = x.shape[2:]
    if size is not None:
        sources = [R.nearest_source(n, o, None, mode != "nearest") for n, o in zip(spatial, size)]
    else:
        sources = [R.nearest_source(n, int(n * f), f, mode != "nearest")
                   for n, f in zip(spatial, factors)]
    return R.interpolate_nearest(x, sources)


register("interpolate", lambda x, s, f, m: P.interpolate(x, size=s, scale_factor=f, mode=m),
         reference=_interp_ref, inputs=_interp_args(), covers=P.InterpolateNearest)
