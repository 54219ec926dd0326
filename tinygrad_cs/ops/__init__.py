"""The tensor op set, one file per family.

Every function here accepts graph nodes or raw numpy arrays: on nodes it
records the op; on raw data it only computes. Backward formulas are written
with these functions, so the same code serves plain and higher-order backward.
"""
from .elementwise import (add, sub, mul, div, pow, neg, abs, exp, log, sqrt, sin, cos,
                          tanh, sigmoid, relu, leaky_relu, elu, softplus, clamp, clip, clamp_min, clamp_max,
                          maximum, minimum, where, sign, eq, ne, lt, le, gt, ge, triu, tril)
from .logexp import log1p, expm1, logsigmoid
from .reduce import (sum, mean, amax, amin, max, min, var, std, prod, logsumexp, norm,
                     argmax, argmin)
from .movement import (reshape, flatten, squeeze, unsqueeze, transpose, permute, expand,
                       broadcast_to, sum_to, repeat, getitem, index_add, cat, stack,
                       split, chunk, pad, take_along_dim, scatter_add_along)
from .indexing import (gather, scatter, scatter_add, index_fill, masked_select, masked_scatter,
                       nonzero, argwhere, roll, index_put, assign_at)
from .sorting import (sort, argsort, msort, topk, unique, median, kthvalue, quantile,
                      searchsorted, bucketize)
from .contraction import einsum
from .scan import cumsum, cumprod, diff
from .rounding import (floor, ceil, trunc, fix, round, frac, remainder, fmod, floor_divide)
from .trig import (tan, sinh, cosh, asin, acos, atan, asinh, acosh, atanh, log2, log10, exp2,
                   atan2, arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2)
from .linalg import matmul, linear
from .nn import softmax, log_softmax
from .conv import conv1d, conv2d, conv_transpose2d
from .pool import max_pool2d, avg_pool2d, adaptive_avg_pool2d, interpolate
from .roi import roi_align, roi_pool
from .normalization import batch_norm, layer_norm, group_norm, instance_norm
from .rnn import lstm_cell

__all__ = [n for n in dir() if not n.startswith("_")]
