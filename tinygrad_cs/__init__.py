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
import math as _math

import numpy as _np

from . import dtypes
from .autodiff import AnomalyError, backward, detect_anomaly, grad
from .creation import (arange, empty, eye, from_numpy, full, full_like, linspace, ones,
                       ones_like, rand, rand_like, randint, randn, randn_like, tensor, zeros,
                       zeros_like)
from .devices import device
from .dtypes import (bool_, double, float16, float32, float64, get_default_dtype, half, int8,
                     int16, int32, int64, long, set_default_dtype, uint8)
from .engine import Context, Function, Node
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .graph import Graph, NodeInfo
from . import ops as _ops
globals().update({_name: getattr(_ops, _name) for _name in _ops.TOP_LEVEL})  # tg.exp, ...
from .functions import *  # torch.X(input, ...) for the Tensor methods, and more
from .random import Generator, generator, get_rng_state, manual_seed, set_rng_state
from .scopes import scope
from .tensor import Tensor
from .value import Value

from .serialization import load, save
from . import testing  # gradcheck builds on the engine above; Hypothesis loads lazily
from . import accelerator, autograd, backends, cuda, unsupported
from .legacy import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,
                     IntTensor, LongTensor, ShortTensor)
from .runtime import (are_deterministic_algorithms_enabled, get_default_device,
                      get_float32_matmul_precision, get_num_threads, is_anomaly_check_nan_enabled,
                      is_anomaly_enabled, is_deterministic_algorithms_warn_only_enabled,
                      set_anomaly_enabled, set_default_device, set_float32_matmul_precision,
                      set_num_threads, set_printoptions, use_deterministic_algorithms)


def __getattr__(name: str):
    """``tg.nn``, ``tg.optim``, ``tg.utils``, ... without importing them first, as
    ``import torch; torch.optim.SGD`` works: loaded on first use (the engine core itself
    never imports them). A PyTorch name left out says why (``unsupported.py``)."""
    if name in _LAZY:
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise unsupported.missing("torch", name, "module 'tinygrad_cs'", globals().__contains__)


_LAZY = ("nn", "optim", "utils", "viz", "data", "train", "vision", "safetensors", "compile")

float = float32
bool = bool_
int = int32
short = int16
dtype = _np.dtype  # torch.dtype: isinstance(t.dtype, tg.dtype)
finfo, iinfo = _np.finfo, _np.iinfo
pi, e, inf, nan, newaxis = _math.pi, _math.e, _math.inf, _math.nan, None
Size = tuple  # shapes are plain tuples: tg.Size([2, 3]) == t.shape

__version__ = "0.1.0"
