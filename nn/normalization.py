"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm``,
``InstanceNorm2d`` (PyTorch's names, defaults, parameter and buffer names).

Shapes: BatchNorm1d x (N, C) or (N, C, L); BatchNorm2d / InstanceNorm2d x (N, C, H, W)
(InstanceNorm2d also (C, H, W)); GroupNorm x (N, C, *); LayerNorm x (*, *normalized_shape).
Output shape = input shape. Affine ``weight`` (ones) and ``bias`` (zeros) are (C,)
(LayerNorm: ``normalized_shape``).

Batch norm, training: normalise with the batch statistics (variance biased) and update the
buffers ``running_mean``/``running_var`` in place, ``r <- (1 - m) r + m * stat`` (variance
unbiased), with ``m = momentum`` or, for ``momentum=None``, ``1 / num_batches_tracked``
(a cumulative moving average). Eval: normalise with the running statistics (unless
``track_running_stats=False``, then batch statistics always).
"""
from __future__ import annotations

import numbers

import numpy as np

from tinygrad_cs import Tensor, dtypes, no_grad
from tinygrad_cs.ops.normalization import batch_norm, group_norm, instance_norm, layer_norm

from . import init
from ._checks import same_dtype
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "InstanceNorm2d", "LayerNorm"]


def _dtype(dtype, name: str):
    return dtypes.get_default_dtype() if dtype is None else dtypes.check(dtype, name)


def _add_affine(module: Module, shape, dtype, affine: bool, bias: bool) -> None:
    """``module.weight`` (ones) and ``module.bias`` (zeros) of ``shape`` as parameters; each is
    None when the layer is not affine (and ``bias`` alone when ``bias=False``)."""
    if affine:
        module.weight = Parameter(np.ones(shape, dtype=dtype))
        if bias:
            module.bias = Parameter(np.zeros(shape, dtype=dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    """weight <- 1, bias <- 0 (where the layer has them)."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class _NormBase(Module):
    """State shared by batch and instance norm: affine (C,) and running-statistic buffers."""

    def __init__(self, num_features: int, eps: float, momentum, affine: bool,
                 track_running_stats: bool, device=None, dtype=None, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        if device is not None and str(device).split(":")[0] != "cpu":
            raise RuntimeError(f"{name}: tinygrad_cs runs on the CPU only, got device {device!r}")
        dt = _dtype(dtype, name)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _add_affine(self, num_features, dt, affine, bias)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """running_mean <- 0, running_var <- 1, num_batches_tracked <- 0."""
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """Running statistics reset; weight <- 1, bias <- 0."""
        self.reset_running_stats()
        _reset_affine(self)

    def _factor(self) -> float:
        """The momentum of this step (counting the batch when training and tracking)."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            nbt = self.num_batches_tracked
            with no_grad():
                nbt.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(nbt)
        return factor

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class _BatchNorm(_NormBase):
    _dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias)

    def forward(self, input: Tensor) -> Tensor:
        # as PyTorch: the running statistics count too ("mixed dtype" without affine)
        same_dtype(self, input, self.running_mean if self.weight is None else self.weight,
                   "input and parameters")
        if input.ndim not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input "
                             f"(got {input.ndim}D input)")
        factor = self._factor()
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return batch_norm(input, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
                          use_batch, factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """``BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True)``: x (N, C) or (N, C, L), statistics per channel C."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """``BatchNorm2d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True)``: x (N, C, H, W), statistics per channel over (N, H, W)."""

    _dims = (4,)


class InstanceNorm2d(_NormBase):
    """``InstanceNorm2d(num_features, eps=1e-5, momentum=0.1, affine=False,
    track_running_stats=False)``: x (N, C, H, W) or (C, H, W), each (sample, channel)
    normalised over (H, W)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = False,
                 track_running_stats: bool = False, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias)

    def forward(self, input: Tensor) -> Tensor:
        # PyTorch compares the affine weight only: float32 running statistics are fine
        same_dtype(self, input, self.weight, "input and parameters")
        if input.ndim not in (3, 4):
            raise ValueError(f"InstanceNorm2d: expected 3D or 4D input "
                             f"(got {input.ndim}D input)")
        unbatched = input.ndim == 3
        if unbatched:
            input = input.reshape((1, *input.shape))
        if input.shape[1] != self.num_features and self.affine:
            raise ValueError(f"InstanceNorm2d: expected input's size at dim=1 to match "
                             f"num_features ({self.num_features}), got {input.shape[1]}")
        # as PyTorch: num_batches_tracked is not counted; momentum=None means 0
        factor = 0.0 if self.momentum is None else self.momentum
        out = instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats, factor, self.eps)
        return out.reshape(out.shape[1:]) if unbatched else out


class LayerNorm(Module):
    """``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``:
    x (*, *normalized_shape) normalised over its trailing ``normalized_shape`` dims."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dt = _dtype(dtype, "LayerNorm")
        _add_affine(self, self.normalized_shape, dt, elementwise_affine, bias)

    def reset_parameters(self) -> None:
        """weight <- 1, bias <- 0."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        same_dtype(self, input, self.weight if self.weight is not None else self.bias,
                   "input and parameters")
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """``GroupNorm(num_groups, num_channels, eps=1e-5, affine=True)``: x (N, C, *), each
    sample normalised over groups of C / num_groups channels; affine per channel."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, device=None, dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups, self.num_channels, self.eps, self.affine = (num_groups, num_channels,
                                                                     eps, affine)
        dt = _dtype(dtype, "GroupNorm")
        _add_affine(self, num_channels, dt, affine, bias)

    def reset_parameters(self) -> None:
        """weight <- 1, bias <- 0."""
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        same_dtype(self, input, self.weight if self.weight is not None else self.bias,
                   "input and parameters")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")
