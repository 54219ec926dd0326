"""Numba kernels of the convolution family: the data movement around the GEMMs, and a
direct kernel for depthwise / small-group convolution.

Notation, shared with ``conv_compute`` (which drives these kernels and the GEMMs): the
convolution ``v = conv(u, k)`` maps ``u (N, C, H, W)`` and ``k (Co, C/G, kh, kw)`` to
``v (N, Co, OH, OW)``,

    v[n, o, p, q] = sum_{c in group(o), i, j} k[o, c', i, j] * u[n, c, p*sh - pt + i*dh,
                                                                     q*sw - pl + j*dw]

with ``c' = c mod C/G`` and ``u`` read as 0 outside its ``H x W`` plane (zero padding).
``L = OH * OW`` output pixels per image; ``K = C * kh * kw`` patch entries. Planes are
passed flattened: ``u`` as ``(N, C, H*W)``, ``v`` as ``(N, Co, L)``.

GEMM path (any groups): ``im2col`` writes the patches of images ``n0 .. n0+nb-1`` as
columns, ``cols[(c, i, j), b*L + p*OW + q]``, so that per group ``v^T = k2 @ cols`` is one
well-shaped BLAS product; ``col2im`` is its adjoint (scatter-add of columns back into
planes); ``to_nchw`` / ``to_cnl`` move between ``(N, Co, L)`` and the GEMM's
``(Co, nb*L)`` layout, fusing the bias add and the bias-gradient sums.

Direct path (``direct_*``): per-plane loops with the ``q`` loop innermost and contiguous,
so it vectorises; each plane is first copied into a zero-padded scratch plane (in L1), so
the hot loops need no bounds checks.

Every kernel works on one slice of the batch, serially: ``conv_pool`` runs one slice per
worker thread. Speed notes: indices that could be negative as far as LLVM knows are cast
to unsigned (``U``), because Numba wraps negative indices around and that per-element
check keeps loops from vectorising (3-4x slower); inner loops index whole arrays rather
than taking row views, which cost reference-count updates; stride-1 loops are written
apart from strided ones so that their loads are contiguous.

All arrays are C-contiguous and share one float dtype (sums are float64); outputs are
filled in place.
"""
from __future__ import annotations

import numpy as np

from ._jit import kernel
from .sums import row_sum64

U = np.uint64
# The accumulations are elementwise over output positions, so they vectorise without
# "reassoc" (which would let two compilations add in different orders: see sums.py); no
# nnan/ninf, so NaN and Inf still propagate exactly as in the reference.
FAST = {"contract"}


@kernel
def _span(off, size, stride, n_out):
    """The range [lo, hi) of outputs q with 0 <= q*stride + off < size."""
    lo = 0 if off >= 0 else (-off + stride - 1) // stride
    hi = (size - 1 - off) // stride + 1 if size - 1 - off >= 0 else 0
    hi = min(hi, n_out)
    lo = min(lo, n_out)
    return lo, max(lo, hi)


# -- GEMM path: patches as columns, and back -------------------------------------------------
@kernel
def im2col(u, cols, n0, nb, H, W, kh, kw, sh, sw, pt, pl, dh, dw, oh_n, ow_n):
    """cols[(c, i, j), b*L + p*OW + q] = u[n0 + b, c, p*sh - pt + i*dh, q*sw - pl + j*dw].

    u (N, C, H*W) -> cols (C*kh*kw, >= nb*L); zeros where the patch leaves the plane. Row
    by row, so the writes are long contiguous runs. When input and output rows have the
    same length (stride 1, 'same'-like width), the valid part of a row is one flat
    shifted copy and only the border columns are zeroed after it.
    """
    L = oh_n * ow_n
    flat = sh == 1 and sw == 1 and ow_n == W
    for r in range(u.shape[1] * kh * kw):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        off = j * dw - pl
        lo, hi = _span(off, W, sw, ow_n)
        p_lo, p_hi = _span(i * dh - pt, H, sh, oh_n)
        for b in range(nb):
            n = n0 + b
            base = b * L
            for k in range(base, base + p_lo * ow_n):
                cols[r, k] = 0
            if flat:
                shift = (i * dh - pt) * W + off
                a = max(p_lo * W, -shift)
                e = min(p_hi * W, H * W - shift)
                for k in range(p_lo * W, a):
                    cols[r, U(base + k)] = 0
                for k in range(a, e):
                    cols[r, U(base + k)] = u[n, c, U(k + shift)]
                for k in range(e, p_hi * W):
                    cols[r, U(base + k)] = 0
                if lo > 0 or hi < ow_n:
                    for p in range(p_lo, p_hi):
                        d = base + p * ow_n
                        for q in range(lo):
                            cols[r, U(d + q)] = 0
                        for q in range(hi, ow_n):
                            cols[r, U(d + q)] = 0
            else:
                for p in range(p_lo, p_hi):
                    d = base + p * ow_n
                    src = (p * sh - pt + i * dh) * W + off
                    for q in range(lo):
                        cols[r, U(d + q)] = 0
                    for q in range(lo, hi):
                        cols[r, U(d + q)] = u[n, c, U(src + q * sw)]
                    for q in range(hi, ow_n):
                        cols[r, U(d + q)] = 0
            for k in range(base + p_hi * ow_n, base + L):
                cols[r, k] = 0


@kernel(fastmath=FAST)
def col2im(cols, du, n0, nb, H, W, kh, kw, sh, sw, pt, pl, dh, dw, oh_n, ow_n, bias,
           has_bias):
    """The adjoint of ``im2col``: du[n0 + b, c] = (bias[c]) + sum of the columns that read it.

    cols (C*kh*kw, >= nb*L) -> du (N, C, H*W), images n0 .. n0+nb-1 overwritten. Plane by
    plane, each staying in L1 while its kh*kw rows of columns are added in. In the flat
    case (as in ``im2col``) a row is added as one shifted run, after zeroing its border
    entries in ``cols`` (scratch), whose targets would wrap into the next row.
    """
    C = du.shape[1]
    L = oh_n * ow_n
    flat = sh == 1 and sw == 1 and ow_n == W
    for b in range(nb):
        n = n0 + b
        for c in range(C):
            fill = bias[c] if has_bias else 0
            for k in range(H * W):
                du[n, c, k] = fill
            for i in range(kh):
                p_lo, p_hi = _span(i * dh - pt, H, sh, oh_n)
                for j in range(kw):
                    r = (c * kh + i) * kw + j
                    off = j * dw - pl
                    lo, hi = _span(off, W, sw, ow_n)
                    if flat:
                        base = b * L
                        if lo > 0 or hi < ow_n:
                            for p in range(p_lo, p_hi):
                                d = base + p * ow_n
                                for q in range(lo):
                                    cols[r, U(d + q)] = 0
                                for q in range(hi, ow_n):
                                    cols[r, U(d + q)] = 0
                        shift = (i * dh - pt) * W + off
                        a = max(p_lo * W, -shift)
                        e = min(p_hi * W, H * W - shift)
                        for k in range(a, e):
                            du[n, c, U(k + shift)] += cols[r, U(base + k)]
                        continue
                    for p in range(p_lo, p_hi):
                        dst = (p * sh - pt + i * dh) * W + off
                        src = b * L + p * ow_n
                        if sw == 1:
                            for q in range(lo, hi):
                                du[n, c, U(dst + q)] += cols[r, U(src + q)]
                        else:
                            for q in range(lo, hi):
                                du[n, c, U(dst + q * sw)] += cols[r, U(src + q)]


@kernel
def to_nchw(vt, v, n0, nb, bias, has_bias):
    """v[n0 + b, o, :] = vt[o, b*L:(b+1)*L] + bias[o]:  (Co, >= nb*L) -> (N, Co, L)."""
    co, L = v.shape[1], v.shape[2]
    for b in range(nb):
        for o in range(co):
            add = bias[o] if has_bias else 0
            src = b * L
            for q in range(L):
                v[n0 + b, o, q] = vt[o, U(src + q)] + add


@kernel(fastmath=FAST)
def to_cnl(v, vt, n0, nb, sums):
    """vt[o, b*L:(b+1)*L] = v[n0 + b, o, :], and sums[o] += sum_l v[n0 + b, o, l] (float64).

    (N, Co, L) -> (Co, >= nb*L), the layout the weight-gradient GEMM contracts over.
    """
    co, L = v.shape[1], v.shape[2]
    for o in range(co):
        for b in range(nb):
            dst = b * L
            for q in range(L):
                vt[o, U(dst + q)] = v[n0 + b, o, q]
            # a second pass (from L1): fused, the float64 sum kept the copy scalar
            sums[o] += row_sum64(v[n0 + b, o])


@kernel(fastmath=FAST)
def channel_sums(v, n0, nb, sums):
    """sums[o] += sum_{b, l} v[n0 + b, o, l] in float64: the bias gradient, for v (N, Co, L)."""
    co = v.shape[1]
    for b in range(nb):
        for o in range(co):
            sums[o] += row_sum64(v[n0 + b, o])


# -- direct path: depthwise and small groups -------------------------------------------------
# With stride 1 the output rows are computed on the padded input's row length ``wp`` (the
# last ``wp - OW`` columns of each row are junk, dropped or kept at zero): then every
# kernel tap is one long contiguous multiply-add over the whole plane, instead of OH short
# rows that are too short to vectorise well. The scratch plane gets ``(kw-1)*dw`` spare
# zeros at its end, read only by the junk columns of the last row.
@kernel
def _pad_plane(u, n, c, H, W, scratch, pt, pl, wp):
    """scratch = plane u[n, c] (H*W) placed at (pt, pl) in zeros, row length wp."""
    start = pt * wp + pl
    for t in range(start):
        scratch[t] = 0
    for h in range(H):
        row = start + h * wp
        for x in range(W):
            scratch[U(row + x)] = u[n, c, U(h * W + x)]
        for t in range(row + W, row + wp):  # right padding, then the next row's left
            scratch[U(t)] = 0
    for t in range(start + H * wp, scratch.size):
        scratch[U(t)] = 0


@kernel
def _wide_plane(v, n, o, oh_n, ow_n, wide, wp):
    """wide (OH*wp) = plane v[n, o] (OH*OW) with rows of length wp, junk columns zero."""
    for p in range(oh_n):
        row = p * wp
        for q in range(ow_n):
            wide[U(row + q)] = v[n, o, U(p * ow_n + q)]
        for t in range(row + ow_n, row + wp):
            wide[U(t)] = 0


@kernel
def _narrow_plane(wide, v, n, o, oh_n, ow_n, wp):
    """v[n, o] (OH*OW) = the first OW columns of each row of wide (OH*wp)."""
    for p in range(oh_n):
        for q in range(ow_n):
            v[n, o, U(p * ow_n + q)] = wide[U(p * wp + q)]


@kernel(fastmath=FAST)
def _taps3x3_gather(acc, src, k, o, c, base, row_step, col_step, n):
    """acc[t] += sum_{i, j} k[o, c, i, j] * src[base + t + i*row_step + j*col_step], t < n.

    The input gradient of a 3x3 stride-1 direct convolution as a gather: ``src`` is the
    output-gradient plane between zero margins and the steps are negated (the adjoint reads
    where the forward wrote). One pass over ``acc`` instead of a scatter pass per tap, each
    element taking the taps in the same order (i, then j), so the result is bit for bit the
    scatter's: 64 channels, 32x32, batch 32 went from 2.3-2.7 to 1.3-1.6 ms (one thread). The
    forward keeps its pass per tap: written this way it ran 3x slower.
    """
    w0, w1, w2 = k[o, c, 0, 0], k[o, c, 0, 1], k[o, c, 0, 2]
    w3, w4, w5 = k[o, c, 1, 0], k[o, c, 1, 1], k[o, c, 1, 2]
    w6, w7, w8 = k[o, c, 2, 0], k[o, c, 2, 1], k[o, c, 2, 2]
    r1, r2 = row_step, 2 * row_step
    c1, c2 = col_step, 2 * col_step
    for t in range(n):
        b = base + t
        a = acc[t]
        a += w0 * src[U(b)]
        a += w1 * src[U(b + c1)]
        a += w2 * src[U(b + c2)]
        a += w3 * src[U(b + r1)]
        a += w4 * src[U(b + r1 + c1)]
        a += w5 * src[U(b + r1 + c2)]
        a += w6 * src[U(b + r2)]
        a += w7 * src[U(b + r2 + c1)]
        a += w8 * src[U(b + r2 + c2)]
        acc[t] = a


@kernel(fastmath=FAST)
def direct_forward(u, k, v, n0, nb, H, W, oh_n, ow_n, bias, has_bias, sh, sw, pt, pb, pl,
                   pr, dh, dw):
    """v = conv(u, k) (+ bias) by direct loops, plane by plane, for images n0 .. n0+nb-1.

    u (N, C, H*W), k (Co, C/G, kh, kw) -> v (N, Co, L).
    """
    C = u.shape[1]
    co, cg, kh, kw = k.shape
    og = co // (C // cg)
    wp = W + pl + pr
    flat = sh == 1 and sw == 1
    scratch = np.empty((H + pt + pb) * wp + (kw - 1) * dw, u.dtype)
    acc = np.empty(oh_n * wp, u.dtype)
    for n in range(n0, n0 + nb):
        for o in range(co):
            first = (o // og) * cg
            fill = bias[o] if has_bias else 0
            acc[:] = fill
            for c in range(cg):
                _pad_plane(u, n, first + c, H, W, scratch, pt, pl, wp)
                for i in range(kh):
                    for j in range(kw):
                        wt = k[o, c, i, j]
                        if flat:
                            src = scratch[i * dh * wp + j * dw:]
                            for t in range(oh_n * wp):
                                acc[t] += wt * src[t]
                            continue
                        for p in range(oh_n):
                            src = (p * sh + i * dh) * wp + j * dw
                            for q in range(ow_n):
                                acc[U(p * wp + q)] += wt * scratch[U(src + q * sw)]
            _narrow_plane(acc, v, n, o, oh_n, ow_n, wp)


@kernel(fastmath=FAST)
def direct_input_grad(dv, k, du, n0, nb, H, W, oh_n, ow_n, sh, sw, pt, pb, pl, pr, dh, dw):
    """du = conv^T(dv, k): the adjoint of ``direct_forward`` in u, plane by plane.

    dv (N, Co, L), k (Co, C/G, kh, kw) -> du (N, C, H*W), images n0 .. n0+nb-1 overwritten.
    """
    C = du.shape[1]
    co, cg, kh, kw = k.shape
    og = co // (C // cg)
    wp = W + pl + pr
    flat = sh == 1 and sw == 1
    scratch = np.empty((H + pt + pb) * wp + (kw - 1) * dw, du.dtype)
    # wide in the middle of zeros, so the 3x3 gather below reads 0 where a tap misses
    margin = (kh - 1) * dh * wp + (kw - 1) * dw
    padded = np.zeros(2 * margin + oh_n * wp, du.dtype)
    wide = padded[margin:margin + oh_n * wp]
    for n in range(n0, n0 + nb):
        for c in range(C):
            group, cl = c // cg, c % cg
            scratch[:] = 0
            for o in range(group * og, (group + 1) * og):
                _wide_plane(dv, n, o, oh_n, ow_n, wide, wp)
                if flat and kh == 3 and kw == 3:
                    _taps3x3_gather(scratch, padded, k, o, cl, margin, -dh * wp, -dw,
                                    scratch.size)
                    continue
                for i in range(kh):
                    for j in range(kw):
                        wt = k[o, cl, i, j]
                        if flat:
                            dst = scratch[i * dh * wp + j * dw:]
                            for t in range(oh_n * wp):
                                dst[t] += wt * wide[t]
                            continue
                        for p in range(oh_n):
                            dst = (p * sh + i * dh) * wp + j * dw
                            for q in range(ow_n):
                                scratch[U(dst + q * sw)] += wt * wide[U(p * wp + q)]
            for h in range(H):
                for x in range(W):
                    du[n, c, U(h * W + x)] = scratch[U((pt + h) * wp + pl + x)]


@kernel(fastmath=FAST)
def direct_weight_grad(u, dv, dk, n0, nb, H, W, oh_n, ow_n, sh, sw, pt, pb, pl, pr, dh, dw):
    """dk += d<dv, conv(u, k)>/dk over images n0 .. n0+nb-1, weight plane by weight plane.

    dk[o, c', i, j] += sum_{n, p, q} dv[n, o, p, q] * u_pad[n, c, p*sh + i*dh, q*sw + j*dw].
    The products are summed per position over all images in ``lanes``, and across
    positions at the end, so the inner loop is a plain vectorised multiply-add.
    """
    C = u.shape[1]
    co, cg, kh, kw = dk.shape
    og = co // (C // cg)
    wp = W + pl + pr
    flat = sh == 1 and sw == 1
    scratch = np.empty((H + pt + pb) * wp + (kw - 1) * dw, u.dtype)
    wide = np.empty(oh_n * wp, u.dtype)
    lanes = np.empty((kh * kw, oh_n * wp), u.dtype)
    for o in range(co):
        for cl in range(cg):
            c = (o // og) * cg + cl
            lanes[:] = 0
            for n in range(n0, n0 + nb):
                _pad_plane(u, n, c, H, W, scratch, pt, pl, wp)
                _wide_plane(dv, n, o, oh_n, ow_n, wide, wp)
                for i in range(kh):
                    for j in range(kw):
                        tap = i * kw + j
                        if flat:
                            src, lane = scratch[i * dh * wp + j * dw:], lanes[tap]
                            for t in range(oh_n * wp):
                                lane[t] += wide[t] * src[t]
                            continue
                        for p in range(oh_n):
                            src = (p * sh + i * dh) * wp + j * dw
                            for q in range(ow_n):
                                lanes[tap, U(p * wp + q)] += (wide[U(p * wp + q)]
                                                              * scratch[U(src + q * sw)])
            for i in range(kh):
                for j in range(kw):
                    dk[o, cl, i, j] += row_sum64(lanes[i * kw + j])
