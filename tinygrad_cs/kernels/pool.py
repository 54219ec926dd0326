"""Numba kernels for pooling and nearest-neighbour resampling, one image plane per task.

Every kernel sees a stack of ``P`` planes (``P = N * C``: batch and channels flattened),
and runs the planes in parallel (``prange``); within a plane the work is sequential, so
a scatter-add never races.

* ``max_pool2d_forward``: ``out[p, oh, ow] = max over the window`` and the flat index
  ``h * W + w`` of the (first) maximum, as PyTorch's ``return_indices``. Window of output
  ``(oh, ow)``: rows ``oh*sh - ph + i*dh`` for ``i < kh`` that lie inside ``[0, H)``
  (likewise columns). A NaN wins (PyTorch propagates NaN through max pooling).
* ``plane_gather`` / ``plane_scatter_add``: ``out[p, m] = src[p, idx[p, m]]`` and its
  adjoint ``out[p, l] = sum over m with idx[p, m] == l of g[p, m]``. ``idx`` has ``P``
  rows, or one row shared by all planes. Max pooling's backward scatters to the argmax
  indices; nearest interpolation gathers along a fixed index map.
* ``window_mean`` / ``window_mean_transpose``: the linear map of average pooling, with the
  window of output ``(oh, ow)`` given as rows ``[hs[oh], he[oh])`` x columns
  ``[ws[ow], we[ow])`` and a factor ``inv[oh, ow]`` (1 / divisor):
  ``out[p, oh, ow] = inv[oh, ow] * sum of the window``, and the transpose spreads
  ``g[p, oh, ow] * inv[oh, ow]`` back over the window. ``avg_pool2d`` (any padding,
  ceil_mode, divisor rule) and ``adaptive_avg_pool2d`` both reduce to it.

Arrays are C-contiguous; outputs are allocated by the caller and filled here.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from ._jit import parallel_kernel


@parallel_kernel(error_model="numpy")
def max_pool2d_forward(x, kh, kw, sh, sw, ph, pw, dh, dw, out, idx):
    """x (P, H, W) -> out (P, OH, OW), idx (P, OH, OW) int64 flat indices into H * W."""
    P, H, W = x.shape
    _, OH, OW = out.shape
    for p in prange(P):
        plane = x[p]
        for oh in range(OH):
            h0 = oh * sh - ph
            h1 = min(h0 + (kh - 1) * dh + 1, H)
            while h0 < 0:
                h0 += dh
            for ow in range(OW):
                w0 = ow * sw - pw
                w1 = min(w0 + (kw - 1) * dw + 1, W)
                while w0 < 0:
                    w0 += dw
                best = -np.inf
                where = h0 * W + w0
                for h in range(h0, h1, dh):
                    for w in range(w0, w1, dw):
                        v = plane[h, w]
                        if v > best or np.isnan(v):
                            best = v
                            where = h * W + w
                out[p, oh, ow] = best
                idx[p, oh, ow] = where


@parallel_kernel
def plane_gather(src, idx, out):
    """out[p, m] = src[p, idx[p or 0, m]] (0 where the index is outside the plane);
    src (P, L), idx (P or 1, M), out (P, M)."""
    P, M = out.shape
    L = src.shape[1]
    shared = idx.shape[0] == 1
    for p in prange(P):
        row = idx[0] if shared else idx[p]
        s = src[p]
        o = out[p]
        for m in range(M):
            j = row[m]
            o[m] = s[j] if 0 <= j < L else 0


@parallel_kernel
def plane_scatter_add(g, idx, out):
    """out[p] = 0, then out[p, idx[p or 0, m]] += g[p, m]; g (P, M), out (P, L).

    Indices outside the plane are skipped: max pooling reports one for a dilated window
    that lies wholly in the padding (its output is -inf and takes no gradient).
    """
    P, M = g.shape
    L = out.shape[1]
    shared = idx.shape[0] == 1
    for p in prange(P):
        row = idx[0] if shared else idx[p]
        o = out[p]
        o[:] = 0
        gp = g[p]
        for m in range(M):
            j = row[m]
            if 0 <= j < L:
                o[j] += gp[m]


@parallel_kernel(error_model="numpy")
def window_mean(x, hs, he, ws, we, inv, out):
    """out[p, oh, ow] = inv[oh, ow] * sum x[p, hs[oh]:he[oh], ws[ow]:we[ow]] (float64 sum)."""
    P = x.shape[0]
    OH, OW = inv.shape
    for p in prange(P):
        plane = x[p]
        for oh in range(OH):
            for ow in range(OW):
                s = 0.0
                for h in range(hs[oh], he[oh]):
                    for w in range(ws[ow], we[ow]):
                        s += plane[h, w]
                out[p, oh, ow] = s * inv[oh, ow]


@parallel_kernel(error_model="numpy")
def window_mean_transpose(g, hs, he, ws, we, inv, out):
    """The adjoint of ``window_mean``: out[p] = 0, then each window += g[p, oh, ow] * inv."""
    P = g.shape[0]
    OH, OW = inv.shape
    for p in prange(P):
        plane = out[p]
        plane[:, :] = 0
        for oh in range(OH):
            for ow in range(OW):
                v = g[p, oh, ow] * inv[oh, ow]
                for h in range(hs[oh], he[oh]):
                    for w in range(ws[ow], we[ow]):
                        plane[h, w] += v
