"""The tensor op set, one file per family; each file's ``__all__`` is what it exports.

Every function here accepts graph nodes or raw numpy arrays: on nodes it
records the op; on raw data it only computes. Backward formulas are written
with these functions, so the same code serves plain and higher-order backward.

Everything listed here is also ``tg.X`` and, where PyTorch has the method, ``Tensor.X``
(``tinygrad_cs/__init__.py`` and ``tensor_ops.py`` read ``__all__``), except the names of
``NOT_TOP_LEVEL``. A new op is therefore its ``Function`` and function in a family file,
its name in that file's ``__all__``, and its registry entry (``testing/entries/``).
"""
from .elementwise import *
from .logexp import *
from .reduce import *
from .movement import *
from .indexing import *
from .sorting import *
from .contraction import *
from .scan import *
from .rounding import *
from .trig import *
from .special import *
from .linalg import *
from .conv import *
from .pool import *
from .roi import *
from .normalization import *
from .rnn import *
from . import (contraction, conv, elementwise, indexing, linalg, logexp, movement, normalization,
               pool, reduce, rnn, roi, rounding, scan, sorting, special, trig)

_FAMILIES = (elementwise, logexp, reduce, movement, indexing, sorting, contraction, scan, rounding,
             trig, special, linalg, conv, pool, roi, normalization, rnn)

__all__ = [name for family in _FAMILIES for name in family.__all__]

#: Ops that are not ``tg.X``: the engine's own building blocks, and the names whose
#: ``torch.X`` form takes other arguments than ``torch.nn.functional``'s (``unsupported.py``
#: refuses those with a pointer to ``F.X``).
NOT_TOP_LEVEL = {
    "sum_to": "the engine's reverse of broadcasting (backward formulas use it)",
    "getitem": "the engine's name for t[index]",
    "add_at": "the engine's scatter-add into zeros (the backward of indexing)",
    "scatter_add_along": "the engine's scatter-add along a dim (the backward of take_along_dim)",
    "assign_at": "the engine's name for t[index] = value",
    "linear": "torch.nn.functional.linear",
    "logsigmoid": "torch.nn.functional.logsigmoid",
    "gelu": "torch.nn.functional.gelu",
    "avg_pool2d": "torch.nn.functional.avg_pool2d",
    "adaptive_avg_pool2d": "torch.nn.functional.adaptive_avg_pool2d",
    "interpolate": "torch.nn.functional.interpolate",
    "batch_norm": "torch.nn.functional.batch_norm (torch.batch_norm orders its arguments "
                  "otherwise)",
    "layer_norm": "torch.nn.functional.layer_norm (torch.layer_norm differs)",
    "group_norm": "torch.nn.functional.group_norm (torch.group_norm differs)",
    "instance_norm": "torch.nn.functional.instance_norm (torch.instance_norm differs)",
    "lstm_cell": "the fused cell of nn.LSTMCell (torch.lstm_cell takes packed weights)",
    "roi_align": "torchvision.ops.roi_align (tinygrad_cs.vision.ops)",
    "roi_pool": "torchvision.ops.roi_pool (tinygrad_cs.vision.ops)",
}

TOP_LEVEL = [name for name in __all__ if name not in NOT_TOP_LEVEL]
