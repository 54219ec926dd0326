"""Plain-numpy pooling and nearest resampling: the oracle for ``kernels/pool.py``.

Written for clarity, not speed: each output position is one loop iteration over
explicit window slices of a padded copy of the input (vectorised over N and C), and
every backward is the explicit adjoint of its forward loop. Inputs are
(N, C, H, W) arrays (interpolate: (N, C, *spatial)); results are float64-exact sums cast
back to the input's dtype, and max pooling returns PyTorch's flat ``h * W + w`` indices.
"""
from __future__ import annotations

import math

import numpy as np


def pool_output_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's rule: floor (or ceil) of (n + 2p - d(k-1) - 1) / s, plus one; in ceil
    mode the last window must start inside the input or its left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (math.ceil(span / s) if ceil_mode else math.floor(span / s)) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _padded(x: np.ndarray, pad: tuple, extra: tuple, value: float) -> np.ndarray:
    """x with ``pad`` on both sides of H and W, plus ``extra`` more on the far side."""
    (ph, pw), (eh, ew) = pad, extra
    return np.pad(x, [(0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)], constant_values=value)


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    """(out, indices) of max pooling; padding is -inf, ties go to the first maximum."""
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh = pool_output_size(h, kh, sh, ph, dh, ceil_mode)
    ow = pool_output_size(w, kw, sw, pw, dw, ceil_mode)
    extra = (max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - (h + 2 * ph)),
             max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - (w + 2 * pw)))
    xp = _padded(x.astype(np.float64), padding, extra, -np.inf)
    rows = np.arange(xp.shape[2]) - ph          # input coordinates of padded rows
    cols = np.arange(xp.shape[3]) - pw
    out = np.empty((n, c, oh, ow))
    idx = np.empty((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            r = slice(i * sh, i * sh + (kh - 1) * dh + 1, dh)
            q = slice(j * sw, j * sw + (kw - 1) * dw + 1, dw)
            window = xp[:, :, r, q].reshape(n, c, -1)
            flat = (rows[r][:, None] * w + cols[q][None, :]).reshape(-1)
            inside = ((rows[r][:, None] >= 0) & (rows[r][:, None] < h)
                      & (cols[q][None, :] >= 0) & (cols[q][None, :] < w)).reshape(-1)
            window, flat = window[:, :, inside], flat[inside]
            if not inside.any():  # the window lies in the padding: -inf, as PyTorch
                first_row = i * sh - ph + -(-max(0, ph - i * sh) // dh) * dh
                first_col = j * sw - pw + -(-max(0, pw - j * sw) // dw) * dw
                out[:, :, i, j], idx[:, :, i, j] = -np.inf, first_row * w + first_col
                continue
            best = np.argmax(window, axis=2)  # first maximum
            out[:, :, i, j] = np.take_along_axis(window, best[..., None], 2)[..., 0]
            idx[:, :, i, j] = flat[best]
    return out.astype(x.dtype), idx


def max_pool2d_backward(grad, indices, in_shape):
    """dx: each output's gradient added at its argmax (none for a window in the padding,
    whose index points outside the plane)."""
    n, c, h, w = in_shape
    dx = np.zeros((n * c, h * w))
    g = grad.reshape(n * c, -1).astype(np.float64)
    for p in range(n * c):
        at = indices.reshape(n * c, -1)[p]
        inside = (at >= 0) & (at < h * w)
        np.add.at(dx[p], at[inside], g[p][inside])
    return dx.reshape(in_shape).astype(grad.dtype)


def _avg_windows(x_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                 divisor_override):
    """Per output (i, j): the input slices of its window and its divisor."""
    _, _, h, w = x_shape
    sizes = [pool_output_size(n, k, s, p, 1, ceil_mode)
             for n, k, s, p in zip((h, w), kernel, stride, padding)]
    axes = []
    for n, k, s, p, o in zip((h, w), kernel, stride, padding, sizes):
        spans = []
        for i in range(o):
            start, end = i * s - p, min(i * s - p + k, n + p)  # window clipped to padding
            spans.append((max(start, 0), min(end, n), end - start))
        axes.append(spans)
    windows = {}
    for i, (h0, h1, hp) in enumerate(axes[0]):
        for j, (w0, w1, wp) in enumerate(axes[1]):
            if divisor_override is not None:
                divisor = divisor_override
            elif count_include_pad:
                divisor = hp * wp
            else:
                divisor = (h1 - h0) * (w1 - w0)
            windows[i, j] = (slice(h0, h1), slice(w0, w1), divisor)
    return sizes, windows


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Average pooling with PyTorch's divisor rules."""
    sizes, windows = _avg_windows(x.shape, kernel, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override)
    out = np.zeros(x.shape[:2] + tuple(sizes))
    for (i, j), (r, q, divisor) in windows.items():
        total = x[:, :, r, q].astype(np.float64).sum(axis=(2, 3))
        out[:, :, i, j] = total / divisor if divisor else 0.0
    return out.astype(x.dtype)


def avg_pool2d_backward(grad, in_shape, kernel, stride, padding, ceil_mode,
                        count_include_pad, divisor_override):
    """dx: each output's gradient / divisor spread over its window."""
    _, windows = _avg_windows(in_shape, kernel, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)
    dx = np.zeros(in_shape)
    for (i, j), (r, q, divisor) in windows.items():
        if divisor:
            dx[:, :, r, q] += (grad[:, :, i, j].astype(np.float64) / divisor)[..., None, None]
    return dx.astype(grad.dtype)


def _adaptive_spans(n: int, o: int) -> list:
    return [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]


def adaptive_avg_pool2d(x, output_size):
    """Output (i, j) averages rows [floor(i H / OH), ceil((i+1) H / OH)), likewise columns."""
    (oh, ow), (_, _, h, w) = output_size, x.shape
    out = np.empty(x.shape[:2] + (oh, ow))
    for i, (h0, h1) in enumerate(_adaptive_spans(h, oh)):
        for j, (w0, w1) in enumerate(_adaptive_spans(w, ow)):
            out[:, :, i, j] = x[:, :, h0:h1, w0:w1].astype(np.float64).mean(axis=(2, 3))
    return out.astype(x.dtype)


def adaptive_avg_pool2d_backward(grad, in_shape):
    _, _, oh, ow = grad.shape
    dx = np.zeros(in_shape)
    for i, (h0, h1) in enumerate(_adaptive_spans(in_shape[2], oh)):
        for j, (w0, w1) in enumerate(_adaptive_spans(in_shape[3], ow)):
            share = grad[:, :, i, j].astype(np.float64) / ((h1 - h0) * (w1 - w0))
            dx[:, :, h0:h1, w0:w1] += share[..., None, None]
    return dx.astype(grad.dtype)


def nearest_source(n_in: int, n_out: int, scale=None, exact: bool = False) -> np.ndarray:
    """PyTorch's nearest source index per output position (float32 arithmetic, as its C++).

    'nearest': identity when sizes match, dst // 2 when doubling, else
    min(floor(dst * s), n_in - 1) with s = 1 / scale (if given) or n_in / n_out;
    'nearest-exact': min(floor((dst + 0.5) * s), n_in - 1).
    """
    out = []
    s = np.float32(1.0 / scale) if scale else np.float32(n_in) / np.float32(n_out)
    for dst in range(n_out):
        if exact:
            src = int(np.floor(np.float32((dst + 0.5) * float(s))))
        elif n_out == n_in:
            src = dst
        elif n_out == 2 * n_in:
            src = dst // 2
        else:
            src = int(np.floor(np.float32(dst) * s))
        out.append(min(src, n_in - 1))
    return np.array(out, dtype=np.int64)


def interpolate_nearest(x, sources):
    """out = x indexed by one source-index array per spatial axis."""
    return x[(Ellipsis, *np.ix_(*sources))]


def interpolate_nearest_backward(grad, sources, in_shape):
    """dx: each output's gradient added to its source element."""
    dx = np.zeros(in_shape)
    np.add.at(dx, (Ellipsis, *np.ix_(*sources)), grad.astype(np.float64))
    return dx.astype(grad.dtype)
