"""Entries for the convolutions (``tinygrad_cs/ops/conv.py``), and the strategies that draw
their arguments (``tests/test_conv.py`` reuses them with other dtypes and sizes).

Each draw is a valid call: channels divisible by ``groups``, kernel no larger than the
padded input, ``'same'`` only with stride 1, ``output_padding`` below stride or dilation.
It covers dense, grouped and depthwise convolutions, strides above the kernel size, 1x1
kernels, kernels larger than the unpadded input, batch size 1 and asymmetric 'same'
padding. Inputs are tiny: gradcheck runs one backward per output element. The ops'
backward is a raw kernel, so there is no second-order check.
"""
from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ...kernels import conv_reference as R
from ...ops import conv as C
from ..registry import register
from ..strategies import arrays, floats

_VALUES = floats(-2.0, 2.0)


def _pair(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _array(draw, shape, dtype):
    """Values in [-2, 2], drawn in float64 and cast (exact for float32 too)."""
    a = draw(arrays(tuple(shape), elements=_VALUES, contiguous=True))
    return a.astype(dtype)


@st.composite
def channels(draw, kind=None, max_channels: int = 3, max_groups: int = 3):
    """(groups, C_in, C_out) of a dense, grouped or depthwise convolution."""
    kind = kind or draw(st.sampled_from(["dense", "grouped", "depthwise"]))
    if kind == "dense":
        return 1, draw(st.integers(1, max_channels)), draw(st.integers(1, max_channels))
    if kind == "depthwise":  # groups = C_in, a channel multiplier of 1 or 2
        c = draw(st.integers(2, max_groups + 1))
        return c, c, c * draw(st.integers(1, 2))
    g = draw(st.integers(2, max_groups))
    return g, g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))


@st.composite
def conv2d_args(draw, dtype=np.float64, kind=None, max_channels: int = 3, max_kernel: int = 3,
                max_extra: int = 3, bias=None, batched: bool = True, kernel=None, stride=None,
                dilation=None):
    """(x, weight, bias, stride, padding, dilation, groups) for ``conv2d``.

    The spatial size is the smallest the kernel allows plus up to ``max_extra``, so
    padding often exceeds the image and the kernel often exceeds the unpadded input.
    ``kernel``, ``stride``, ``dilation`` (pairs) fix those instead of drawing them.
    """
    groups, cin, cout = draw(channels(kind, max_channels))
    kernel = kernel or (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = stride or (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = dilation or (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    choices = [st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
               st.just("valid")]
    if stride == (1, 1):
        choices.append(st.just("same"))
    padding = draw(st.one_of(*choices))
    pads = R.padding4(padding, kernel, dilation)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    hw = [max(1, s - a - b) + draw(st.integers(0, max_extra))
          for s, a, b in zip(spans, pads[::2], pads[1::2])]
    n = draw(st.integers(1, 2))
    shape = ((n,) if batched else ()) + (cin, *hw)
    x = _array(draw, shape, dtype)
    w = _array(draw, (cout, cin // groups, *kernel), dtype)
    with_bias = draw(st.booleans()) if bias is None else bias
    b = _array(draw, (cout,), dtype) if with_bias else None
    stride = stride if draw(st.booleans()) or stride[0] != stride[1] else stride[0]
    return x, w, b, stride, padding, dilation, groups


def conv2d_reference(x, w, b, stride, padding, dilation, groups):
    """``conv2d`` in plain numpy (unbatched input as a batch of one)."""
    stride, dilation = _pair(stride), _pair(dilation)
    pads = R.padding4(padding, w.shape[2:], dilation)
    if x.ndim == 3:
        return R.conv2d(x[None], w, b, stride, pads, dilation, groups)[0]
    return R.conv2d(x, w, b, stride, pads, dilation, groups)


@st.composite
def conv1d_args(draw, dtype=np.float64, kind=None):
    """(x (N, C, L), weight (C_out, C_in/groups, k), bias, stride, padding, dilation, groups)."""
    groups, cin, cout = draw(channels(kind))
    k, stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    choices = [st.integers(0, 2), st.just("valid")] + ([st.just("same")] if stride == 1 else [])
    padding = draw(st.one_of(*choices))
    pads = _pads1d(padding, k, dilation)
    length = max(1, dilation * (k - 1) + 1 - pads[2] - pads[3]) + draw(st.integers(0, 4))
    x = _array(draw, (draw(st.integers(1, 2)), cin, length), dtype)
    w = _array(draw, (cout, cin // groups, k), dtype)
    b = _array(draw, (cout,), dtype) if draw(st.booleans()) else None
    return x, w, b, stride, padding, dilation, groups


def _pads1d(padding, k: int, dilation: int) -> tuple:
    """conv1d's padding as conv2d's 4-tuple on an (N, C, 1, L) view (no padding in H)."""
    if isinstance(padding, str):
        return R.padding4(padding, (1, k), (1, dilation))
    return 0, 0, padding, padding


def conv1d_reference(x, w, b, stride, padding, dilation, groups):
    pads = _pads1d(padding, w.shape[2], dilation)
    return R.conv2d(x[:, :, None], w[:, :, None], b, (1, stride), pads, (1, dilation),
                    groups)[:, :, 0]


@st.composite
def conv_transpose2d_args(draw, dtype=np.float64, kind=None, max_channels: int = 3):
    """(x, weight, bias, stride, padding, output_padding, groups, dilation)."""
    groups, cin, cout = draw(channels(kind, max_channels))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    hw = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    out = [(n - 1) * s - 2 * p + d * (k - 1) + e + 1
           for n, s, p, d, k, e in zip(hw, stride, padding, dilation, kernel, extra)]
    assume(min(out) >= 1)
    x = _array(draw, (draw(st.integers(1, 2)), cin, *hw), dtype)
    w = _array(draw, (cin, cout // groups, *kernel), dtype)
    b = _array(draw, (cout,), dtype) if draw(st.booleans()) else None
    return x, w, b, stride, padding, extra, groups, dilation


def conv_transpose2d_reference(x, w, b, stride, padding, output_padding, groups, dilation):
    ph, pw = _pair(padding)
    return R.conv_transpose2d(x, w, b, _pair(stride), (ph, ph, pw, pw), _pair(output_padding),
                              _pair(dilation), groups)


_TOL = {"second_order": False, "forward_atol": 1e-9}

for _kind in ("dense", "grouped", "depthwise"):
    register(f"conv2d[{_kind}]", lambda x, w, b, s, p, d, g: C.conv2d(x, w, b, s, p, d, g),
             reference=conv2d_reference, inputs=conv2d_args(kind=_kind), covers=C.Conv2dFn,
             **_TOL)
register("conv2d[unbatched]", lambda x, w, b, s, p, d, g: C.conv2d(x, w, b, s, p, d, g),
         reference=conv2d_reference, inputs=conv2d_args(batched=False), covers=C.Conv2dFn,
         **_TOL)
register("conv1d", lambda x, w, b, s, p, d, g: C.conv1d(x, w, b, s, p, d, g),
         reference=conv1d_reference, inputs=conv1d_args(), covers=C.Conv1dFn, **_TOL)
for _kind in ("dense", "grouped"):
    register(f"conv_transpose2d[{_kind}]",
             lambda x, w, b, s, p, e, g, d: C.conv_transpose2d(x, w, b, s, p, e, g, d),
             reference=conv_transpose2d_reference, inputs=conv_transpose2d_args(kind=_kind),
             covers=C.ConvTranspose2dFn, **_TOL)
