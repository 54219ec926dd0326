"""Convolution on raw arrays: forward, adjoint (transposed convolution) and their gradients.

One relation serves both ops (notation of ``kernels/conv.py``)::

    v = conv(u, k):   u (N, C, H, W),  k (Co, C/G, kh, kw)  ->  v (N, Co, OH, OW)

``conv2d`` is ``v = conv(x, w)``; ``conv_transpose2d`` is its adjoint in ``u``,
``u = conv^T(v, k)``, with the transposed op's input as ``v`` and its output as ``u``. All
four computations are three products with the same patch matrix, per group ``g``::

    cols = im2col(u)                                   (K, N*L),  K = C*kh*kw
    v^T[g]  = k2[g] @ cols[g]                          conv(u, k)
    dk2[g]  = v^T[g] @ cols[g]^T                       d<v', conv(u, k)>/dk
    cols[g] = k2[g]^T @ v^T[g];  u = col2im(cols)      conv^T(v, k)

with ``k2 = k.reshape(Co, C/G*kh*kw)`` and ``v^T`` the ``(Co, N*L)`` transpose of ``v``
(``to_cnl`` / ``to_nchw``, which also fuse the bias and its gradient). Four paths:

* direct 3x3 kernels (``conv_direct3x3``) for 'same' 3x3 stride-1 convolutions with few
  channels (``use_direct3x3``): register-blocked loops, no transforms;
* Winograd F(2x2, 3x3) (``conv_winograd``) for 3x3 stride-1 convolutions (one group, at
  least 4 input channels): 2.25x fewer multiplications than the GEMM path;
* direct loops (``conv.direct_*``) for depthwise and tiny groups, whose per-group GEMMs
  would be too thin;
* im2col + GEMM for everything else.

Each path runs on slices of the batch, one per worker thread (``conv_pool``), in chunks of
images small enough that the scratch (``conv_workspace``) stays in cache between a kernel
and the GEMM that reads it. Weight and bias gradients are summed over the slices.

Inputs may be any float32/float64 layout (made C-contiguous here); results are arrays no
one else holds, recycled from earlier calls where possible (``conv_recycle``).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import conv as K
from . import conv_direct3x3 as d3
from . import conv_recycle as recycle
from . import conv_winograd as wino
from . import conv_workspace as ws
from .conv_pool import chunks, map_images

#: Upper bound on the scratch of one im2col chunk (bytes, per worker): about L2-sized.
#: Measured with 2 workers: 2 MiB beat 8 MiB by 10-20% and 16 MiB by 20-35%.
CHUNK_BYTES = 2 << 20
#: Direct kernels for grouped convs whose groups are this small: (C/G) * (Co/G) at most
#: this (measured: depthwise 3x faster than per-group GEMMs, equal at (1, 2), GEMMs 2x
#: faster from (2, 2) on).
DIRECT_MAX_CHANNELS = 2
#: Calls with fewer multiply-adds than this run in the calling thread: handing work to the
#: pool costs ~0.1 ms.
INLINE_MAX_MACS = 1 << 20
#: Winograd for 3x3 stride-1 convs with at least this many input channels: with fewer,
#: the 16 GEMMs (contracting over channels) are too thin to pay for the tile transforms
#: (measured: GEMM path 1.3-3x faster at 1-3 channels, Winograd 0.55-0.8x from 4 on).
WINOGRAD_MIN_CHANNELS = 4
#: Direct 3x3 kernels (``conv_direct3x3``) for 'same' 3x3 stride-1 convs with at most
#: this many (input, output) channel pairs C * Co (measured: ``use_direct3x3``).
DIRECT3X3_MAX_PAIRS = 256


class Geometry(NamedTuple):
    """Stride, zero padding (top, bottom, left, right), dilation and groups of a conv."""

    sh: int
    sw: int
    pt: int
    pb: int
    pl: int
    pr: int
    dh: int
    dw: int
    groups: int

    def out_hw(self, h: int, w: int, kh: int, kw: int) -> tuple[int, int]:
        """(OH, OW) = floor((H + pads - dilation*(k-1) - 1) / stride) + 1, per axis."""
        return ((h + self.pt + self.pb - self.dh * (kh - 1) - 1) // self.sh + 1,
                (w + self.pl + self.pr - self.dw * (kw - 1) - 1) // self.sw + 1)


class _Sizes(NamedTuple):
    """The sizes of one call: u planes (c, h, w), k (co, kh, kw), v planes (oh, ow)."""

    c: int
    h: int
    w: int
    co: int
    kh: int
    kw: int
    oh: int
    ow: int


def use_direct(g: Geometry, k_shape: tuple) -> bool:
    """Depthwise / tiny groups: direct loops beat many tiny GEMMs plus im2col traffic."""
    co, cg = k_shape[0], k_shape[1]
    return g.groups > 1 and cg * (co // g.groups) <= DIRECT_MAX_CHANNELS


def use_winograd(g: Geometry, k_shape: tuple) -> bool:
    """3x3, stride 1, no dilation, one group, enough input channels: Winograd F(2x2, 3x3)."""
    _, c, kh, kw = k_shape
    return (kh == kw == 3 and g.sh == g.sw == g.dh == g.dw == g.groups == 1
            and c >= WINOGRAD_MIN_CHANNELS)


def use_direct3x3(g: Geometry, k_shape: tuple) -> bool:
    """3x3, stride 1, padding 1, no dilation, one group, C * Co <= 256: direct kernels.

    The threshold comes from A/B runs against the Winograd / GEMM paths, tabulated in
    ``conv_direct3x3``'s module docstring.
    """
    co, c, kh, kw = k_shape
    return (kh == kw == 3 and g.sh == g.sw == g.dh == g.dw == g.groups == 1
            and g.pt == g.pb == g.pl == g.pr == 1 and c * co <= DIRECT3X3_MAX_PAIRS)


# -- small helpers -------------------------------------------------------------------------
def _flat(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H*W), the kernels' view of planes."""
    return a.reshape(a.shape[0], a.shape[1], a.shape[2] * a.shape[3])


#: The ``bias`` argument of kernels called with ``has_bias=False`` (its dtype must match,
#: or Numba would compile another specialisation).
_NO_BIAS = {np.dtype(np.float32): np.zeros(1, np.float32),
            np.dtype(np.float64): np.zeros(1, np.float64)}


def _bias(bias, dtype) -> tuple[np.ndarray, bool]:
    if bias is None:
        return _NO_BIAS[np.dtype(dtype)], False
    return np.ascontiguousarray(bias), True


def _patch_args(g: Geometry, s: _Sizes) -> tuple:
    """The geometry arguments of ``im2col`` / ``col2im``."""
    return s.h, s.w, s.kh, s.kw, g.sh, g.sw, g.pt, g.pl, g.dh, g.dw, s.oh, s.ow


def _direct_args(s: _Sizes) -> tuple:
    return s.h, s.w, s.oh, s.ow


def _pads(g: Geometry) -> tuple:
    return g.sh, g.sw, g.pt, g.pb, g.pl, g.pr, g.dh, g.dw


def _groups(g: Geometry, k2: np.ndarray):
    """Per group: (rows of k2 and of v^T, rows of cols)."""
    og, kg = k2.shape[0] // g.groups, k2.shape[1]
    for gi in range(g.groups):
        yield slice(gi * og, (gi + 1) * og), slice(gi * kg, (gi + 1) * kg)


def _patch_chunks(n0: int, nb: int, s: _Sizes, itemsize: int):
    """Chunks of images whose cols (K rows) and v^T (Co rows) fit in CHUNK_BYTES."""
    return chunks(n0, nb, (s.c * s.kh * s.kw + s.co) * s.oh * s.ow * itemsize, CHUNK_BYTES)


def _sum_parts(parts: list, index: int):
    """Sum the ``index``-th result over the slices (None if the slices returned None)."""
    items = [p[index] for p in parts]
    return None if items[0] is None else np.sum(items, axis=0)


# -- GEMM path, one slice of images per call -----------------------------------------------
def _gemm_forward(n0, nb, u3, k2, v3, g, s, b, has_bias):
    L, dt = s.oh * s.ow, u3.dtype
    for m0, mb in _patch_chunks(n0, nb, s, u3.itemsize):
        cols = ws.rows("cols", k2.shape[1] * g.groups, mb * L, dt)
        vt = ws.get("vt", (s.co, mb * L), dt)
        K.im2col(u3, cols, m0, mb, *_patch_args(g, s))
        for rows, ks in _groups(g, k2):
            np.matmul(k2[rows], cols[ks, :mb * L], out=vt[rows])
        K.to_nchw(vt, v3, m0, mb, b, has_bias)


def _gemm_backward(n0, nb, u3, k2, dv3, g, s, du3, need_k):
    """This slice's (dk2 part, bias sums); fills du3 if given."""
    L, dt = s.oh * s.ow, u3.dtype
    sums = np.zeros(s.co)
    dk2 = np.zeros(k2.shape, dt) if need_k else None
    part = np.empty((s.co // g.groups, k2.shape[1]), dt)
    for m0, mb in _patch_chunks(n0, nb, s, u3.itemsize):
        cols = ws.rows("cols", k2.shape[1] * g.groups, mb * L, dt)
        dvt = ws.get("vt", (s.co, mb * L), dt)
        K.to_cnl(dv3, dvt, m0, mb, sums)
        if need_k:
            K.im2col(u3, cols, m0, mb, *_patch_args(g, s))
            for rows, ks in _groups(g, k2):
                np.matmul(dvt[rows], cols[ks, :mb * L].T, out=part)
                dk2[rows] += part
        if du3 is not None:  # cols is free again once dk has used it
            for rows, ks in _groups(g, k2):
                np.matmul(k2[rows].T, dvt[rows], out=cols[ks, :mb * L])
            K.col2im(cols, du3, m0, mb, *_patch_args(g, s), _NO_BIAS[dt], False)
    return dk2, sums


def _gemm_adjoint(n0, nb, v3, k2, u3, g, s, b, has_bias):
    L, dt = s.oh * s.ow, v3.dtype
    for m0, mb in _patch_chunks(n0, nb, s, v3.itemsize):
        cols = ws.rows("cols", k2.shape[1] * g.groups, mb * L, dt)
        vt = ws.get("vt", (s.co, mb * L), dt)
        K.to_cnl(v3, vt, m0, mb, np.zeros(s.co))
        for rows, ks in _groups(g, k2):
            np.matmul(k2[rows].T, vt[rows], out=cols[ks, :mb * L])
        K.col2im(cols, u3, m0, mb, *_patch_args(g, s), b, has_bias)


def _gemm_adjoint_backward(n0, nb, v3, k2, du3, g, s, dv3, need_k):
    """This slice's (dk2 part, bias sums of du); fills dv3 if given."""
    L, dt = s.oh * s.ow, v3.dtype
    sums = np.zeros(s.c)
    K.channel_sums(du3, n0, nb, sums)
    dk2 = np.zeros(k2.shape, dt) if need_k else None
    part = np.empty((s.co // g.groups, k2.shape[1]), dt)
    for m0, mb in _patch_chunks(n0, nb, s, v3.itemsize):
        cols = ws.rows("cols", k2.shape[1] * g.groups, mb * L, dt)
        K.im2col(du3, cols, m0, mb, *_patch_args(g, s))
        if dv3 is not None:
            dvt = ws.get("vt", (s.co, mb * L), dt)
            for rows, ks in _groups(g, k2):
                np.matmul(k2[rows], cols[ks, :mb * L], out=dvt[rows])
            K.to_nchw(dvt, dv3, m0, mb, _NO_BIAS[dt], False)
        if need_k:
            vt = ws.get("vt2", (s.co, mb * L), dt)
            K.to_cnl(v3, vt, m0, mb, np.zeros(s.co))
            for rows, ks in _groups(g, k2):
                np.matmul(vt[rows], cols[ks, :mb * L].T, out=part)
                dk2[rows] += part
    return dk2, sums


# -- direct and Winograd paths, one slice of images per call --------------------------------
def _direct_forward(n0, nb, u3, k, v3, g, s, b, has_bias):
    K.direct_forward(u3, k, v3, n0, nb, *_direct_args(s), b, has_bias, *_pads(g))


def _direct_backward(n0, nb, u3, k, dv3, g, s, du3, need_k):
    sums = np.zeros(s.co)
    K.channel_sums(dv3, n0, nb, sums)
    if du3 is not None:
        K.direct_input_grad(dv3, k, du3, n0, nb, *_direct_args(s), *_pads(g))
    dk = None
    if need_k:
        dk = np.zeros(k.shape, u3.dtype)
        K.direct_weight_grad(u3, dv3, dk, n0, nb, *_direct_args(s), *_pads(g))
    return dk, sums


def _direct_adjoint(n0, nb, v3, k, u3, g, s, b, has_bias):
    K.direct_input_grad(v3, k, u3, n0, nb, *_direct_args(s), *_pads(g))
    if has_bias:
        u3[n0:n0 + nb] += b[:, None]


def _direct_adjoint_backward(n0, nb, v3, k, du3, g, s, dv3, need_k):
    sums = np.zeros(s.c)
    K.channel_sums(du3, n0, nb, sums)
    if dv3 is not None:
        K.direct_forward(du3, k, dv3, n0, nb, *_direct_args(s), _NO_BIAS[v3.dtype], False,
                         *_pads(g))
    dk = None
    if need_k:
        dk = np.zeros(k.shape, v3.dtype)
        K.direct_weight_grad(du3, v3, dk, n0, nb, *_direct_args(s), *_pads(g))
    return dk, sums


def _wino_dims(g: Geometry, s: _Sizes) -> tuple:
    return s.h, s.w, s.oh, s.ow, g.pt, g.pl


def _wino_backward(n0, nb, u3, U, dv3, g, s, du3, need_k):
    sums = np.zeros(s.co)
    K.channel_sums(dv3, n0, nb, sums)
    return wino.backward_slice(n0, nb, u3, U, dv3, _wino_dims(g, s), du3, need_k), sums


# -- public entry points --------------------------------------------------------------------
def _small(n: int, s: _Sizes, groups: int) -> bool:
    """Too little work to be worth the worker threads (see ``INLINE_MAX_MACS``)."""
    return n * s.co * s.oh * s.ow * (s.c // groups) * s.kh * s.kw < INLINE_MAX_MACS


def _sizes(u_shape, k_shape, groups, v_hw) -> _Sizes:
    co, cg, kh, kw = k_shape
    return _Sizes(cg * groups, u_shape[2], u_shape[3], co, kh, kw, v_hw[0], v_hw[1])


def forward(u: np.ndarray, k: np.ndarray, g: Geometry, bias=None) -> np.ndarray:
    """v = conv(u, k) (+ bias[o] on every output plane o)."""
    u, k = np.ascontiguousarray(u), np.ascontiguousarray(k)
    n = u.shape[0]
    s = _sizes(u.shape, k.shape, g.groups, g.out_hw(u.shape[2], u.shape[3], *k.shape[2:]))
    small = _small(n, s, g.groups)
    v = recycle.empty((n, s.co, s.oh, s.ow), u.dtype)
    b, has_bias = _bias(bias, u.dtype)
    u3, v3 = _flat(u), _flat(v)
    if use_direct(g, k.shape):
        map_images(_direct_forward, n, u3, k, v3, g, s, b, has_bias, small=small)
    elif use_direct3x3(g, k.shape):
        map_images(d3.forward_slice, n, u3, *d3.forward_weights(k, bias), (s.h, s.w), v3,
                   small=small)
    elif use_winograd(g, k.shape):
        U = wino.weight_tiles(k)
        map_images(wino.forward_slice, n, u3, U, _wino_dims(g, s), b, has_bias, v3, small=small)
    else:
        map_images(_gemm_forward, n, u3, k.reshape(s.co, -1), v3, g, s, b, has_bias, small=small)
    return v


def backward(u, k, dv, g: Geometry, need_u: bool, need_k: bool, need_b: bool):
    """(du, dk, dbias) of ``v = conv(u, k) + bias`` given dv; None where not needed."""
    u, k, dv = (np.ascontiguousarray(a) for a in (u, k, dv))
    n = u.shape[0]
    s = _sizes(u.shape, k.shape, g.groups, dv.shape[2:])
    small = _small(n, s, g.groups)
    du = recycle.empty(u.shape, u.dtype) if need_u else None
    u3, dv3, du3 = _flat(u), _flat(dv), (None if du is None else _flat(du))
    if use_direct(g, k.shape) or not (need_u or need_k):
        parts = map_images(_direct_backward, n, u3, k, dv3, g, s, du3, need_k, small=small)
        dk = _sum_parts(parts, 0)
    elif use_direct3x3(g, k.shape):
        parts = map_images(d3.backward_slice, n, u3, d3.input_grad_weights(k), dv3, (s.h, s.w),
                           du3, need_k, small=small)
        dk = None if not need_k else _sum_parts(parts, 0).transpose(2, 3, 0, 1).copy()
    elif use_winograd(g, k.shape):
        parts = map_images(_wino_backward, n, u3, wino.weight_tiles(k), dv3, g, s, du3, need_k,
                           small=small)
        dk = None if not need_k else wino.weight_grad(_sum_parts(parts, 0))
    else:
        parts = map_images(_gemm_backward, n, u3, k.reshape(s.co, -1), dv3, g, s, du3, need_k,
                           small=small)
        dk = None if not need_k else _sum_parts(parts, 0).reshape(k.shape)
    db = _sum_parts(parts, 1).astype(u.dtype) if need_b else None
    return du, dk, db


def adjoint(v: np.ndarray, k: np.ndarray, g: Geometry, hw: tuple, bias=None) -> np.ndarray:
    """u = conv^T(v, k) (+ bias[c] on every plane c), u of spatial size ``hw``.

    v (N, Co, H', W'), k (Co, C/G, kh, kw) -> u (N, C, *hw), C = G * k.shape[1].
    """
    v, k = np.ascontiguousarray(v), np.ascontiguousarray(k)
    n = v.shape[0]
    s = _sizes((n, 0) + tuple(hw), k.shape, g.groups, v.shape[2:])
    small = _small(n, s, g.groups)
    u = recycle.empty((n, s.c) + tuple(hw), v.dtype)
    b, has_bias = _bias(bias, v.dtype)
    v3, u3 = _flat(v), _flat(u)
    if use_direct(g, k.shape):
        map_images(_direct_adjoint, n, v3, k, u3, g, s, b, has_bias, small=small)
    else:
        map_images(_gemm_adjoint, n, v3, k.reshape(s.co, -1), u3, g, s, b, has_bias, small=small)
    return u


def adjoint_backward(v, k, du, g: Geometry, need_v: bool, need_k: bool, need_b: bool):
    """(dv, dk, dbias) of ``u = conv^T(v, k) + bias`` given du.

    dv = conv(du, k) and dk = d<v, conv(du, k)>/dk: the forward relation with du as input.
    """
    v, k, du = (np.ascontiguousarray(a) for a in (v, k, du))
    n = v.shape[0]
    s = _sizes(du.shape, k.shape, g.groups, v.shape[2:])
    small = _small(n, s, g.groups)
    dv = recycle.empty(v.shape, v.dtype) if need_v else None
    v3, du3, dv3 = _flat(v), _flat(du), (None if dv is None else _flat(dv))
    if use_direct(g, k.shape) or not (need_v or need_k):
        parts = map_images(_direct_adjoint_backward, n, v3, k, du3, g, s, dv3, need_k, small=small)
        dk = _sum_parts(parts, 0)
    else:
        parts = map_images(_gemm_adjoint_backward, n, v3, k.reshape(s.co, -1), du3, g, s, dv3,
                           need_k, small=small)
        dk = None if not need_k else _sum_parts(parts, 0).reshape(k.shape)
    db = _sum_parts(parts, 1).astype(v.dtype) if need_b else None
    return dv, dk, db


def warm() -> None:
    """Compile (or load from the cache) every float32 kernel of each path, on tiny inputs."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 16, 5, 5)).astype(np.float32)
    cases = [(Geometry(1, 1, 1, 1, 1, 1, 1, 1, 1), (32, 16, 3, 3)),    # Winograd
             (Geometry(1, 1, 1, 1, 1, 1, 1, 1, 1), (16, 16, 3, 3)),    # direct 3x3
             (Geometry(2, 1, 1, 0, 0, 1, 1, 2, 2), (4, 8, 3, 2)),      # GEMM (im2col)
             (Geometry(1, 1, 0, 0, 0, 0, 1, 1, 16), (16, 1, 3, 3))]    # direct
    for g, k_shape in cases:
        k = rng.standard_normal(k_shape).astype(np.float32)
        b = np.zeros(k_shape[0], np.float32)
        v = forward(x, k, g, b)
        backward(x, k, v, g, True, True, True)
        u = adjoint(v, k, g, x.shape[2:], b)
        adjoint_backward(v, k, u, g, True, True, True)
