"""``tinygrad_cs.nn.functional``: the stateless forms of the layers, as ``torch.nn.functional``.

Each function takes its input first and keeps PyTorch's argument names and
defaults; the math is done by the engine's ops (``tinygrad_cs.ops``), so every
function works on Tensors (recording the graph) and on plain numpy arrays.
Shapes: every activation maps ``(*)`` to ``(*)`` elementwise; ``softmax`` and
``log_softmax`` normalise along ``dim``; ``pad`` grows (or crops) trailing dims.

``inplace=True`` is accepted for compatibility but the result is always a new
tensor: the graph keeps the input for backward, so it is never overwritten.

Defined in their own files and re-exported here: the hot ops of the engine
(``conv1d``/``conv2d``/``conv_transpose2d``, the pooling ops and ``interpolate``, the
norms, ``lstm_cell``: Numba kernels in ``tinygrad_cs.kernels``), ``linear`` (``ops.linalg``), ``gelu``
(``nn.gelu``), ``dropout`` / ``dropout2d`` (``nn.dropout``), ``embedding`` (``nn.embedding``),
``scaled_dot_product_attention`` (``nn.dot_product_attention``), the losses
(``nn.functional_losses``), the other activations and their in-place forms
(``nn.activation_functional``), and ``one_hot`` / ``normalize`` / ``cosine_similarity`` /
``pairwise_distance`` (``nn.distance``).
"""
from __future__ import annotations

from typing import Any

from tinygrad_cs import ops
from tinygrad_cs import unsupported as _unsupported
from tinygrad_cs.ops import gelu
from tinygrad_cs.ops.conv import conv1d, conv2d, conv_transpose2d
from tinygrad_cs.ops.linalg import linear
from tinygrad_cs.ops.normalization import batch_norm, group_norm, instance_norm, layer_norm
from tinygrad_cs.ops.pool import adaptive_avg_pool2d, avg_pool2d, interpolate, max_pool2d
from tinygrad_cs.ops.rnn import lstm_cell

from .activation_functional import (
    celu,
    celu_,
    elu_,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu_,
    mish,
    prelu,
    relu6,
    relu_,
    rrelu,
    rrelu_,
    selu,
    selu_,
    silu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
    threshold_,
)
from .distance import cosine_similarity, normalize, one_hot, pairwise_distance
from .dot_product_attention import scaled_dot_product_attention
from .dropout import dropout, dropout2d
from .embedding import embedding
from .fold import fold, unfold
from .functional_losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    multi_margin_loss,
    nll_loss,
    smooth_l1_loss,
)
from .functional_losses_more import (
    cosine_embedding_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multilabel_soft_margin_loss,
    poisson_nll_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .layers_1d import conv_transpose1d, dropout1d
from .pooling_more import adaptive_avg_pool1d, adaptive_max_pool2d, avg_pool1d, max_pool1d
from .upsampling import pixel_shuffle, pixel_unshuffle

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "dropout",
    "dropout1d",
    "dropout2d",
    "elu",
    "elu_",
    "embedding",
    "fold",
    "gaussian_nll_loss",
    "gelu",
    "glu",
    "group_norm",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "hinge_embedding_loss",
    "huber_loss",
    "instance_norm",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "leaky_relu_",
    "linear",
    "log_softmax",
    "logsigmoid",
    "lstm_cell",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool2d",
    "mish",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pairwise_distance",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "scaled_dot_product_attention",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
    "unfold",
]


def relu(input: Any, inplace: bool = False) -> Any:
    """max(x, 0);  d/dx = [x > 0]."""
    return ops.relu(input)


def sigmoid(input: Any) -> Any:
    """1 / (1 + exp(-x));  d/dx = s (1 - s)."""
    return ops.sigmoid(input)


def logsigmoid(input: Any) -> Any:
    """log(1 / (1 + exp(-x))) = -softplus(-x), finite for any x;  d/dx = sigmoid(-x)."""
    return ops.logsigmoid(input)


def tanh(input: Any) -> Any:
    """(e^x - e^-x) / (e^x + e^-x);  d/dx = 1 - tanh(x)^2."""
    return ops.tanh(input)


def leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    """x if x > 0 else negative_slope * x."""
    return ops.leaky_relu(input, negative_slope)


def elu(input: Any, alpha: float = 1.0, inplace: bool = False) -> Any:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return ops.elu(input, alpha)


def softplus(input: Any, beta: float = 1.0, threshold: float = 20.0) -> Any:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (no overflow)."""
    return ops.softplus(input, beta, threshold)


def softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Any:
    """exp(x_i) / sum_j exp(x_j) along ``dim``; ``dtype`` casts the input first.

    ``_stacklevel`` is unused; it is there so positional calls match PyTorch's.
    """
    return ops.softmax(_cast(input, dtype), dim)


def log_softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Any:
    """x_i - log sum_j exp(x_j) along ``dim`` (stable: the max is subtracted first)."""
    return ops.log_softmax(_cast(input, dtype), dim)


def pad(input: Any, pad: tuple, mode: str = "constant", value: float | None = None) -> Any:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left, right, top, bottom, ...)``.

    ``mode`` is ``constant`` (filled with ``value``, default 0; negative pads
    crop), ``reflect``, ``replicate`` or ``circular``. A dim of size n becomes
    n + left + right.
    """
    return ops.pad(input, pad, mode=mode, value=0.0 if value is None else value)


def _cast(input: Any, dtype) -> Any:
    if dtype is None:
        return input
    return input.to(dtype) if hasattr(input, "to") else input.astype(dtype)


def __getattr__(name: str):
    """A PyTorch name that tinygrad_cs leaves out raises an AttributeError saying why."""
    raise _unsupported.missing("F", name, "module 'tinygrad_cs.nn.functional'",
                               globals().__contains__)
