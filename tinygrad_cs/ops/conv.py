"""Convolutions, as in ``torch.nn.functional``: conv1d, conv2d and conv_transpose2d (NCHW).

conv2d: x (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out,) ->

    out[n, o, p, q] = bias[o] + sum_{c, i, j} weight[o, c, i, j]
                                 * x[n, g*C_in/groups + c, p*sH - padT + i*dH, q*sW - padL + j*dW]

with ``g = o // (C_out/groups)``, x read as 0 outside the image, and
``OH = floor((H + padT + padB - dH*(kH-1) - 1) / sH) + 1`` (likewise OW). ``groups=C_in``
is a depthwise convolution. conv1d is the case H = 1. conv_transpose2d, with weight
(C_in, C_out/groups, kH, kW), is the adjoint of conv2d in its input: it spreads each input
pixel over a kernel-sized patch of the output, of size
``OH = (H - 1)*sH - 2*padH + dH*(kH-1) + output_padding + 1``.

Backward (``kernels/conv_compute.py`` holds the math): d/dx is the adjoint of the op in
its input, d/dweight a correlation of the input with the output gradient, d/dbias the
output gradient summed over (n, p, q). They run as raw kernels, so these ops are
``once_differentiable``: there is no double backward through a convolution.
"""
from __future__ import annotations

import numpy as np

from ..engine import Function
from ..kernels import conv_compute as compute
from ..kernels.conv_compute import Geometry
from ._util import raw, shape_of
from .movement import squeeze, unsqueeze

__all__ = ["conv1d", "conv2d", "conv_transpose2d"]


class Conv2dFn(Function):
    """out = conv2d(x, weight) + bias;  grads (dx, dweight, dbias), each only if needed."""

    name = "conv2d"
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, weight, bias, geometry):
        ctx.save_for_backward(x, weight)
        ctx.geometry = geometry
        return compute.forward(x, weight, geometry, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        return compute.backward(x, weight, grad, ctx.geometry, need_x, need_w, need_b)


class Conv1dFn(Function):
    """conv2d on (N, C, 1, L) views of x (N, C, L) and weight (C_out, C_in/groups, 1, k)."""

    name = "conv1d"
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, weight, bias, geometry):
        ctx.save_for_backward(x, weight)
        ctx.geometry = geometry
        return compute.forward(x[:, :, None], weight[:, :, None], geometry, bias)[:, :, 0]

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        dx, dw, db = compute.backward(x[:, :, None], weight[:, :, None], grad[:, :, None],
                                      ctx.geometry, need_x, need_w, need_b)
        return (None if dx is None else dx[:, :, 0]), (None if dw is None else dw[:, :, 0]), db


class ConvTranspose2dFn(Function):
    """out = conv_transpose2d(x, weight) + bias: the adjoint of conv2d in its input."""

    name = "conv_transpose2d"
    once_differentiable = True

    @staticmethod
    def forward(ctx, x, weight, bias, geometry, out_hw):
        ctx.save_for_backward(x, weight)
        ctx.geometry = geometry
        return compute.adjoint(x, weight, geometry, out_hw, bias)

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        return compute.adjoint_backward(x, weight, grad, ctx.geometry, need_x, need_w, need_b)


# -- argument checks ----------------------------------------------------------------------
def _ints(value, n: int, what: str, op: str, low: int) -> tuple:
    """An int or a sequence of ``n`` ints, each >= low, as an n-tuple."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(items) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  for v in items):
        raise ValueError(f"{op}: {what} must be an int or a sequence of {n} ints, got {value!r}")
    if any(v < low for v in items):
        bound = "positive" if low == 1 else "non-negative"
        raise ValueError(f"{op}: {what} must be {bound}, got {value!r}")
    return tuple(int(v) for v in items)


def _check_dtypes(op: str, x, weight, bias) -> None:
    dt = np.asarray(raw(x)).dtype
    if dt not in (np.float32, np.float64):
        raise TypeError(f"{op}: input must be float32 or float64, got {dt}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and np.asarray(raw(t)).dtype != dt:
            raise TypeError(f"{op}: input ({dt}) and {name} ({np.asarray(raw(t)).dtype}) "
                            "must have the same dtype")


def _check_bias(op: str, bias, channels: int) -> None:
    if bias is not None and shape_of(bias) != (channels,):
        raise RuntimeError(f"{op}: expected bias of shape ({channels},) (one per output "
                           f"channel), got {shape_of(bias)}")


def _check_groups(op: str, groups) -> int:
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return int(groups)


def _conv_geometry(op: str, x_shape: tuple, w_shape: tuple, stride, padding, dilation,
                   groups, nd: int) -> Geometry:
    """Check a conv1d/conv2d call (spatial dims ``nd``) and return its 2-D geometry."""
    stride = _ints(stride, nd, "stride", op, 1)
    dilation = _ints(dilation, nd, "dilation", op, 1)
    groups = _check_groups(op, groups)
    c_out, c_in_g, *ks = w_shape
    c_in = x_shape[1]
    if c_out % groups:
        raise RuntimeError(f"{op}: groups={groups} must divide the output channels "
                           f"(weight shape {w_shape})")
    if c_in != c_in_g * groups:
        raise RuntimeError(
            f"{op}: input of shape {x_shape} has {c_in} channels, but weight of shape "
            f"{w_shape} with groups={groups} expects {c_in_g * groups} "
            f"(= weight.shape[1] * groups)")
    spans = [d * (k - 1) + 1 for d, k in zip(dilation, ks)]
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * nd
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError(f"{op}: padding='same' is not supported for strided "
                                   f"convolutions (stride={stride})")
            pads = [((s - 1) // 2, (s - 1) - (s - 1) // 2) for s in spans]  # extra on the right
        else:
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of "
                             "'valid', 'same'")
    else:
        pads = [(p, p) for p in _ints(padding, nd, "padding", op, 0)]
    padded = [n + a + b for n, (a, b) in zip(x_shape[2:], pads)]
    if any(s > p for s, p in zip(spans, padded)):
        raise RuntimeError(
            f"{op}: kernel size {tuple(ks)} (spanning {tuple(spans)} with dilation "
            f"{dilation}) can't be greater than the padded input size {tuple(padded)} "
            f"(input shape {x_shape}, padding {padding!r})")
    if nd == 1:
        return Geometry(1, stride[0], 0, 0, *pads[0], 1, dilation[0], groups)
    return Geometry(stride[0], stride[1], *pads[0], *pads[1], dilation[0], dilation[1], groups)


def _conv(fn, op: str, nd: int, input, weight, bias, stride, padding, dilation, groups):
    x_shape, w_shape = shape_of(input), shape_of(weight)
    if len(x_shape) not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                           f"input, got shape {x_shape}")
    if len(w_shape) != nd + 2:
        raise RuntimeError(f"{op}: expected a {nd + 2}-D weight (C_out, C_in/groups, "
                           f"{'kL' if nd == 1 else 'kH, kW'}), got shape {w_shape}")
    _check_dtypes(op, input, weight, bias)
    unbatched = len(x_shape) == nd + 1
    if unbatched:
        x_shape = (1,) + x_shape
    geometry = _conv_geometry(op, x_shape, w_shape, stride, padding, dilation, groups, nd)
    _check_bias(op, bias, w_shape[0])
    if unbatched:
        return squeeze(fn.apply(unsqueeze(input, 0), weight, bias, geometry=geometry), 0)
    return fn.apply(input, weight, bias, geometry=geometry)


# -- public functions ---------------------------------------------------------------------
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of ``input`` (N, C_in, H, W) or (C_in, H, W) with ``weight``
    (C_out, C_in/groups, kH, kW): out (N, C_out, OH, OW) (see the module docstring).

    ``stride``, ``padding``, ``dilation``: an int or an (h, w) pair; ``padding`` may also
    be ``'valid'`` (none) or ``'same'`` (output size = input size; stride 1 only, any odd
    extra padding on the bottom/right). ``groups``: channels split into that many
    independent convolutions (``groups = C_in``: depthwise).
    """
    return _conv(Conv2dFn, "conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution of ``input`` (N, C_in, L) or (C_in, L) with ``weight``
    (C_out, C_in/groups, k): out (N, C_out, OL); arguments as in ``conv2d``, one int each."""
    return _conv(Conv1dFn, "conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    """Transposed 2-D convolution of ``input`` (N, C_in, H, W) or (C_in, H, W) with
    ``weight`` (C_in, C_out/groups, kH, kW): out (N, C_out, OH, OW) with
    ``OH = (H - 1)*sH - 2*padH + dH*(kH - 1) + output_padding + 1``.

    The adjoint of ``conv2d`` with the same stride/padding/dilation/groups (the gradient
    of conv2d in its input); ``output_padding`` (< stride or < dilation) adds rows/columns
    on the bottom/right, resolving which input size a strided conv2d came from.
    """
    op = "conv_transpose2d"
    x_shape, w_shape = shape_of(input), shape_of(weight)
    if len(x_shape) not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (unbatched) or 4-D (batched) input, got "
                           f"shape {x_shape}")
    if len(w_shape) != 4:
        raise RuntimeError(f"{op}: expected a 4-D weight (C_in, C_out/groups, kH, kW), got "
                           f"shape {w_shape}")
    _check_dtypes(op, input, weight, bias)
    unbatched = len(x_shape) == 3
    if unbatched:
        x_shape = (1,) + x_shape
    stride = _ints(stride, 2, "stride", op, 1)
    pads = _ints(padding, 2, "padding", op, 0)
    extra = _ints(output_padding, 2, "output_padding", op, 0)
    dilation = _ints(dilation, 2, "dilation", op, 1)
    groups = _check_groups(op, groups)
    c_in, c_out_g, kh, kw = w_shape
    if x_shape[1] != c_in:
        raise RuntimeError(f"{op}: input of shape {x_shape} has {x_shape[1]} channels, but "
                           f"weight of shape {w_shape} expects {c_in} (= weight.shape[0])")
    if c_in % groups:
        raise RuntimeError(f"{op}: groups={groups} must divide the input channels "
                           f"(weight shape {w_shape})")
    if any(e >= s and e >= d for e, s, d in zip(extra, stride, dilation)):
        raise ValueError(f"{op}: output_padding {extra} must be smaller than either stride "
                         f"{stride} or dilation {dilation}")
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1 for n, s, p, d, k, e in
                   zip(x_shape[2:], stride, pads, dilation, (kh, kw), extra))
    if min(out_hw) < 1:
        raise RuntimeError(f"{op}: output size {out_hw} is too small (input shape {x_shape}, "
                           f"weight shape {w_shape}, padding {pads})")
    _check_bias(op, bias, c_out_g * groups)
    geometry = Geometry(stride[0], stride[1], pads[0], pads[0], pads[1], pads[1],
                        dilation[0], dilation[1], groups)
    if unbatched:
        return squeeze(ConvTranspose2dFn.apply(unsqueeze(input, 0), weight, bias,
                                             geometry=geometry, out_hw=out_hw), 0)
    return ConvTranspose2dFn.apply(input, weight, bias, geometry=geometry, out_hw=out_hw)
