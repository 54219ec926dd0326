"""One time step of a recurrent net: ``RNNCell``, ``LSTMCell``, ``GRUCell`` (PyTorch's API).

Shapes: input (N, I) or unbatched (I,), state (N, H) or (H,); the weights are
``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh`` (G*H,), with the
gate blocks stacked in PyTorch's order, so a ``torch.nn`` cell's ``state_dict`` loads as is:

* RNNCell (G = 1):  h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh),  act = tanh or relu;
* LSTMCell (G = 4, gates i, f, g, o):  c' = f c + i g,  h' = o tanh(c')  (``ops.rnn``);
* GRUCell (G = 3, gates r, z, n):  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),
  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),  n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
  h' = (1 - z) n + z h.

Every weight starts as U(-1/sqrt(H), 1/sqrt(H)), PyTorch's default. A missing state is
zeros. The cells are built from differentiable ops (the LSTM's from the fused kernel), so
the RNN and GRU cells also have second derivatives. For whole sequences use ``nn.RNN`` /
``nn.GRU`` / ``nn.LSTM``: they batch the input products of all steps into one GEMM.
"""
from __future__ import annotations

import math

import numpy as np

from tinygrad_cs import Tensor, dtypes, ops
from tinygrad_cs.ops._util import shape_of
from tinygrad_cs.ops.linalg import linear
from tinygrad_cs.ops.rnn import lstm_cell

from . import init
from ._checks import same_dtype
from .module import Module
from .parameter import Parameter

__all__ = ["GRUCell", "LSTMCell", "RNNCell", "RNNCellBase", "gru_cell", "rnn_relu_cell",
           "rnn_tanh_cell"]


def rnn_tanh_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh):  x (N, I), h (N, H) -> (N, H)."""
    return ops.tanh(ops.add(linear(x, w_ih, b_ih), linear(h, w_hh, b_hh)))


def rnn_relu_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh):  x (N, I), h (N, H) -> (N, H)."""
    return ops.relu(ops.add(linear(x, w_ih, b_ih), linear(h, w_hh, b_hh)))


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (equations in the module docstring):  x (N, I), h (N, H) -> (N, H)."""
    i_r, i_z, i_n = ops.chunk(linear(x, w_ih, b_ih), 3, dim=-1)
    h_r, h_z, h_n = ops.chunk(linear(h, w_hh, b_hh), 3, dim=-1)
    r = ops.sigmoid(ops.add(i_r, h_r))
    z = ops.sigmoid(ops.add(i_z, h_z))
    n = ops.tanh(ops.add(i_n, ops.mul(r, h_n)))
    return ops.add(n, ops.mul(z, ops.sub(h, n)))  # = (1 - z) n + z h, one op fewer


def _dtype(dtype, device, name: str) -> np.dtype:
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{name}: tinygrad_cs runs on the CPU only, got device {device!r}")
    return dtypes.get_default_dtype() if dtype is None else dtypes.check(dtype, name)


class RNNCellBase(Module):
    """The parameters shared by the cells: ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh`` for ``num_chunks`` gate blocks of ``hidden_size`` rows each."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        dt = _dtype(dtype, device, type(self).__name__)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = num_chunks * hidden_size
        self.weight_ih = Parameter(np.empty((rows, input_size), dt))
        self.weight_hh = Parameter(np.empty((rows, hidden_size), dt))
        if bias:
            self.bias_ih = Parameter(np.empty(rows, dt))
            self.bias_hh = Parameter(np.empty(rows, dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _check(self, input: Tensor, hx) -> tuple:
        """(input, each state) checked, with a missing state as zeros."""
        same_dtype(self, input, self.weight_ih)
        name, shape = type(self).__name__, shape_of(input)
        if len(shape) not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {len(shape)}D "
                             f"input of shape {shape}")
        if shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {shape[-1]} "
                               f"expected {self.input_size} (input of shape {shape})")
        expected = shape[:-1] + (self.hidden_size,)
        states = hx if isinstance(hx, tuple) else (hx,)
        out = []
        for k, h in enumerate(states):
            if h is None:
                out.append(np.zeros(expected, self.weight_ih.dtype))
                continue
            what = "hx" if len(states) == 1 else f"hx[{k}]"
            same_dtype(self, h, self.weight_ih, arg=what)
            if shape_of(h) != expected:
                raise RuntimeError(f"{name}: {what} of shape {shape_of(h)} does not fit the "
                                   f"input of shape {shape}: expected {expected}")
            out.append(h)
        return out


class RNNCell(RNNCellBase):
    """``RNNCell(input_size, hidden_size, bias=True, nonlinearity='tanh')``: (N, I) -> (N, H)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity '{nonlinearity}'. Select from "
                             "'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        (h,) = self._check(input, hx)
        cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        return cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTMCell(RNNCellBase):
    """``LSTMCell(input_size, hidden_size, bias=True)``: (input, (h, c)) -> (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        if hx is not None and len(hx) != 2:
            raise ValueError(f"LSTMCell: hx must be a pair (h, c), got {len(hx)} items")
        h, c = self._check(input, (None, None) if hx is None else tuple(hx))
        return lstm_cell(input, h, c, self.weight_ih, self.weight_hh, self.bias_ih,
                         self.bias_hh)


class GRUCell(RNNCellBase):
    """``GRUCell(input_size, hidden_size, bias=True)``: (input, h) -> h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        (h,) = self._check(input, hx)
        return gru_cell(input, h, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
