"""Winograd F(2x2, 3x3): 3x3, stride-1 convolutions with 2.25x fewer multiplications.

For a 4x4 input tile ``d`` and a 3x3 kernel ``g``, the 2x2 output tile of the
correlation is (Lavin & Gray, 2015)

    Y = A^T [ (G g G^T) * (B^T d B) ] A            (* elementwise, on 4x4 arrays)

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

Over channels the elementwise product becomes 16 independent GEMMs, one per tile
entry ``e = (xi, nu)``: with tiles ``t`` (2x2 output blocks of every image),

    U[e] (Co, C) = (G g G^T)[e]     V[e] (C, T) = (B^T d_t B)[e]     M[e] = U[e] @ V[e]

and the output tile of ``t`` is ``A^T M[:, :, t] A``: 16 * Co*C*T multiply-adds instead of
the 36 * Co*C*T of direct / im2col convolution. Backward is the adjoint of the same
pipeline, so it is the exact gradient of the forward:

    dM_t  = A dY_t A^T                         (16 entries per output tile)
    dU[e] = dM[e] @ V[e]^T,   dw = G^T dU G    (weight gradient: 16 GEMMs)
    dV[e] = U[e]^T @ dM[e],   dd_t = B dV_t B^T,  dx = sum of the overlapping dd_t

Tiles start every 2 pixels of the zero-padded input and overlap by 2; the last tile row /
column may reach past the output (odd sizes): it is computed on zero padding and dropped.
The batch is processed in chunks so that V and M stay in cache between the transform
kernels and the GEMMs. float32 error grows only slightly over the direct sum (the
transforms have entries 0, +-1, +-1/2).

Kernels take planes flattened, ``u (N, C, H*W)``, ``v (N, Co, OH*OW)``, and tile
matrices as ``(16, S)`` buffers holding ``(channels, T)`` each, entry ``[e, c*T + t]``
with ``T = nb*TH*TW`` and ``t = b*TH*TW + tp*TW + tq`` (rows padded by ``ws.rows``: the
16 rows are written together, and must not share L1 cache sets).
"""
from __future__ import annotations

import numpy as np

from . import conv_workspace as ws
from ._jit import kernel
from .conv_pool import chunks

FAST = {"contract"}  # no "reassoc": every compilation must add in one order (sums.py)
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
#: Bytes of V plus M per chunk of images (per worker): about L2-sized (at least one image).
#: Measured with 2 workers, 64 channels at 32x32: 2 MiB 37.6 ms, 8 MiB 42 ms, 16 MiB 49 ms.
CHUNK_BYTES = 2 << 20


@kernel(fastmath=FAST)
def input_tiles(u, V, n0, nb, H, W, pt, pl, th, tw):
    """V[e, c, t] = (B^T d_t B)[e], d_t the 4x4 padded-input tile of t, plane by plane.

    Four padded input rows are staged in a small buffer (zeros outside the image); each
    tile is then transformed fully unrolled: B^T down the rows, then B along the columns.
    """
    C = u.shape[1]
    wp = 2 * tw + 2
    rows = np.zeros((4, wp), u.dtype)  # outside the image stays 0
    for c in range(C):
        for b in range(nb):
            n = n0 + b
            ct = c * nb * th * tw  # this plane's tiles in the rows of the tile matrix
            for tp in range(th):
                for r in range(4):
                    y = 2 * tp + r - pt
                    if 0 <= y < H:
                        for x in range(W):
                            rows[r, pl + x] = u[n, c, y * W + x]
                    else:
                        rows[r, :] = 0
                t0 = b * th * tw + tp * tw
                for tq in range(tw):
                    x = 2 * tq
                    t = t0 + tq
                    # s_k = (B^T d) row k, column j:  d0 - d2, d1 + d2, d2 - d1, d1 - d3
                    s00 = rows[0, x] - rows[2, x]
                    s01 = rows[0, x + 1] - rows[2, x + 1]
                    s02 = rows[0, x + 2] - rows[2, x + 2]
                    s03 = rows[0, x + 3] - rows[2, x + 3]
                    s10 = rows[1, x] + rows[2, x]
                    s11 = rows[1, x + 1] + rows[2, x + 1]
                    s12 = rows[1, x + 2] + rows[2, x + 2]
                    s13 = rows[1, x + 3] + rows[2, x + 3]
                    s20 = rows[2, x] - rows[1, x]
                    s21 = rows[2, x + 1] - rows[1, x + 1]
                    s22 = rows[2, x + 2] - rows[1, x + 2]
                    s23 = rows[2, x + 3] - rows[1, x + 3]
                    s30 = rows[1, x] - rows[3, x]
                    s31 = rows[1, x + 1] - rows[3, x + 1]
                    s32 = rows[1, x + 2] - rows[3, x + 2]
                    s33 = rows[1, x + 3] - rows[3, x + 3]
                    # (B^T d) B: the same combination along each row
                    V[0, ct + t] = s00 - s02
                    V[1, ct + t] = s01 + s02
                    V[2, ct + t] = s02 - s01
                    V[3, ct + t] = s01 - s03
                    V[4, ct + t] = s10 - s12
                    V[5, ct + t] = s11 + s12
                    V[6, ct + t] = s12 - s11
                    V[7, ct + t] = s11 - s13
                    V[8, ct + t] = s20 - s22
                    V[9, ct + t] = s21 + s22
                    V[10, ct + t] = s22 - s21
                    V[11, ct + t] = s21 - s23
                    V[12, ct + t] = s30 - s32
                    V[13, ct + t] = s31 + s32
                    V[14, ct + t] = s32 - s31
                    V[15, ct + t] = s31 - s33


@kernel(fastmath=FAST)
def output_tiles(M, v, n0, nb, oh, ow, th, tw, bias, has_bias):
    """v[n0 + b, o] = A^T M_t A for every tile t of the plane (+ bias[o]), plane by plane."""
    co = v.shape[1]
    out = np.empty((2, 2 * tw), M.dtype)
    for o in range(co):
        for b in range(nb):
            n = n0 + b
            ot = o * nb * th * tw  # this plane's tiles in the rows of the tile matrix
            add = bias[o] if has_bias else 0
            for tp in range(th):
                t0 = b * th * tw + tp * tw
                for tq in range(tw):
                    t = t0 + tq
                    z00 = M[0, ot + t] + M[4, ot + t] + M[8, ot + t]
                    z01 = M[1, ot + t] + M[5, ot + t] + M[9, ot + t]
                    z02 = M[2, ot + t] + M[6, ot + t] + M[10, ot + t]
                    z03 = M[3, ot + t] + M[7, ot + t] + M[11, ot + t]
                    z10 = M[4, ot + t] - M[8, ot + t] - M[12, ot + t]
                    z11 = M[5, ot + t] - M[9, ot + t] - M[13, ot + t]
                    z12 = M[6, ot + t] - M[10, ot + t] - M[14, ot + t]
                    z13 = M[7, ot + t] - M[11, ot + t] - M[15, ot + t]
                    out[0, 2 * tq] = z00 + z01 + z02 + add
                    out[0, 2 * tq + 1] = z01 - z02 - z03 + add
                    out[1, 2 * tq] = z10 + z11 + z12 + add
                    out[1, 2 * tq + 1] = z11 - z12 - z13 + add
                for a in range(min(2, oh - 2 * tp)):
                    y = (2 * tp + a) * ow
                    for x in range(ow):
                        v[n, o, y + x] = out[a, x]


@kernel(fastmath=FAST)
def grad_output_tiles(dv, dM, n0, nb, oh, ow, th, tw):
    """dM[e, o, t] = (A dY_t A^T)[e], dY_t the 2x2 output-gradient tile (0 past the edge)."""
    co = dv.shape[1]
    rows = np.zeros((2, 2 * tw), dv.dtype)  # past the output edge stays 0
    for o in range(co):
        for b in range(nb):
            n = n0 + b
            ot = o * nb * th * tw  # this plane's tiles in the rows of the tile matrix
            for tp in range(th):
                for a in range(2):
                    y = 2 * tp + a
                    if y < oh:
                        for x in range(ow):
                            rows[a, x] = dv[n, o, y * ow + x]
                    else:
                        rows[a, :] = 0
                t0 = b * th * tw + tp * tw
                for tq in range(tw):
                    t = t0 + tq
                    p0, p1 = rows[0, 2 * tq], rows[0, 2 * tq + 1]
                    q0, q1 = rows[1, 2 * tq], rows[1, 2 * tq + 1]
                    # A dY has rows (p, p + q, p - q, -q); each row (a0, a1) times A^T gives
                    # (a0, a0 + a1, a0 - a1, -a1)
                    r0, r1 = p0 + q0, p1 + q1
                    m0, m1 = p0 - q0, p1 - q1
                    dM[0, ot + t] = p0
                    dM[1, ot + t] = p0 + p1
                    dM[2, ot + t] = p0 - p1
                    dM[3, ot + t] = -p1
                    dM[4, ot + t] = r0
                    dM[5, ot + t] = r0 + r1
                    dM[6, ot + t] = r0 - r1
                    dM[7, ot + t] = -r1
                    dM[8, ot + t] = m0
                    dM[9, ot + t] = m0 + m1
                    dM[10, ot + t] = m0 - m1
                    dM[11, ot + t] = -m1
                    dM[12, ot + t] = -q0
                    dM[13, ot + t] = -q0 - q1
                    dM[14, ot + t] = q1 - q0
                    dM[15, ot + t] = q1


@kernel(fastmath=FAST)
def grad_input_tiles(dV, du, n0, nb, H, W, pt, pl, th, tw):
    """du[n0 + b, c] = sum over tiles of B dV_t B^T, placed at the tile (overlaps add up).

    Tiles are added in order into a padded plane buffer, then its interior is copied out.
    """
    C = du.shape[1]
    wp = 2 * tw + 2
    plane = np.empty((2 * th + 2, wp), dV.dtype)
    for c in range(C):
        for b in range(nb):
            n = n0 + b
            ct = c * nb * th * tw  # this plane's tiles in the rows of the tile matrix
            plane[:, :] = 0
            for tp in range(th):
                t0 = b * th * tw + tp * tw
                y = 2 * tp
                for tq in range(tw):
                    t = t0 + tq
                    x = 2 * tq
                    # P = dV B^T, row k:  (d0, d1 - d2 + d3, d1 + d2 - d0, -d3)
                    p00 = dV[0, ct + t]
                    p01 = dV[1, ct + t] - dV[2, ct + t] + dV[3, ct + t]
                    p02 = dV[1, ct + t] + dV[2, ct + t] - dV[0, ct + t]
                    p03 = -dV[3, ct + t]
                    p10 = dV[4, ct + t]
                    p11 = dV[5, ct + t] - dV[6, ct + t] + dV[7, ct + t]
                    p12 = dV[5, ct + t] + dV[6, ct + t] - dV[4, ct + t]
                    p13 = -dV[7, ct + t]
                    p20 = dV[8, ct + t]
                    p21 = dV[9, ct + t] - dV[10, ct + t] + dV[11, ct + t]
                    p22 = dV[9, ct + t] + dV[10, ct + t] - dV[8, ct + t]
                    p23 = -dV[11, ct + t]
                    p30 = dV[12, ct + t]
                    p31 = dV[13, ct + t] - dV[14, ct + t] + dV[15, ct + t]
                    p32 = dV[13, ct + t] + dV[14, ct + t] - dV[12, ct + t]
                    p33 = -dV[15, ct + t]
                    # B P: the same combination down each column, added into the plane
                    plane[y, x] += p00
                    plane[y, x + 1] += p01
                    plane[y, x + 2] += p02
                    plane[y, x + 3] += p03
                    plane[y + 1, x] += p10 - p20 + p30
                    plane[y + 1, x + 1] += p11 - p21 + p31
                    plane[y + 1, x + 2] += p12 - p22 + p32
                    plane[y + 1, x + 3] += p13 - p23 + p33
                    plane[y + 2, x] += p10 + p20 - p00
                    plane[y + 2, x + 1] += p11 + p21 - p01
                    plane[y + 2, x + 2] += p12 + p22 - p02
                    plane[y + 2, x + 3] += p13 + p23 - p03
                    plane[y + 3, x] -= p30
                    plane[y + 3, x + 1] -= p31
                    plane[y + 3, x + 2] -= p32
                    plane[y + 3, x + 3] -= p33
            for yy in range(H):
                for xx in range(W):
                    du[n, c, yy * W + xx] = plane[yy + pt, xx + pl]


# -- driver: one slice of the batch per call (``conv_pool``) ---------------------------------
@kernel
def _weight_tiles(k, G, t, U):
    """U[4*x + y, p] = (G k_p G^T)[x, y] for the 3x3 kernels k_p = k[p] (p = o*C + c).

    Two separable passes: t = k_p G^T (3x4, into scratch ``t``), then each of the 16 planes
    of U in turn, so that the writes are one contiguous stream at a time.
    """
    for p in range(k.shape[0]):
        for i in range(3):
            for y in range(4):
                t[p, 4 * i + y] = (k[p, 3 * i] * G[y, 0] + k[p, 3 * i + 1] * G[y, 1]
                                   + k[p, 3 * i + 2] * G[y, 2])
    for x in range(4):
        for y in range(4):
            for p in range(k.shape[0]):
                U[4 * x + y, p] = G[x, 0] * t[p, y] + G[x, 1] * t[p, 4 + y] + G[x, 2] * t[p, 8 + y]


@kernel
def _weight_grad(dU, G, s, dk):
    """dk[p] = G^T dU_p G with dU_p[x, y] = dU[4*x + y, p]: the adjoint of the above.

    First s = dU_p G (4x3, scratch), reading the 16 planes of dU one at a time, then G^T s.
    """
    s[:, :] = 0
    for x in range(4):
        for y in range(4):
            for p in range(dk.shape[0]):
                d = dU[4 * x + y, p]
                for j in range(3):
                    s[p, 3 * x + j] += d * G[y, j]
    for p in range(dk.shape[0]):
        for i in range(3):
            for j in range(3):
                dk[p, 3 * i + j] = (G[0, i] * s[p, j] + G[1, i] * s[p, 3 + j]
                                    + G[2, i] * s[p, 6 + j] + G[3, i] * s[p, 9 + j])


def weight_tiles(k: np.ndarray) -> np.ndarray:
    """U (16, Co, C) = G k G^T per (o, c), entries e = 4*xi + nu (caller-thread scratch)."""
    co, c = k.shape[:2]
    U = ws.rows("wino_u", 16, co * c, k.dtype)
    t = ws.get("wino_t", (co * c, 12), k.dtype)
    _weight_tiles(np.ascontiguousarray(k).reshape(co * c, 9), _G.astype(k.dtype), t, U)
    return _matrices(U, co, c)


def weight_grad(dU: np.ndarray) -> np.ndarray:
    """dk (Co, C, 3, 3) = G^T dU G per (o, c): the adjoint of ``weight_tiles``."""
    co, c = dU.shape[1:]
    dk = np.empty((co, c, 3, 3), dU.dtype)
    s = ws.get("wino_t", (co * c, 12), dU.dtype)
    _weight_grad(np.ascontiguousarray(dU).reshape(16, co * c), _G.astype(dU.dtype), s,
                 dk.reshape(co * c, 9))
    return dk


def _matrices(buf: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The (16, rows, cols) matrices inside a (16, S) tile buffer from ``ws.rows``."""
    return buf[:, :rows * cols].reshape(16, rows, cols)


def _tiles(oh: int, ow: int) -> tuple[int, int]:
    return (oh + 1) // 2, (ow + 1) // 2


def forward_slice(n0: int, nb: int, u, U, dims: tuple, bias, has_bias: bool, v) -> None:
    """v[n0:n0+nb] (N, Co, OH*OW) = conv(u, k) (+ bias), k given as U = weight_tiles(k).

    ``dims = (H, W, OH, OW, pad_top, pad_left)``; u (N, C, H*W) C-contiguous.
    """
    co, c = U.shape[1:]
    H, W, oh, ow, pt, pl = dims
    th, tw = _tiles(oh, ow)
    tt = th * tw
    for m0, mb in chunks(n0, nb, 16 * (c + co) * tt * u.itemsize, CHUNK_BYTES):
        V = ws.rows("wino_v", 16, c * mb * tt, u.dtype)
        M = ws.rows("wino_m", 16, co * mb * tt, u.dtype)
        input_tiles(u, V, m0, mb, H, W, pt, pl, th, tw)
        np.matmul(U, _matrices(V, c, mb * tt), out=_matrices(M, co, mb * tt))
        output_tiles(M, v, m0, mb, oh, ow, th, tw, bias, has_bias)


def backward_slice(n0: int, nb: int, u, U, dv, dims: tuple, du, need_k: bool):
    """The gradients of ``forward_slice`` for images n0 .. n0+nb-1 and output gradient dv.

    Fills du[n0:n0+nb] (N, C, H*W) if du is given; returns this slice's dU (16, Co, C)
    if need_k (``weight_grad`` of the sum over slices is dk), else None.
    """
    co, c = U.shape[1:]
    H, W, oh, ow, pt, pl = dims
    th, tw = _tiles(oh, ow)
    tt = th * tw
    dU = np.zeros((16, co, c), u.dtype) if need_k else None
    part = np.empty((16, co, c), u.dtype) if need_k else None
    for m0, mb in chunks(n0, nb, 16 * (c + co) * tt * u.itemsize, CHUNK_BYTES):
        V = ws.rows("wino_v", 16, c * mb * tt, u.dtype)
        dM = ws.rows("wino_m", 16, co * mb * tt, u.dtype)
        grad_output_tiles(dv, dM, m0, mb, oh, ow, th, tw)
        if need_k:
            input_tiles(u, V, m0, mb, H, W, pt, pl, th, tw)
            np.matmul(_matrices(dM, co, mb * tt), _matrices(V, c, mb * tt).transpose(0, 2, 1),
                      out=part)
            dU += part
        if du is not None:  # V is free again: it receives dV
            np.matmul(U.transpose(0, 2, 1), _matrices(dM, co, mb * tt),
                      out=_matrices(V, c, mb * tt))
            grad_input_tiles(V, du, m0, mb, H, W, pt, pl, th, tw)
    return dU
