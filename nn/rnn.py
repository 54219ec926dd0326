"""Recurrent layers over whole sequences: ``RNN``, ``LSTM``, ``GRU`` (PyTorch's API).

``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
bidirectional=False)`` (``RNN`` adds ``nonlinearity='tanh'``). With D = 2 if bidirectional
else 1, L = the sequence length and N the batch:

* input (L, N, H_in), or (N, L, H_in) with ``batch_first``, or unbatched (L, H_in);
* optional initial state h0 (D * num_layers, N, H) (LSTM: the pair (h0, c0)); zeros if absent;
* returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``): output (L, N, D * H) holds the
  last layer's h_t for every t (both directions side by side); h_n, c_n
  (D * num_layers, N, H) the final state of every layer and direction, in the order
  l0, l0_reverse, l1, ... (unbatched: the N dim is absent everywhere).

Layer l > 0 reads the previous layer's output, after dropout with probability ``dropout``
in training mode. The backward direction reads the sequence from t = L-1 to 0 and its
output at t is its state after reading x_t. Parameters, as PyTorch names them (so a
``torch.nn`` model's ``state_dict`` loads as is): ``weight_ih_l{k}`` (G*H, in),
``weight_hh_l{k}`` (G*H, H), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G*H,), with suffix
``_reverse`` for the backward direction; G = 4 (LSTM gates i, f, g, o), 3 (GRU r, z, n),
1 (RNN). Init: every one ~ U(-1/sqrt(H), 1/sqrt(H)). Cell equations: ``rnn_cells``.

Each layer and direction is one op over the whole sequence (``tinygrad_cs.ops.rnn.lstm``
for the LSTM, ``rnn_sequence`` for RNN and GRU): one GEMM for the input products of all
steps, then per step the recurrent GEMM and the pointwise math, and one GEMM per weight
gradient; the output sequence and final states are views of the op's stacked states.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from tinygrad_cs import Tensor, ops
from tinygrad_cs.ops._util import shape_of
from tinygrad_cs.ops.rnn import lstm
from tinygrad_cs.ops.rnn_sequence import GRUSequence, RNNSequence

from . import init
from ._checks import layer_name, tensor_input
from .dropout import dropout as _dropout
from .module import Module
from .parameter import Parameter
from .rnn_cells import _dtype

__all__ = ["GRU", "LSTM", "RNN", "RNNBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_FLIP = slice(None, None, -1)  # time reversed (a view)


class RNNBase(Module):
    """The parameters and the layer/direction loop shared by ``RNN``, ``LSTM``, ``GRU``.

    ``mode`` is ``'LSTM'``, ``'GRU'``, ``'RNN_TANH'`` or ``'RNN_RELU'``.
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{name}: unrecognized RNN mode {mode!r}")
        if not (isinstance(dropout, (int, float)) and not isinstance(dropout, bool)
                and 0 <= dropout <= 1):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing "
                             f"the probability of an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent "
                          f"layer, so non-zero dropout expects num_layers greater than 1, but "
                          f"got dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        for what, value in (("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {what} must be a positive integer, got {value!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported (got {proj_size})")
        dt = _dtype(dtype, device, name)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, 0
        directions = 2 if bidirectional else 1
        rows = _GATES[mode] * hidden_size
        self._names: list[list[str]] = []  # per layer and direction, in h_n's order
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                shapes = [("weight_ih", (rows, n_in)), ("weight_hh", (rows, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
                for kind, shape in shapes:
                    setattr(self, kind + suffix, Parameter(np.empty(shape, dt)))
                self._names.append([kind + suffix for kind, _ in shapes])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    @property
    def all_weights(self) -> list[list[Tensor]]:
        """The parameters of each layer and direction: [[w_ih, w_hh, b_ih, b_hh], ...]."""
        return [[self._parameters[n] for n in names] for names in self._names]

    def flatten_parameters(self) -> None:
        """A no-op, for code written for PyTorch (which packs cuDNN weights there)."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        return s

    # -- forward ------------------------------------------------------------------------
    def _input(self, input: Tensor) -> tuple[Tensor, bool]:
        """The input as (L, N, H_in) and whether it was batched; shape errors name both."""
        tensor_input(self, input)
        name, shape = type(self).__name__, shape_of(input)
        if len(shape) not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D (L, H_in) or 3D, got "
                             f"{len(shape)}D input of shape {shape}")
        if shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {shape[-1]} (input of shape {shape})")
        dtype = self._parameters[self._names[0][0]].dtype
        if input.dtype != dtype:  # a ValueError, as PyTorch's
            raise ValueError(f"{layer_name(self)}: input dtype {input.dtype} does not match "
                             f"weight dtype {dtype} (input of shape {shape}); cast the input "
                             f"with x.to(tg.{dtype}), or the module with .to(tg.{input.dtype})")
        if len(shape) == 2:
            return ops.unsqueeze(input, 1), False
        return (ops.transpose(input, 0, 1) if self.batch_first else input), True

    def _state(self, hx, batch: int, batched: bool, what: str) -> list:
        """The initial state of every layer and direction (zeros when ``hx`` is None)."""
        n_states = len(self._names)
        dtype = self._parameters[self._names[0][0]].dtype
        if hx is None:
            zeros = np.zeros((batch, self.hidden_size), dtype)
            return [zeros] * n_states
        name = type(self).__name__
        expected = (n_states, batch, self.hidden_size) if batched else (n_states,
                                                                         self.hidden_size)
        if len(shape_of(hx)) != len(expected):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise RuntimeError(f"{name}: for {kind} input, {what} should be "
                               f"{len(expected)}-D but got shape {shape_of(hx)}")
        if shape_of(hx) != expected:
            raise RuntimeError(f"{name}: Expected {what} size {expected}, got {shape_of(hx)}")
        if not batched:
            hx = ops.unsqueeze(hx, 1)
        return [ops.getitem(hx, k) for k in range(n_states)]

    def _layer(self, x, states: list, k: int, reverse: bool) -> tuple:
        """One layer and direction: (output (L, N, H), h_n, c_n or None)."""
        weights = [self._parameters[n] for n in self._names[k]]
        if self.mode == "LSTM":  # the engine's op runs forward in time: flip for reverse
            out, h, c = lstm(ops.getitem(x, _FLIP) if reverse else x, states[0][k],
                             states[1][k], *weights)
            return (ops.getitem(out, _FLIP) if reverse else out), h, c
        if self.mode == "GRU":
            out = GRUSequence.apply(x, states[0][k], *weights, reverse=reverse)
        else:
            out = RNNSequence.apply(x, states[0][k], *weights, reverse=reverse,
                                    nonlinearity="tanh" if self.mode == "RNN_TANH" else "relu")
        seq = slice(x.shape[0], 0, -1) if reverse else slice(1, None)
        return ops.getitem(out, seq), ops.getitem(out, x.shape[0]), None

    def _forward(self, input: Tensor, hx: tuple) -> tuple:
        """(output, [h_n, c_n]) for initial states ``hx`` (each None or a tensor)."""
        x, batched = self._input(input)
        whats = ("hx",) if len(hx) == 1 else ("hx[0]", "hx[1]")
        states = [self._state(h, x.shape[1], batched, what) for h, what in zip(hx, whats)]
        directions = 2 if self.bidirectional else 1
        finals: list[list] = [[] for _ in hx]
        for layer in range(self.num_layers):
            if layer and self.dropout and self.training:
                x = _dropout(x, self.dropout, True)
            outs = []
            for direction in range(directions):
                out, h, c = self._layer(x, states, layer * directions + direction, direction == 1)
                outs.append(out)
                finals[0].append(h)
                if c is not None:
                    finals[1].append(c)
            x = outs[0] if directions == 1 else ops.cat(outs, dim=2)
        finals = [ops.stack(f) for f in finals]
        if not batched:
            return ops.squeeze(x, 1), [ops.squeeze(f, 1) for f in finals]
        return (ops.transpose(x, 0, 1) if self.batch_first else x), finals


class RNN(RNNBase):
    """Elman RNN, h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu.

    ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False)``; ``forward(input, hx=None)``
    returns ``(output, h_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        output, (h_n,) = self._forward(input, (hx,))
        return output, h_n


class GRU(RNNBase):
    """Gated recurrent unit layers (gates r, z, n; equations in ``rnn_cells``).

    ``GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
    bidirectional=False)``; ``forward(input, hx=None)`` returns ``(output, h_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        output, (h_n,) = self._forward(input, (hx,))
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory layers, gates i, f, g, o (equations in ``rnn_cells``).

    ``LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; ``forward(input, hx=None)`` with ``hx = (h0, c0)``
    returns ``(output, (h_n, c_n))``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ValueError("LSTM: hx must be a pair (h0, c0) of tensors of shape "
                             "(D * num_layers, N, hidden_size)")
        output, (h_n, c_n) = self._forward(input, tuple(hx))
        return output, (h_n, c_n)
