"""Elementwise ops with numpy broadcasting.

Each backward returns the gradient at the *output's* shape; the engine sums it
back to each input's shape (d/da of a broadcast is a sum over the broadcast dims).
"""
from __future__ import annotations

import numpy as np

from ..engine import Function, Node
from ._util import constant, raw, shape_of

__all__ = ["abs", "add", "clamp", "clamp_max", "clamp_min", "clip", "cos", "div", "elu", "eq", "exp", "ge", "gt", "le", "leaky_relu", "log", "lt", "maximum", "minimum", "mul", "ne", "neg", "pow", "relu", "sigmoid", "sign", "sin", "softplus", "sqrt", "sub", "tanh", "tril", "triu", "where"]


def _broadcast_error(op: str, a, b) -> ValueError:
    return ValueError(f"{op}: shapes {shape_of(a)} and {shape_of(b)} are not broadcastable")


class Add(Function):
    """out = a + b;  da = g, db = g."""
    @staticmethod
    def forward(ctx, a, b):
        try:
            return a + b
        except ValueError:
            raise _broadcast_error("add", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    """out = a - b;  da = g, db = -g."""
    @staticmethod
    def forward(ctx, a, b):
        try:
            return a - b
        except ValueError:
            raise _broadcast_error("sub", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad


class Mul(Function):
    """out = a * b;  da = g * b, db = g * a."""
    input_needed_by = ((1,), (0,))  # a is read only for db, b only for da

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return a * b
        except ValueError:
            raise _broadcast_error("mul", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """out = a / b;  da = g / b, db = -g * a / b**2."""
    input_needed_by = ((1,), (0, 1))  # a for db; b for da and db

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return a / b
        except ValueError:
            raise _broadcast_error("div", a, b) from None

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = grad / b if need_a else None
        gb = -grad * a / (b * b) if need_b else None
        return ga, gb


class Pow(Function):
    """out = a ** b;  da = g * b * a**(b-1), db = g * out * log(a) (0 where a = 0, b >= 0)."""
    @staticmethod
    def forward(ctx, a, b):
        try:
            out = a ** b
        except ValueError:
            raise _broadcast_error("pow", a, b) from None
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            if isinstance(b, (int, float)) and b == 0:
                ga = grad * 0.0
            else:
                ga = grad * b * a ** (b - 1)
        if need_b:
            zero_base = (raw(a) == 0) & (raw(b) >= 0)
            gb = where(zero_base, 0.0, grad * out * log(where(zero_base, 1.0, a)))
        return ga, gb


class Neg(Function):
    """out = -a;  da = -g."""
    @staticmethod
    def forward(ctx, a):
        return -a

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Abs(Function):
    """out = |a|;  da = g * sign(a) (0 at a = 0, as PyTorch)."""
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * np.sign(raw(a))


class Exp(Function):
    """out = e**a;  da = g * out."""
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    """out = ln a;  da = g / a."""
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad / a


class Sqrt(Function):
    """out = sqrt(a);  da = g / (2 out)."""
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2.0 * out)


class Sin(Function):
    """out = sin a;  da = g cos a."""
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * cos(a)


class Cos(Function):
    """out = cos a;  da = -g sin a."""
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return -grad * sin(a)


class TanhFn(Function):
    """out = tanh a;  da = g (1 - out**2)."""
    name = "Tanh"
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1.0 - out * out)


def _sigmoid(a):
    """1 / (1 + e**-a) on raw data, to full relative precision in both tails.

    With e = e**-|a| in (0, 1] nothing overflows: sigmoid(|a|) = 1 / (1 + e) and
    sigmoid(-|a|) = e / (1 + e). (The tanh form (1 + tanh(a/2)) / 2 cancels for a < 0:
    44% off at -17 in float32 and exactly 0 below -17.3, where the true value is 3e-8.)
    """
    e = np.exp(-np.abs(a))
    r = 1.0 / (1.0 + e)
    return np.where(a >= 0, r, e * r)


class SigmoidFn(Function):
    """out = 1 / (1 + e**-a);  da = g out (1 - out), PyTorch's formula.

    For a < 0 the product keeps full relative precision (out is accurate, 1 - out is near 1).
    For a > 9 (float32) out lies within a few ulps of 1, so 1 - out has few correct digits
    (0 from a = 17 on, where the true derivative is 4e-8), but its absolute error stays
    below an ulp of 1, and it is the same 1 - out that a consumer of the rounded output sees:
    in BCELoss(sigmoid(z), 0) the two cancel exactly, as in PyTorch, where the exact
    derivative sigmoid(a) sigmoid(-a) would leave the consumer's error alone (5e-4 off at
    z = 10, and 2061 instead of 0 at z = 20).
    """
    name = "Sigmoid"
    @staticmethod
    def forward(ctx, a):
        out = _sigmoid(a)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1.0 - out)


class ReLUFn(Function):
    """out = max(a, 0);  da = g [a > 0]."""
    name = "ReLU"
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (raw(a) > 0)


class LeakyReLUFn(Function):
    """out = a if a > 0 else slope a;  da = g (1 or slope)."""
    name = "LeakyReLU"
    @staticmethod
    def forward(ctx, a, negative_slope=0.01):
        ctx.save_for_backward(a)
        ctx.negative_slope = negative_slope
        return np.where(a > 0, a, a * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return where(raw(a) > 0, grad, grad * ctx.negative_slope)


class ELUFn(Function):
    """out = a if a > 0 else alpha (e**a - 1);  da = g (1 or alpha e**a).

    alpha e**a, not out + alpha: out rounds to -alpha for a < -17 (float32), where the sum
    would cancel to 0 (PyTorch also takes the derivative from the input)."""
    name = "ELU"
    @staticmethod
    def forward(ctx, a, alpha=1.0):
        ctx.save_for_backward(a)
        ctx.alpha = alpha
        return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0)))

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        positive = raw(a) > 0
        # exp of the negative side only: no overflow warning where the branch is not taken
        return where(positive, grad, grad * (ctx.alpha * exp(where(positive, 0.0, a))))


class SoftplusFn(Function):
    """out = ln(1 + e**(beta a)) / beta, linear where beta a > threshold;  da = g sigmoid(beta a).

    beta a may overflow to +-inf for huge a; both branches take the right limit there (a,
    resp. 0), so numpy's overflow warning is silenced, as PyTorch is silent."""
    name = "Softplus"
    @staticmethod
    def forward(ctx, a, beta=1.0, threshold=20.0):
        ctx.save_for_backward(a)
        ctx.beta, ctx.threshold = beta, threshold
        with np.errstate(over="ignore"):
            scaled = a * beta
        return np.where(scaled > threshold, a, np.logaddexp(0, scaled) / beta)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        with np.errstate(over="ignore"):
            linear = raw(a) * ctx.beta > ctx.threshold
            return where(linear, grad, grad * sigmoid(a * ctx.beta))


class Clamp(Function):
    """out = min(max(a, lo), hi);  da = g where lo <= a <= hi, else 0."""
    @staticmethod
    def forward(ctx, a, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        ctx.save_for_backward(a)
        ctx.bounds = (min, max)
        return np.clip(a, min, max)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        a = raw(a)
        inside = np.ones(a.shape, dtype=bool)
        if lo is not None:
            inside &= a >= lo
        if hi is not None:
            inside &= a <= hi
        return grad * inside


class _Pick(Function):
    """out = the larger (``Maximum``) or smaller (``Minimum``) of a and b, elementwise;
    the gradient goes to the chosen input, split evenly on ties (as PyTorch)."""
    pick = None       # np.maximum / np.minimum
    wins = None       # np.greater / np.less: where a is chosen over b

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        try:
            return cls.pick(a, b)
        except ValueError:
            raise _broadcast_error(cls.__name__.lower(), a, b) from None

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        share_a = cls.wins(raw(a), raw(b)) + 0.5 * (raw(a) == raw(b))
        return grad * share_a, grad * (1.0 - share_a)


class Maximum(_Pick):
    pick, wins = staticmethod(np.maximum), staticmethod(np.greater)


class Minimum(_Pick):
    pick, wins = staticmethod(np.minimum), staticmethod(np.less)


class Where(Function):
    """out = a where cond else b;  da = g [cond], db = g [not cond]."""
    @staticmethod
    def forward(ctx, cond, a, b):
        cond = np.asarray(cond)
        if cond.dtype != np.bool_:
            raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
        ctx.save_for_backward(cond)
        try:
            return np.where(cond, a, b)
        except ValueError:
            raise ValueError(f"where: shapes {cond.shape}, {shape_of(a)} and {shape_of(b)} "
                             "are not broadcastable") from None

    @staticmethod
    def backward(ctx, grad):
        (cond,) = ctx.saved_tensors
        cond = raw(cond)
        need = ctx.needs_input_grad
        ga = where(cond, grad, 0.0) if need[1] else None
        gb = where(cond, 0.0, grad) if need[2] else None
        return None, ga, gb


# -- functional forms (accept nodes or raw arrays) ---------------------------------
def _weak(x):
    """A numpy scalar operand as a Python number, so that like torch (and unlike numpy)
    ``float32_tensor * np.float64(2)`` stays float32."""
    return x.item() if isinstance(x, np.generic) else x


def add(a, b): return Add.apply(_weak(a), _weak(b))
def sub(a, b): return Sub.apply(_weak(a), _weak(b))
def mul(a, b): return Mul.apply(_weak(a), _weak(b))
def div(a, b): return Div.apply(_weak(a), _weak(b))
def pow(a, b): return Pow.apply(_weak(a), _weak(b))
def neg(a): return Neg.apply(a)
def abs(a): return Abs.apply(a)
def exp(a): return Exp.apply(a)
def log(a): return Log.apply(a)
def sqrt(a): return Sqrt.apply(a)
def sin(a): return Sin.apply(a)
def cos(a): return Cos.apply(a)
def tanh(a): return TanhFn.apply(a)
def sigmoid(a): return SigmoidFn.apply(a)
def relu(a): return ReLUFn.apply(a)
def leaky_relu(a, negative_slope=0.01): return LeakyReLUFn.apply(a, negative_slope)
def elu(a, alpha=1.0): return ELUFn.apply(a, alpha)
def softplus(a, beta=1.0, threshold=20.0): return SoftplusFn.apply(a, beta, threshold)
def clamp(a, min=None, max=None): return Clamp.apply(a, min=min, max=max)
clip = clamp
def clamp_min(a, min): return Clamp.apply(a, min=min)
def clamp_max(a, max): return Clamp.apply(a, max=max)
def maximum(a, b): return Maximum.apply(_weak(a), _weak(b))
def minimum(a, b): return Minimum.apply(_weak(a), _weak(b))
def where(cond, a, b): return Where.apply(raw(cond), a, b)
def sign(a): return constant(np.sign, a)
def eq(a, b): return constant(np.equal, a, b)
def ne(a, b): return constant(np.not_equal, a, b)
def lt(a, b): return constant(np.less, a, b)
def le(a, b): return constant(np.less_equal, a, b)
def gt(a, b): return constant(np.greater, a, b)
def ge(a, b): return constant(np.greater_equal, a, b)


def triu(a, diagonal=0):
    """The upper triangle of the last two dims: out[..., i, j] = a[..., i, j] if
    j - i >= diagonal, else 0.  (*, m, n) -> (*, m, n);  da = g on the kept triangle."""
    return _triangle(a, diagonal, np.triu, "triu")


def tril(a, diagonal=0):
    """The lower triangle of the last two dims: out[..., i, j] = a[..., i, j] if
    j - i <= diagonal, else 0.  (*, m, n) -> (*, m, n);  da = g on the kept triangle."""
    return _triangle(a, diagonal, np.tril, "tril")


def _triangle(a, diagonal, keep, op):
    shape = shape_of(a)
    if len(shape) < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape "
                           f"{shape}")
    # where, not a product with a 0/1 mask: triu(full(-inf)) must hold zeros, not NaN
    mask = keep(np.ones(shape[-2:], dtype=bool), int(diagonal))
    return where(mask, a, np.zeros((), dtype=np.asarray(raw(a)).dtype))


class Cast(Function):
    """out = a converted to another float dtype;  da = g converted back (``Tensor.to``)."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.in_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Node):
            return Cast.apply(grad, ctx.in_dtype)
        return grad.astype(ctx.in_dtype)
