"""tinygrad_cs: a reverse-mode autodiff engine for the CS231n curriculum.

``import tinygrad_cs as tg`` gives the scalar engine (``tg.Value``), the tensor
engine (``tg.Tensor`` and torch-named functions), the op protocol
(``tg.Function``), graph inspection (``tg.Graph``, ``tg.scope``) and gradient
tools (``tg.grad``, ``tg.no_grad``, ``tg.detect_anomaly``). Neural-network
modules live in ``tinygrad_cs.nn``, rendering in ``tinygrad_cs.viz``, gradient
checks and Hypothesis strategies in ``tinygrad_cs.testing``.
"""
# First, before anything imports numpy: keeps OpenBLAS's idle threads from spinning
# while our Numba kernels run (see kernels/_threads.py).
from . import kernels as _kernels
from . import dtypes
from .autodiff import AnomalyError, backward, detect_anomaly, grad
from .creation import (arange, empty, eye, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros,
                       zeros_like)
from .devices import device
from .dtypes import (bool_, double, float16, float32, float64, get_default_dtype, half, int32,
                     int64, long, set_default_dtype, uint8)
from .function import Context, Function, Node
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Graph, NodeInfo
from .ops import (abs, add, amax, amin, argmax, argmin, broadcast_to, cat, chunk, clamp, clip,
                  cos, div, elu, eq, exp, expand, expm1, flatten, ge, getitem, gt, le,
                  leaky_relu, log, log1p, log_softmax, logsumexp, lt, matmul, max, maximum, mean,
                  min, minimum, mul, ne, neg, norm, pad, permute, pow, prod, relu, repeat,
                  reshape, sigmoid, sign, sin, softmax, softplus, split, sqrt, squeeze, stack,
                  std, sub, sum, tanh, take_along_dim, transpose, unsqueeze, var, where)
from .ops import (argsort, argwhere, ceil, clamp_max, clamp_min, cumprod, cumsum, diff, fix,
                  floor, floor_divide, fmod, frac, gather, index_fill, masked_scatter,
                  masked_select, msort, nonzero, remainder, roll, round, scatter, scatter_add,
                  sort, topk, trunc, unique)
from .ops.indexing import index_add
from .random import Generator, generator, get_rng_state, manual_seed, set_rng_state
from .scopes import scope
from .tensor import Tensor
from .value import Value

from .serialization import load, save
from . import testing  # gradcheck builds on the engine above; Hypothesis loads lazily
from . import accelerator, backends, cuda


def __getattr__(name: str):
    """``tg.nn``, ``tg.optim``, ``tg.utils``, ... without importing them first, as
    ``import torch; torch.optim.SGD`` works: loaded on first use (the engine core itself
    never imports them)."""
    if name in _LAZY:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'tinygrad_cs' has no attribute {name!r}")


_LAZY = ("nn", "optim", "utils", "viz", "data", "train")

float = float32

__version__ = "0.1.0"
