"""Direct 3x3 stride-1 'same' convolution (padding 1, one group) for small channel counts.

Notation of ``kernels/conv.py``: ``v = conv(u, k)`` with ``u (N, C, H, W)``, ``k (Co, C, 3,
3)``, ``v (N, Co, H, W)`` and

    v[n, o, p, q] = sum_{c, i, j} k[o, c, i, j] * u[n, c, p + i - 1, q + j - 1]   (0 outside)

Tall planes. A chunk of ``m`` images is copied into a zero-padded scratch ``xs (C, P)``,
the images stacked vertically with one zero row above, between and below them, rows of
length ``wp = W + 1`` (image b's row h at tall row ``1 + b*(H+1) + h``, columns 1..W;
column 0 is zero and serves as the left padding of its row and the right padding of the
row before). Outputs are computed on *wide* rows of the same length: wide position
``t = r*wp + q`` reads tap ``(i, j)`` at ``xs[c, t + i*wp + j]``, so each tap is one
contiguous shifted run over the whole chunk, whatever ``W`` is. Image b's output row p
is wide row ``b*(H+1) + p``; the junk column ``q = W`` and the separator rows are
computed and dropped (6% extra work at 32x32, 27% at 8x8). Rows of ``W + 2`` (a zero
column each side) ran 6-10% slower at 32x32 and 8x8 (one thread).

Forward (``forward``): for each pair of output channels and each input channel, one
vectorised pass over the wide rows does 18 multiply-adds per pixel with the 18 weights in
registers; each input value is loaded once for both outputs, each accumulator loaded and
stored once per 9 taps. (Four output channels per pass ran 8x slower: LLVM then reloads
the weights inside the loop; channel counts are padded to even with zero weights.) The
input gradient is the same convolution of ``dv`` with the weights flipped and transposed,
``kt[c, o, i, j] = k[o, c, 2-i, 2-j]``::

    du[n, c, h, x] = sum_{o, i, j} kt[c, o, i, j] * dv[n, o, h + i - 1, x + j - 1]

Weight gradient (``weight_grad_slice``), a reduction over pixels: with ``dvw`` the output
gradient on the tall wide rows (junk entries zero),

    dk[o, c, i, j] = sum_t dvw[o, t] * xs[c, t + i*wp + j]

is, per tap, a GEMM ``dvw (Co, n) @ xs[:, off:off+n]^T`` whose right factor is a strided
view of the padded planes (no im2col copy); the nine go to numpy as one batched call, so
that each worker holds the GIL for one Python call per piece rather than nine (one
thread: 2.4 -> 2.2 ms for 16 channels at 32x32, batch 32). A direct blocked kernel for it
(18 partial-sum rows per output pair, four planes per pass) took 1.2-2.5x the Winograd
weight gradient's time; the GEMMs beat it.

Sums run in a fixed order (no ``reassoc``), so results are bit-identical between runs;
the forward and input gradient compute each output pixel from its own image alone, so
they do not depend on how the batch is sliced among threads either. Arrays are
C-contiguous and share one float dtype.

Where it is used: ``conv_compute.use_direct3x3`` sends it shapes with at most
``DIRECT3X3_MAX_PAIRS`` = 256 channel pairs C * Co. The threshold, from in-process A/B runs (old path and direct path alternating, median of 21
(1 thread) or 31 (2 threads), float32, batch 32 (8 at 64x64); "f+b" = forward, then
backward with du, dk and db), 2026-12-07, one run on the shared 2-core machine while
other jobs kept its load average at 2.2-2.5: old ms -> new ms (one thread: CPU time;
two threads: wall time)::

    C->Co @HxW (old path)  fwd, 1 thread  f+b, 1 thread  fwd, 2 threads f+b, 2 threads
    16->16 @32 (Winograd)  2.49 -> 1.77   7.03 -> 5.71   1.41 -> 1.03   3.78 -> 3.19
    3->16  @32 (GEMM)      0.69 -> 0.49   2.62 -> 2.12   0.43 -> 0.31   1.75 -> 1.45
    8->8   @32 (Winograd)  1.20 -> 0.56   3.21 -> 1.97   0.69 -> 0.35   1.83 -> 1.22
    32->8  @32 (Winograd)  3.03 -> 1.79   9.08 -> 5.86
    8->32  @32 (Winograd)  2.90 -> 1.85   7.33 -> 6.04
    4->64  @16 (Winograd)  1.39 -> 0.64   3.08 -> 2.14
    16->16 @16 (Winograd)  0.72 -> 0.52   2.00 -> 1.67
    16->16 @8  (Winograd)  0.21 -> 0.15   0.57 -> 0.51
    16->16 @64 (Winograd)  2.59 -> 1.69   7.20 -> 5.59
    1->16  @32 (GEMM)      0.46 -> 0.27   1.52 -> 1.28
    16->24 @32 (Winograd)  2.95 -> 2.43   8.41 -> 7.95
    24->24 @32 (Winograd)  3.89 -> 3.53  11.15 -> 13.25
    16->32 @16 (Winograd)  1.05 -> 0.90   2.86 -> 3.27
    32->32 @16 (Winograd)  1.69 -> 1.73   4.62 -> 6.04   0.93 -> 0.98   2.54 -> 3.38
    64->64 @8  (Winograd)  1.33 -> 1.92   3.73 -> 5.91   0.79 -> 1.14   3.82 -> 6.05

At 384 pairs (16->24, 24->16, 12->32, 32->12) f+b took 0.87-0.99x the old time across
runs: too close to call on a shared machine, so they stay on Winograd. The direct
kernels run near this machine's 256-bit FMA peak; past that, Winograd's 2.25x fewer
multiplications pay for its transforms (the weight and input gradients lose first).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import conv_workspace as ws
from ._jit import kernel
from .conv import channel_sums

U = np.uint64
FAST = {"contract"}  # no "reassoc": every compilation adds in one order (sums.py)
#: Bytes of tall scratch planes per chunk of images (per worker). Measured, one thread, 16
#: channels at 32x32, batch 32: forward 1.63 ms at 512 KiB-1 MiB, 1.75 ms at 64 KiB or
#: 2 MiB; weight gradient 2.0 ms at 512 KiB, 3.8 ms at 1-2 MiB.
CHUNK_BYTES = 1 << 19
#: Columns (pixels) per weight-gradient GEMM. Measured, 16 channels, one thread, batch 8 of
#: 64x64: unsplit (4160 per image) 3.4-3.6 ms, pieces of 2048 1.8 ms, of 512 2.6 ms; at
#: 32x32 the piece size made no difference beyond the noise of a shared machine.
GEMM_COLUMNS = 2048


@kernel
def _pad_tall(u, n0, m, H, W, xs):
    """xs[c] = planes u[n0 .. n0+m-1, c] stacked in zeros: image b's row h at tall row
    1 + b*(H+1) + h, columns 1..W of rows of length W + 1 (module docstring)."""
    wp = W + 1
    xs[:, :] = 0
    for c in range(u.shape[1]):
        for b in range(m):
            for h in range(H):
                row = (1 + b * (H + 1) + h) * wp + 1
                for x in range(W):
                    xs[c, U(row + x)] = u[n0 + b, c, U(h * W + x)]


@kernel
def _wide_tall(v, n0, m, H, W, wide):
    """wide[o] = planes v[n0 .. n0+m-1, o] on the tall wide rows (image b's row p at row
    b*(H+1) + p, length W + 1); junk column, separator rows and rows o >= Co zero."""
    wp = W + 1
    wide[:, :] = 0
    for o in range(v.shape[1]):
        for b in range(m):
            for p in range(H):
                row = (b * (H + 1) + p) * wp
                for q in range(W):
                    wide[o, U(row + q)] = v[n0 + b, o, U(p * W + q)]


@kernel(fastmath=FAST)
def _pair_taps(xs, k, o, c, acc, wp, n):
    """acc[o + d, t] += sum_{i, j} k[o + d, c, i, j] * xs[c, t + i*wp + j], d = 0, 1, t < n."""
    a0, a1, a2 = k[o, c, 0, 0], k[o, c, 0, 1], k[o, c, 0, 2]
    a3, a4, a5 = k[o, c, 1, 0], k[o, c, 1, 1], k[o, c, 1, 2]
    a6, a7, a8 = k[o, c, 2, 0], k[o, c, 2, 1], k[o, c, 2, 2]
    b0, b1, b2 = k[o + 1, c, 0, 0], k[o + 1, c, 0, 1], k[o + 1, c, 0, 2]
    b3, b4, b5 = k[o + 1, c, 1, 0], k[o + 1, c, 1, 1], k[o + 1, c, 1, 2]
    b6, b7, b8 = k[o + 1, c, 2, 0], k[o + 1, c, 2, 1], k[o + 1, c, 2, 2]
    r1, r2 = wp, 2 * wp
    for t in range(n):
        x0, x1, x2 = xs[c, U(t)], xs[c, U(t + 1)], xs[c, U(t + 2)]
        x3, x4, x5 = xs[c, U(t + r1)], xs[c, U(t + r1 + 1)], xs[c, U(t + r1 + 2)]
        x6, x7, x8 = xs[c, U(t + r2)], xs[c, U(t + r2 + 1)], xs[c, U(t + r2 + 2)]
        s = acc[o, U(t)]
        s += a0 * x0
        s += a1 * x1
        s += a2 * x2
        s += a3 * x3
        s += a4 * x4
        s += a5 * x5
        s += a6 * x6
        s += a7 * x7
        s += a8 * x8
        acc[o, U(t)] = s
        s = acc[o + 1, U(t)]
        s += b0 * x0
        s += b1 * x1
        s += b2 * x2
        s += b3 * x3
        s += b4 * x4
        s += b5 * x5
        s += b6 * x6
        s += b7 * x7
        s += b8 * x8
        acc[o + 1, U(t)] = s


@kernel(fastmath=FAST)
def forward(u, k, v, n0, nb, H, W, bias, m, xs, acc):
    """v[n] = conv(u[n], k) + bias for images n0 .. n0+nb-1, in tall chunks of m images.

    u (N, C, H*W), k (Co2, C, 3, 3) with Co2 even (rows past Co zero), bias (Co2,),
    v (N, Co, H*W) overwritten; scratch xs (C, >= tall_sizes(m, H, W)[0]),
    acc (Co2, >= tall_sizes(m, H, W)[1]).
    """
    C, co = u.shape[1], v.shape[1]
    wp = W + 1
    for m0 in range(n0, n0 + nb, m):
        used = min(m, n0 + nb - m0)
        n_wide = (used * (H + 1) - 1) * wp
        _pad_tall(u, m0, used, H, W, xs)
        for o in range(0, k.shape[0], 2):
            for t in range(n_wide):
                acc[o, t] = bias[o]
                acc[o + 1, t] = bias[o + 1]
            for c in range(C):
                _pair_taps(xs, k, o, c, acc, wp, n_wide)
        for b in range(used):
            for o in range(co):
                for p in range(H):
                    row = (b * (H + 1) + p) * wp
                    for q in range(W):
                        v[m0 + b, o, U(p * W + q)] = acc[o, U(row + q)]


@kernel
def stage(u, dv, m0, m, H, W, xs, dvw):
    """Images m0 .. m0+m-1 as tall planes: u padded into xs, dv on wide rows into dvw."""
    _pad_tall(u, m0, m, H, W, xs)
    _wide_tall(dv, m0, m, H, W, dvw)


# -- preparation, and one slice of the batch per call (``conv_pool.map_images``) -----------
def _even_rows(a: np.ndarray) -> np.ndarray:
    """a with a zero row appended along axis 0 if it has an odd number of rows."""
    if a.shape[0] % 2 == 0:
        return np.ascontiguousarray(a)
    return np.concatenate([a, np.zeros((1,) + a.shape[1:], a.dtype)])


def forward_weights(k: np.ndarray, bias) -> tuple[np.ndarray, np.ndarray]:
    """(k2, bias2) for ``forward_slice``: Co padded to even with zero weights and bias."""
    b = np.zeros(k.shape[0], k.dtype) if bias is None else np.asarray(bias, k.dtype)
    return _even_rows(k), _even_rows(b)


def input_grad_weights(k: np.ndarray) -> np.ndarray:
    """kt2 (C2, Co, 3, 3): kt[c, o, i, j] = k[o, c, 2-i, 2-j], C padded to even."""
    return _even_rows(k.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def tall_sizes(m: int, H: int, W: int) -> tuple[int, int]:
    """(padded, wide) lengths of the tall planes of m images of H x W."""
    return (m * (H + 1) + 1) * (W + 1) + 2, (m * (H + 1) - 1) * (W + 1)


def _chunk(nb: int, per_image: int, cap: int) -> int:
    """Images per tall plane: as many as fit in ``cap`` bytes, at least 1, at most nb."""
    return max(1, min(nb, cap // per_image))


def forward_slice(n0: int, nb: int, u, k2, bias2, hw: tuple, v) -> None:
    """v[n0:n0+nb] (N, Co, H*W) = conv(u, k) + bias, (k2, bias2) = ``forward_weights``.

    u (N, C, H*W) C-contiguous. Also the input gradient (``backward_slice``).
    """
    H, W = hw
    c, co2 = u.shape[1], k2.shape[0]
    m = _chunk(nb, (c + co2) * (H + 1) * (W + 1) * u.itemsize, CHUNK_BYTES)
    padded, wide = tall_sizes(m, H, W)
    xs = ws.rows("d3_x", c, padded, u.dtype)
    acc = ws.rows("d3_acc", co2, wide, u.dtype)
    forward(u, k2, v, n0, nb, H, W, bias2, m, xs, acc)


def weight_grad_slice(n0: int, nb: int, u, dv, hw: tuple) -> np.ndarray:
    """This slice's dk (3, 3, Co, C), taps first: per tall chunk, the nine products

        dk[i, j] += dvw (Co, n) @ xs[:, i*wp + j : i*wp + j + n]^T      (C, n)^T

    as one batched GEMM whose right factors are strided views of the padded planes (no
    copies), in pieces of at most ``GEMM_COLUMNS`` pixels.
    """
    H, W = hw
    c, co = u.shape[1], dv.shape[1]
    wp = W + 1
    m = _chunk(nb, (c + co) * (H + 1) * wp * u.itemsize, CHUNK_BYTES)
    padded, wide = tall_sizes(m, H, W)
    xs = ws.rows("d3_x", c, padded, u.dtype)
    dvw = ws.rows("d3_acc", co, wide, u.dtype)
    dk = np.zeros((3, 3, co, c), u.dtype)
    part = np.empty_like(dk)
    step = u.itemsize
    for m0 in range(n0, n0 + nb, m):
        used = min(m, n0 + nb - m0)
        stage(u, dv, m0, used, H, W, xs, dvw)
        n = (used * (H + 1) - 1) * wp
        for t0 in range(0, n, GEMM_COLUMNS):
            t1 = min(n, t0 + GEMM_COLUMNS)
            taps = as_strided(xs[:, t0:], (3, 3, t1 - t0, c),
                              (wp * step, step, step, xs.strides[0]), writeable=False)
            np.matmul(dvw[:, t0:t1], taps, out=part)
            dk += part
    return dk


def backward_slice(n0: int, nb: int, u, kt2, dv, hw: tuple, du, need_k: bool):
    """(dk part (3, 3, Co, C) or None, bias sums (Co,) float64) of images n0 .. n0+nb-1.

    Fills du[n0:n0+nb] = conv(dv, kt) if du is given (kt2 = ``input_grad_weights(k)``).
    """
    sums = np.zeros(dv.shape[1])
    channel_sums(dv, n0, nb, sums)
    if du is not None:
        forward_slice(n0, nb, dv, kt2, np.zeros(kt2.shape[0], dv.dtype), hw, du)
    return (weight_grad_slice(n0, nb, u, dv, hw) if need_k else None), sums
