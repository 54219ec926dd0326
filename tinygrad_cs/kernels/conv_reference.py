"""Plain-numpy convolutions: the test oracle for ``kernels/conv.py`` and ``conv_compute``.

Written from the definitions, independently of the kernels (no im2col, no chunks):

    conv2d:  out[n, o, p, q] = sum_{c, i, j} w[o, c, i, j] * xpad[n, g*C/G + c,
                                                                p*sh + i*dh, q*sw + j*dw]

with ``xpad`` the input zero-padded by (top, bottom, left, right) and ``g = o // (Co/G)``;
windows come from ``sliding_window_view`` and the sum is one ``einsum``. The gradients:

    dw[o, c, i, j] = sum_{n, p, q} dout[n, o, p, q] * xpad[n, ..., p*sh + i*dh, q*sw + j*dw]
    dxpad[n, c, p*sh + i*dh, q*sw + j*dw] += sum_o w[o, c, i, j] * dout[n, o, p, q]

(the second a scatter-add, one strided slice per (i, j)), then cropped to the input.
``conv_transpose2d`` is the same scatter-add applied to its input: its forward is the
input gradient of a conv2d, and its gradients are conv2d's forward and weight gradient.
Padding is always the 4-tuple (top, bottom, left, right) here; ``padding4`` turns
PyTorch's spellings (an int, a pair, ``'valid'``, ``'same'``) into it.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def padding4(padding, kernel: tuple, dilation: tuple) -> tuple:
    """(top, bottom, left, right) for conv2d's ``padding`` argument.

    ``'same'`` pads ``d*(k-1)`` in total per axis, half on each side, the odd extra on
    the bottom/right (as ``torch.nn.functional.conv2d``); ``'valid'`` pads nothing.
    """
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (totals[0] // 2, totals[0] - totals[0] // 2,
                totals[1] // 2, totals[1] - totals[1] // 2)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return ph, ph, pw, pw


def _windows(x, kh, kw, stride, padding, dilation):
    """(N, C, OH, OW, kh, kw) view of the padded input's receptive fields."""
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    win = sliding_window_view(xp, (span_h, span_w), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw]


def conv2d(x, w, bias=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """out (N, Co, OH, OW) = conv2d of x (N, C, H, W) with w (Co, C/groups, kh, kw)."""
    n = x.shape[0]
    co, cg, kh, kw = w.shape
    win = _windows(x, kh, kw, stride, padding, dilation)
    oh, ow = win.shape[2:4]
    win = win.reshape(n, groups, cg, oh, ow, kh, kw)
    wg = w.reshape(groups, co // groups, cg, kh, kw)
    out = np.einsum("ngcpqij,gocij->ngopq", win, wg).reshape(n, co, oh, ow)
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out


def conv2d_weight_grad(x, dout, w_shape, stride=(1, 1), padding=(0, 0, 0, 0),
                       dilation=(1, 1), groups=1):
    """dw (Co, C/groups, kh, kw) of sum(dout * conv2d(x, w))."""
    n = x.shape[0]
    co, cg, kh, kw = w_shape
    win = _windows(x, kh, kw, stride, padding, dilation)
    oh, ow = win.shape[2:4]
    win = win.reshape(n, groups, cg, oh, ow, kh, kw)
    dg = dout.reshape(n, groups, co // groups, oh, ow)
    return np.einsum("ngcpqij,ngopq->gocij", win, dg).reshape(w_shape)


def conv2d_input_grad(dout, w, x_shape, stride=(1, 1), padding=(0, 0, 0, 0),
                      dilation=(1, 1), groups=1):
    """dx (x_shape) of sum(dout * conv2d(x, w)): scatter-add, then crop the padding."""
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    n, c, h, wd = x_shape
    co, cg, kh, kw = w.shape
    oh, ow = dout.shape[2:]
    dg = dout.reshape(n, groups, co // groups, oh, ow)
    wg = w.reshape(groups, co // groups, cg, kh, kw)
    dxp = np.zeros((n, groups, cg, h + pt + pb, wd + pl + pr),
                   np.result_type(dout, w))
    for i in range(kh):
        for j in range(kw):
            contrib = np.einsum("ngopq,goc->ngcpq", dg, wg[..., i, j])
            dxp[..., i * dh:i * dh + sh * (oh - 1) + 1:sh,
                j * dw:j * dw + sw * (ow - 1) + 1:sw] += contrib
    return dxp.reshape(n, c, h + pt + pb, wd + pl + pr)[:, :, pt:pt + h, pl:pl + wd]


def conv_transpose2d(x, w, bias=None, stride=(1, 1), padding=(0, 0, 0, 0), output_padding=(0, 0),
                     dilation=(1, 1), groups=1):
    """out (N, Cout, Hout, Wout) for x (N, Cin, H, W), w (Cin, Cout/groups, kh, kw):

    Hout = (H - 1)*sh - pt - pb + dh*(kh - 1) + output_padding + 1 (likewise Wout).
    """
    (sh, sw), (pt, pb, pl, pr), (dh, dw) = stride, padding, dilation
    n, _, h, wd = x.shape
    _, cg, kh, kw = w.shape
    hout = (h - 1) * sh - pt - pb + dh * (kh - 1) + output_padding[0] + 1
    wout = (wd - 1) * sw - pl - pr + dw * (kw - 1) + output_padding[1] + 1
    out = conv2d_input_grad(x, w, (n, cg * groups, hout, wout), stride, padding, dilation,
                            groups)
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out
