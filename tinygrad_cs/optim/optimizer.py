"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step``, state dicts.

An optimizer holds ``param_groups``, a list of dicts: each has ``'params'`` (a
list of Tensors) and its own hyper-parameters (``'lr'``, ...), the missing ones
filled from ``defaults``. ``state[p]`` is a dict per parameter (moments,
step counts), created on the parameter's first update.

A subclass states its update rule in ``_update(p, g, state, group)``: ``p``
is the parameter's numpy array, changed in place; ``g`` its gradient array.
The update happens on the arrays, outside the graph, and never rebinds the
parameter's storage: modules, views and other code hold references to it.
``step`` is atomic: it checks every gradient (shape, dtype, a writable
parameter) before it changes anything, and bumps each updated parameter's
version, so a backward through a graph recorded before the step raises instead
of using the new weights.

``state_dict()`` follows PyTorch's layout::

    {'state': {0: {'step': 3, 'exp_avg': array, ...}, ...},
     'param_groups': [{'lr': 0.001, ..., 'params': [0, 1]}, ...]}

Parameters are numbered in the order they appear across the groups. Only
numbers, strings, tuples/lists and numpy arrays appear, so ``tg.save`` can
write it to a checkpoint.
"""
from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import versions
from ..grad_mode import enable_grad
from ..grad_mode import state as _grad_state
from ..tensor import Tensor

Params = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


# a set's order changes between runs, and state_dict numbers parameters by their order
_UNORDERED = ("optimizer parameters need to be organized in ordered collections, but the "
              "ordering of tensors in sets will change between runs. Please use a list instead.")


class _Required:
    """Marks a hyper-parameter that every group must give (it has no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of all optimizers: ``Optimizer(params, defaults)``.

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs (as
    ``model.named_parameters()`` gives), or of dicts (parameter groups, each
    with ``'params'`` and optional per-group hyper-parameters).
    """

    def __init__(self, params: Params, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got a Tensor of shape {params.shape}")
        if isinstance(params, set):
            raise TypeError(_UNORDERED)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- parameter groups ---------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (e.g. layers unfrozen during fine-tuning).

        Hyper-parameters the group does not give are taken from ``defaults``.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(_UNORDERED)
        params = list(params)
        group = dict(param_group)
        if params and all(isinstance(p, tuple) and len(p) == 2 for p in params):
            group["param_names"] = [name for name, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (shape {p.shape}, made by "
                                 f"{p.op})")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; "
                          "in future, this will cause an error", stacklevel=3)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -- gradients and steps ----------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: ``p.grad = None`` (default), or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()  # a create_graph gradient must not keep its graph alive
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns the closure's loss.

        ``closure`` (optional) clears the gradients, recomputes the loss, calls
        ``backward`` and returns the loss; it runs with gradient recording on,
        even when ``step`` is called inside ``tg.no_grad()``.
        """
        if _grad_state.tracer is not None:  # tg.compile records the update as instructions
            return _grad_state.tracer.step(self, closure)
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        updates = [(p, group) for group in self.param_groups for p in group["params"]
                   if p.grad is not None]
        for index, (p, _) in enumerate(updates):
            self._check_grad(p, index)
        for p, group in updates:
            self._update(p.numpy(), p.grad.numpy(), self.state[p], group)
            versions.bump(p)
        return loss

    def _check_grad(self, p: Tensor, index: int) -> None:
        """Refuse a step that could not update parameter ``index`` correctly."""
        name = f"{type(self).__name__}.step"
        g = p.grad
        if g.shape != p.shape:
            raise RuntimeError(f"{name}: the gradient of parameter {index} has shape {g.shape}, "
                               f"the parameter has shape {p.shape}; nothing was updated")
        if g.dtype != p.dtype:
            raise RuntimeError(f"{name}: the gradient of parameter {index} has dtype {g.dtype}, "
                               f"the parameter has dtype {p.dtype}; nothing was updated")
        if not p.numpy().flags.writeable:
            raise RuntimeError(f"{name}: the data array of parameter {index} (shape {p.shape}) "
                               "is read-only; the optimizer updates parameters in place; "
                               "nothing was updated")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        """Apply the update rule to one parameter array ``p`` (in place), given its gradient."""
        raise NotImplementedError(f"{type(self).__name__} does not define its update rule "
                                  "(override _update, or step)")

    # -- state dicts -----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A snapshot of the state: ``{'state': {index: {...}}, 'param_groups': [...]}``.

        Arrays are copies, so later steps do not change a snapshot already taken.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: {k: _copy(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a ``state_dict()``: hyper-parameters per group and per-parameter state.

        Everything is checked (group count and sizes, known parameter indices,
        state array shapes) before anything changes. Arrays are copied and cast
        to their parameter's dtype. Integer keys that a JSON index turned into
        strings (``'0'``) and tuples turned into lists are accepted.
        """
        name = type(self).__name__
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{name}.load_state_dict: the state dict has no {key!r} entry")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: loaded state dict has "
                             f"{len(saved_groups)} parameter groups, the optimizer has "
                             f"{len(self.param_groups)}")
        params = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"{name}.load_state_dict: loaded parameter group {i} has "
                                 f"{len(saved['params'])} parameters, the optimizer's group "
                                 f"has {len(group['params'])}")
            params.update(zip((int(k) for k in saved["params"]), group["params"]))
        state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            if int(key) not in params:
                raise ValueError(f"{name}.load_state_dict: state for parameter index {key}, "
                                 f"but the groups list only indices {sorted(params)}")
            p = params[int(key)]
            state[p] = {k: self._restore_entry(k, v, p, f"{name}.load_state_dict: state {k!r} "
                                                      f"of parameter {key}")
                        for k, v in values.items()}
        self.state = state
        for group, saved in zip(self.param_groups, saved_groups):
            params_of_group = group["params"]
            restored = {k: _plain(v, group.get(k)) for k, v in saved.items() if k != "params"}
            group.clear()
            group.update({**self.defaults, **restored, "params": params_of_group})

    def _restore_entry(self, key: str, value: Any, p: Tensor, where: str) -> Any:
        """One loaded per-parameter state entry, checked against parameter ``p`` (see
        ``_restore``); an optimizer whose state is not shaped like its parameters overrides
        this."""
        return _restore(value, p, where)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


def check(optimizer: str, ok: bool, message: str) -> None:
    """Raise ``ValueError('<optimizer>: <message>')`` unless ``ok`` (hyper-parameter checks)."""
    if not ok:
        raise ValueError(f"{optimizer}: {message}")


def check_adam_like(optimizer: str, lr: float, eps: float, betas: tuple[float, float],
                    weight_decay: float) -> None:
    """The hyper-parameter checks of the Adam family (torch.optim's messages)."""
    check(optimizer, lr >= 0.0, f"Invalid learning rate: {lr}")
    check(optimizer, eps >= 0.0, f"Invalid epsilon value: {eps}")
    check(optimizer, 0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    check(optimizer, 0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    check(optimizer, weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")


def decayed_gradient(p: np.ndarray, g: np.ndarray, group: dict[str, Any]) -> np.ndarray:
    """The gradient an update rule uses: ``-g`` when ``maximize``; then weight decay, as an
    L2 term (``g + weight_decay * p``) or, with ``decoupled_weight_decay``, by shrinking
    ``p`` in place (``p *= 1 - lr * weight_decay``, AdamW's form)."""
    if group["maximize"]:
        g = -g
    wd = group["weight_decay"]
    if wd != 0:
        if group.get("decoupled_weight_decay", False):
            p *= 1 - group["lr"] * wd
        else:
            g = g + wd * p
    return g


def _copy(value: Any) -> Any:
    """A snapshot of a state entry: arrays copied, also inside lists (LBFGS's history)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _restore(value: Any, p: Tensor, where: str) -> Any:
    """A loaded state entry: float arrays must have the parameter's shape; numbers stay numbers.

    A 0-d array is a number (a step count) unless the parameter itself is 0-d.
    """
    if isinstance(value, Tensor):
        value = value.numpy()
    if (isinstance(value, np.ndarray) and value.dtype.kind == "f"
            and (value.ndim > 0 or p.ndim == 0)):
        if value.shape != p.shape:
            raise ValueError(f"{where} has shape {value.shape}, but the parameter has shape "
                             f"{p.shape}")
        return value.astype(p.dtype, copy=True)
    return _plain(value)


def _plain(value: Any, like: Any = None) -> Any:
    """Numpy scalars and 0-d arrays as Python numbers; a list back to a tuple where one was."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return value.item()
    if isinstance(like, tuple) and isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value
