"""``Module``: the base class of every layer and model, with PyTorch's API.

A module owns three ordered dicts, filled by plain attribute assignment:

* ``_parameters``: ``self.w = nn.Parameter(...)``  (trainable tensors),
* ``_buffers``:    ``self.register_buffer("running_mean", t)`` (state, not trained),
* ``_modules``:    ``self.fc = nn.Linear(...)``    (children).

Walking them recursively gives dotted names (``layer1.0.conv1.weight``) for
``named_parameters``, ``state_dict`` and ``named_modules``, exactly as PyTorch names them.

Calling ``model(x)`` runs ``forward`` inside ``tg.scope(<name>)``: the name is the
module's path relative to the module that called it, so every graph node made
inside records where it came from (``layer1.0.conv1``). The outermost module has no
name. Paths come from the outermost call's module tree (so ``self.blocks[i](x)``
inside a forward is scoped ``blocks.i``, although the ModuleList is never called).
"""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from tinygrad_cs import Tensor, devices, dtypes, no_grad, scope
from tinygrad_cs.engine import Node
from tinygrad_cs.grad_mode import state as _grad_state
from tinygrad_cs.grad_mode import untraceable

from .hooks import BackwardHookState, RemovableHandle
from .parameter import Parameter, is_parameter

__all__ = ["Module", "Parameter"]


class _Tree:
    """The module tree of one outermost call: module -> dotted path, built on first need."""

    __slots__ = ("_paths", "root")

    def __init__(self, root: Module) -> None:
        self.root, self._paths = root, None

    def path(self, module: Module) -> str | None:
        if self._paths is None:
            self._paths = {id(m): name for name, m in self.root.named_modules()}
        return self._paths.get(id(module))


_calls: list[tuple[str, _Tree]] = []  # (path, tree) of each running module, innermost last


def _enter(module: Module) -> tuple[str, str, _Tree]:
    """(scope name, full path, tree) for a call of ``module``."""
    if _calls:
        caller, tree = _calls[-1]
        path = tree.path(module)
        if path is not None:
            if not caller:
                return path, path, tree
            if path.startswith(caller + "."):
                return path[len(caller) + 1:], path, tree
            return ("" if path == caller else path), path, tree  # recursion / a shared module
    return "", "", _Tree(module)  # outermost call, or a module outside the caller's tree


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: keys the module wanted but did not get, and extras."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _forward_unimplemented(self, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError(
        f'Module [{type(self).__name__}] is missing the required "forward" function')


class Module:
    """Base class for all neural network modules; subclasses define ``forward``."""

    forward: Callable[..., Any] = _forward_unimplemented
    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist
        init = object.__setattr__
        init(self, "training", True)
        init(self, "_parameters", {})
        init(self, "_buffers", {})
        init(self, "_non_persistent_buffers_set", set())
        init(self, "_modules", {})
        init(self, "_forward_pre_hooks", OrderedDict())
        init(self, "_forward_hooks", OrderedDict())
        init(self, "_backward_hooks", OrderedDict())

    # -- calling ---------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name, path, tree = _enter(self)
        _calls.append((path, tree))
        try:
            if not name:  # the outermost module adds nothing to the scope path
                return self._run(args, kwargs)
            with scope(name):
                return self._run(args, kwargs)
        finally:
            _calls.pop()

    def _run(self, args: tuple, kwargs: dict) -> Any:
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook with kwargs must return None or "
                                           f"a tuple (new_args, new_kwargs), got {result!r}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward = None
        if self._backward_hooks:
            backward = BackwardHookState(self, list(self._backward_hooks.values()))
            args = backward.setup_inputs(args)
        output = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self._forward_hooks.values()):
            result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        return output if backward is None else backward.setup_outputs(output)

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args) -> None | new args`` runs before ``forward``.

        With ``with_kwargs=True``: ``hook(module, args, kwargs) -> None | (args, kwargs)``.
        """
        return _add_hook(self._forward_pre_hooks, (hook, with_kwargs), prepend)

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args, output) -> None | new output`` runs after ``forward``.

        With ``with_kwargs=True``: ``hook(module, args, kwargs, output)``.
        """
        return _add_hook(self._forward_hooks, (hook, with_kwargs), prepend)

    def register_full_backward_hook(self, hook: Callable,
                                    prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output) -> None | new grad_input``.

        Runs in backward once d(loss)/d(input) is known for every positional input
        (``grad_input``; ``None`` for non-tensors and inputs that need no gradient);
        ``grad_output`` holds d(loss)/d(output) for each output. See ``nn.hooks``.
        """
        return _add_hook(self._backward_hooks, hook, prepend)

    # -- registration --------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if _grad_state.tracer is not None and isinstance(value, Tensor):
            untraceable(f"{type(self).__name__}.{name} = <tensor of shape {tuple(value.shape)}>")
        d = self.__dict__
        params, buffers, modules = d.get("_parameters"), d.get("_buffers"), d.get("_modules")
        if is_parameter(value):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, params)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                "(nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, modules)
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                "(nn.Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                "(tg.Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: dict) -> None:
        """Drop ``name`` from the stores other than ``keep`` (where it is about to be
        set: a replaced parameter or child keeps its place in the order)."""
        self.__dict__.pop(name, None)
        for store in (self._parameters, self._buffers, self._modules):
            if store is not keep:
                store.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: look in the three stores
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            members = d.get(store)
            if members is not None and name in members:
                return members[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        keys = [*dir(type(self)), *self.__dict__, *self._parameters, *self._modules,
                *self._buffers]
        return sorted({k for k in keys if not k[0].isdigit()})

    def _check_new_name(self, name: Any, kind: str, store: str) -> None:
        if store not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {_typename(name)}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got "{name}"')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if hasattr(self, name) and name not in self.__dict__[store]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Tensor | None) -> None:
        """Add a parameter (an ``nn.Parameter``, or None for an absent one, e.g. no bias)."""
        self._check_new_name(name, "parameter", "_parameters")
        if param is not None and not is_parameter(param):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            "(nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: module state that is not trained (e.g. BatchNorm's running mean).

        Persistent buffers are part of ``state_dict``; non-persistent ones are not.
        """
        self._check_new_name(name, "buffer", "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            "(tg.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module (also what ``self.name = module`` does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_new_name(name, "module", "_modules")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` ("" is the module itself)."""
        module = self
        for item in target.split(".") if target else ():
            if not hasattr(module, item):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")  # noqa: TRY004 (as PyTorch)
        return module

    # -- walking the tree ----------------------------------------------------------------
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("") and every descendant, depth first."""
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                                remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) of the direct children, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, store: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in getattr(module, store).items():
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, parameter); a parameter shared by two modules comes once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # -- modes and bulk changes --------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``True``) or evaluation mode (``False``) on the whole tree."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004 (as PyTorch)
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """``train(False)``: dropout off, BatchNorm uses its running statistics."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient tracking of every parameter (e.g. freeze a backbone)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (the default), or to zeros in place."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()  # a create_graph gradient keeps no graph once zeroed
                p.grad.zero_()

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every child (recursively), then on ``self`` (e.g. custom init)."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def _cast_floats(self, dtype: np.dtype) -> Module:
        """Convert floating parameters (and their grads) and buffers to ``dtype``, in place.

        The Tensor objects stay the same (an optimizer holding them keeps working);
        only their storage is replaced (``t.data = t.data.to(dtype)``, as PyTorch does).
        """
        for module in self.modules():
            for t in (*module._parameters.values(), *module._buffers.values()):
                if t is None or t.dtype.kind != "f":
                    continue
                t.data = t.data.to(dtype)
                if t.grad is not None:
                    t.grad.data = t.grad.data.to(dtype)
        return self

    def to(self, *args: Any, dtype: Any = None, device: Any = None,
           non_blocking: bool = False) -> Module:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` (its dtype):
        floating parameters and buffers cast in place; devices are the CPU only."""
        dtype = devices.parse_to(args, dtype, device, "Module.to", Node)
        if dtype is None:
            return self
        dtype = dtypes.check(dtype, "Module.to")
        if dtype.kind != "f":
            raise TypeError("nn.Module.to only accepts floating point dtypes, "
                            f"but got desired dtype={dtype}")
        return self._cast_floats(dtype)

    def float(self) -> Module:
        return self._cast_floats(dtypes.float32)

    def double(self) -> Module:
        return self._cast_floats(dtypes.float64)

    # -- state dict ----------------------------------------------------------------------
    def state_dict(self, *, destination: dict | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (``"layer1.0.conv1.weight"``).

        Values are detached tensors sharing memory with the module's (``keep_vars``:
        the tensors themselves). A module shared under two names appears under both.
        """
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=f"{prefix}{name}.",
                                  keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any],
                        strict: bool = True) -> IncompatibleKeys:
        """Copy tensors/arrays from ``state_dict`` into parameters and buffers, in place.

        Everything is checked before anything is copied, so a bad ``state_dict``
        leaves the module untouched: a shape mismatch always raises (naming the key
        and both shapes); with ``strict``, so do missing and unexpected keys.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {_typename(state_dict)}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors, sources = [], {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            source = _as_array(state_dict[key])
            if source is None:
                errors.append(f"unsupported value for {key}: expected a tensor or a numeric "
                              f"array, got {_typename(state_dict[key])}.")
            elif source.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{source.shape} from checkpoint, the shape in current model "
                              f"is {target.shape}.")
            else:
                sources[key] = source
        if strict:
            if unexpected:
                errors.insert(0, f"Unexpected key(s) in state_dict: {_quoted(unexpected)}. ")
            if missing:
                errors.insert(0, f"Missing key(s) in state_dict: {_quoted(missing)}. ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for key, source in sources.items():
                own[key].copy_(source)
        return IncompatibleKeys(missing, unexpected)

    # -- printing --------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside ``Name(...)``; layers override it (``in_features=2, ...``)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): {_indent(repr(module), 2)}"
                       for key, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"


def _add_hook(hooks: OrderedDict, entry: Any, prepend: bool) -> RemovableHandle:
    handle = RemovableHandle(hooks)
    hooks[handle.id] = entry
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


def _as_array(value: Any) -> np.ndarray | None:
    """A state-dict value as a numeric numpy array, or None when it is not one."""
    if isinstance(value, Tensor):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array if array.dtype.kind in "biuf" else None


def _quoted(keys: list[str]) -> str:
    return ", ".join(f'"{k}"' for k in keys)


def _typename(obj: Any) -> str:
    kind = type(obj)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (for nested reprs)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])
