"""``nn.summary(model, input_size)``: a layer-by-layer table in the style of torchinfo.

One forward pass of zeros (``input_size`` includes the batch dimension) with hooks on every
module records, per module call (rows in call order, nested ``depth`` levels deep):

* output shape;
* parameters: a leaf row (or a row at the depth limit) counts its whole subtree; an expanded
  container counts only its own direct parameters ("--" when none), so the rows add up to the
  total. A module called a second time shows "(recursive)" and is not counted again;
* multiply-adds, for the layers that do the arithmetic, with the batch included:
  ``Conv1d/2d``: ``out.numel() * (C_in / groups) * prod(kernel)``;
  ``ConvTranspose1d/2d``: ``in.numel() * (C_out / groups) * prod(kernel)``;
  ``Linear``: ``out.numel() * in_features``. Everything else counts 0 (bias adds,
  activations and normalisation are cheap beside these);
* receptive field (rows whose output is an ``(N, C, H, W)`` map): the side of the input region
  one output pixel can see. Through a layer with kernel ``k``, dilation ``d`` and stride ``s``:
  ``r_out = r_in + (k - 1) * d * j_in`` and ``j_out = j_in * s`` (``j``: the distance, in
  input pixels, between neighbouring pixels of the map; the input has ``r = j = 1``). So a stack
  of convolutions has ``r = 1 + sum_l (k_l - 1) * prod_{m<l} s_m``. Where branches meet (a
  residual add, a concatenation) the larger field wins. Adaptive pooling from ``i`` to ``o``
  acts as ``s = i // o``, ``k = i - (o - 1) * s``; a transposed convolution divides the jump by
  its stride and widens the field by ``(ceil(k_eff / s) - 1) * j_in``; other layers that resize
  a map scale the jump. Functional ops between modules (``F.max_pool2d``) are not seen. The
  field is the theoretical one: it may exceed the image, as padding extends it.

The model runs in eval mode (no running statistic moves) with each module's mode restored
afterwards, and the zeros input draws nothing from the random generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import tinygrad_cs as tg
from tinygrad_cs import Tensor

from .module import Module

__all__ = ["LayerInfo", "ModelSummary", "summary"]


@dataclass
class LayerInfo:
    """One row: a module call."""
    name: str                 # path in the model ("layer1.0.conv1")
    kind: str                 # class name
    depth: int                # 1 for the model's children
    output_shape: Any         # a tuple, or a list/dict of tuples for several outputs
    params: int | None        # None: "--" (expanded, no own parameters) or a repeated call
    mult_adds: int | None     # None: "--" (expanded container)
    receptive_field: tuple[int, int] | None
    recursive: bool = False   # a second call of the same module


@dataclass
class ModelSummary:
    """What ``summary`` returns; ``str()`` is the table, ``summary["conv1"]`` a row."""
    rows: list[LayerInfo]
    input_size: list[tuple]
    total_params: int
    trainable_params: int
    total_mult_adds: int

    def __getitem__(self, name: str) -> LayerInfo:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"summary: no row named {name!r} (rows: "
                       f"{', '.join(r.name for r in self.rows[:8])}...)")

    def __str__(self) -> str:
        head = ("Layer (type)", "Output Shape", "Param #", "Mult-Adds", "RF")
        body = [("  " * (r.depth - 1) + f"{r.name.rsplit('.', 1)[-1]} ({r.kind})",
                 _shape_text(r.output_shape),
                 "(recursive)" if r.recursive else _count(r.params),
                 _count(r.mult_adds), _rf_text(r.receptive_field)) for r in self.rows]
        widths = [max(len(line[i]) for line in [head, *body]) for i in range(5)]
        fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
        rule = "=" * (sum(widths) + 8)
        lines = [rule, fmt.format(*head), rule, *(fmt.format(*line) for line in body), rule,
                 f"Total params: {self.total_params:,}",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                 f"Total mult-adds (M): {self.total_mult_adds / 1e6:.2f}",
                 f"Input size: {', '.join(str(tuple(s)) for s in self.input_size)}", rule]
        return "\n".join(lines)

    __repr__ = __str__


def summary(model: Module, input_size: Any = None, *, input_data: Any = None,
            depth: int = 3) -> ModelSummary:
    """Run ``model`` once and tabulate its layers (see the module docstring).

    ``input_size``: one shape ``(N, C, H, W)`` or a list of shapes, one per positional input
    (zeros of the default dtype are made); or ``input_data``: the tensor(s) to pass.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, got {type(model).__name__}")
    if (input_size is None) == (input_data is None):
        raise ValueError("summary: give exactly one of input_size and input_data")
    if depth < 1:
        raise ValueError(f"summary: depth must be >= 1, got {depth}")
    inputs = _inputs(input_size) if input_data is None else _as_list(input_data)
    tracker = _Tracker(model, depth)
    modes = [(m, m.training) for m in model.modules()]
    handles = []
    try:
        model.eval()
        for name, module in model.named_modules():
            if name:
                handles.append(module.register_forward_pre_hook(tracker.pre(name)))
                handles.append(module.register_forward_hook(tracker.post(name)))
        with tg.enable_grad():
            tracker.seed(inputs)
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    params = {id(p): p for p in model.parameters()}.values()
    return ModelSummary(tracker.rows, [tuple(x.shape) for x in inputs if isinstance(x, Tensor)],
                        sum(p.numel() for p in params),
                        sum(p.numel() for p in params if p.requires_grad), tracker.mult_adds)


class _Tracker:
    """The hooks' shared state: the rows, the open calls, and the receptive field per node."""

    def __init__(self, model: Module, depth: int) -> None:
        self.model, self.depth = model, depth
        self.rows: list[LayerInfo] = []
        self.open: list[tuple[Module, LayerInfo | None, list[int]]] = []  # module, row, [macs]
        self.seen: set[int] = set()
        self.mult_adds = 0  # every call's, the repeated ones included (they compute again)
        self.fields: dict[int, tuple[Any, tuple]] = {}  # id(node) -> (node, (r_h, r_w, j_h, j_w))

    def seed(self, inputs: list) -> None:
        for x in inputs:
            if isinstance(x, Tensor):
                self.fields[id(x)] = (x, (1, 1, 1, 1))

    def pre(self, name: str):
        level = name.count(".") + 1

        def hook(module: Module, args: tuple) -> None:
            row = None
            if level <= self.depth:
                children = any(True for _ in module.children())
                expanded = children and level < self.depth
                recursive = id(module) in self.seen
                own = module.parameters(recurse=not expanded)
                count = sum(p.numel() for p in own)
                row = LayerInfo(name, type(module).__name__, level, None,
                                None if recursive or (expanded and not count) else count,
                                None if expanded else 0, None, recursive)
                self.rows.append(row)
            self.seen.add(id(module))
            self.open.append((module, row, [0]))
        return hook

    def post(self, name: str):
        def hook(module: Module, args: tuple, output: Any) -> None:
            _, row, macs = self.open.pop()
            leaf = not any(True for _ in module.children())
            if leaf:
                macs[0] = _mult_adds(module, args, output)
            if self.open:
                self.open[-1][2][0] += macs[0]
            else:
                self.mult_adds += macs[0]
            field = self._field(module, args, output, leaf)
            if row is not None:
                row.output_shape = _shapes(output)
                if row.mult_adds is not None:
                    row.mult_adds = macs[0]
                if field is not None and isinstance(output, Tensor) and output.dim() == 4:
                    row.receptive_field = (field[0], field[1])
        return hook

    def _field(self, module: Module, args: tuple, output: Any, leaf: bool) -> tuple | None:
        if not isinstance(output, Tensor):
            return None
        if not leaf:
            return self._lookup(output)
        x = args[0] if args and isinstance(args[0], Tensor) else None
        known = self._lookup(x) if x is not None else None
        if known is None or x.dim() != 4 or output.dim() != 4:
            field = known
        else:
            field = _through(module, known, x.shape[-2:], output.shape[-2:])
        if field is not None:
            self.fields[id(output)] = (output, field)
        return field

    def _lookup(self, node: Any) -> tuple | None:
        """The field of ``node``: recorded, or the widest of its inputs' (memoised walk)."""
        stack = [node]
        while stack:
            top = stack[-1]
            if id(top) in self.fields:
                stack.pop()
                continue
            parents = [p for p in getattr(top, "parents", ()) or () if id(p) not in self.fields]
            if parents:
                stack.extend(parents)
                continue
            stack.pop()
            found = [self.fields[id(p)][1] for p in getattr(top, "parents", ()) or ()]
            found = [f for f in found if f is not None]
            self.fields[id(top)] = (top, tuple(max(f[i] for f in found) for i in range(4))
                                    if found else None)
        return self.fields[id(node)][1]


def _through(module: Module, field: tuple, size_in: tuple, size_out: tuple) -> tuple:
    """The field after one layer (the module docstring's rules), per axis (h, w)."""
    result = []
    for axis in range(2):
        r, j = field[axis], field[2 + axis]
        i, o = size_in[axis], size_out[axis]
        if hasattr(module, "output_size") and not hasattr(module, "kernel_size"):
            s = max(i // o, 1)
            k, d = i - (o - 1) * s, 1
        elif hasattr(module, "kernel_size"):
            k = _pair(module.kernel_size)[axis]
            s = _pair(module.stride)[axis]
            d = _pair(getattr(module, "dilation", 1))[axis]
        else:
            result.append((r, j * i / o if o else j))
            continue
        if getattr(module, "transposed", False):
            result.append((r + (math.ceil(((k - 1) * d + 1) / s) - 1) * j, j / s))
        else:
            result.append((r + (k - 1) * d * j, j * s))
    (r_h, j_h), (r_w, j_w) = result
    return (_whole(r_h), _whole(r_w), j_h, j_w)


def _mult_adds(module: Module, args: tuple, output: Any) -> int:
    kind = type(module).__name__
    if kind in ("Conv1d", "Conv2d") and isinstance(output, Tensor):
        return output.numel() * module.in_channels // module.groups * math.prod(
            module.kernel_size)
    if kind in ("ConvTranspose1d", "ConvTranspose2d") and args and isinstance(args[0], Tensor):
        return args[0].numel() * module.out_channels // module.groups * math.prod(
            module.kernel_size)
    if kind == "Linear" and isinstance(output, Tensor):
        return output.numel() * module.in_features
    return 0


def _inputs(input_size: Any) -> list[Tensor]:
    sizes = input_size if isinstance(input_size, list) else [input_size]
    out = []
    for size in sizes:
        if not (isinstance(size, (tuple, list)) and all(isinstance(n, int) and n >= 0
                                                         for n in size)):
            raise ValueError(f"summary: input_size must be a shape (a tuple of ints, batch "
                             f"first) or a list of shapes, got {input_size!r}")
        out.append(tg.zeros(*size, requires_grad=True))
    return out


def _as_list(data: Any) -> list:
    return list(data) if isinstance(data, (list, tuple)) else [data]


def _shapes(output: Any) -> Any:
    if isinstance(output, Tensor):
        return tuple(output.shape)
    if isinstance(output, dict):
        return {k: _shapes(v) for k, v in output.items()}
    if isinstance(output, (list, tuple)):
        return [_shapes(v) for v in output]
    return None


def _pair(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _whole(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


def _count(n: int | None) -> str:
    return "--" if n is None else f"{n:,}"


def _rf_text(field: tuple | None) -> str:
    if field is None:
        return "--"
    return str(field[0]) if field[0] == field[1] else f"{field[0]}x{field[1]}"


def _shape_text(shape: Any) -> str:
    if isinstance(shape, tuple):
        return str(list(shape))
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "--"
