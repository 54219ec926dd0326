"""Write, compile and cache the Numba kernel of a fused group of elementwise ops.

A group is a list of ``Step``s in program order; step ``j`` computes ``t{j}`` per element
from kernel inputs (``("in", k)``), earlier steps (``("step", j)``) and literals
(``("lit", value)``), with the op's formula from ``pointwise.OPS``; the last step is the
result. For an output of shape ``S`` the kernel loops once over its elements,
``out[i] = t_last(in0[i], in1[i], ...)``, reading a broadcast input at index 0 along the
axes it is broadcast on (the source spells that out), so no broadcast is ever materialised
and contiguous inputs keep Numba's contiguous layout.

A trailing sum over the last ``k`` axes (``Sum(dim=None)`` or the last axes) is done in the
same loop: ``out[r] = sum_j t_last[r, j]``, accumulated in float64 in index order and then
rounded to the result's dtype. numpy sums pairwise instead, so a fused sum differs from it in
the last bits (for float32 it is the more accurate one), and is the same for any thread count
(one thread makes each output element).

Before the loop, axes are coalesced: an axis of size 1 is dropped, and neighbouring axes
merge when each input is either broadcast along both or along neither (``(32, 64, 7, 7)``
plus a bias ``(64, 1, 1)`` iterates as ``(32, 64, 49)``). The kernel walks the leading axes
as one flat ``prange`` (``i0, i1`` recovered by ``divmod``) and the last axis inside it.

Two twins are compiled from one source: ``parallel`` (``parallel=True``, ``prange``) for
outputs of at least ``PARALLEL_MIN`` elements and ``serial`` below, where handing work to a
thread costs more than the loop. Each element is computed alone, so results do not depend on
the thread count. No ``fastmath``: every step rounds to its dtype as numpy does.

Caching, like the engine's other kernels (``kernels/_jit.py``): Numba's ``cache=True`` needs
the function's source in a real file, so the generated module is written to
``<kernel cache>/fused/fused_<hash of its source>.py`` (once; a rewrite would change its
mtime and invalidate Numba's cache) and imported from there; a later process loads the
machine code instead of compiling. In the process, modules are kept by source text, which
spells out the ops, their constants, the dtypes and the number of loop axes.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..kernels._jit import CACHE, cache_dir
from .pointwise import OPS

__all__ = ["PARALLEL_MIN", "FusedKernel", "Step", "coalesce", "forget", "fused_kernel",
           "kernel_source"]

PARALLEL_MIN = 1 << 15     # elements; below this the serial twin runs

Ref = tuple[str, Any]      # ("in", k) | ("step", j) | ("lit", value)

_TYPES = {np.dtype(np.float32): "np.float32", np.dtype(np.float64): "np.float64"}


@dataclass(frozen=True)
class Step:
    """One op of a fused group: ``op`` (a key of ``pointwise.OPS``), its operands in the
    op's order, its parameters ``{name: value}`` and the dtype it rounds to."""
    op: str
    operands: tuple[Ref, ...]
    params: tuple[tuple[str, Any], ...]
    dtype: np.dtype


def _literal(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    value = float(value)
    if math.isnan(value):
        return "np.nan"
    return repr(value) if math.isfinite(value) else ("np.inf" if value > 0 else "-np.inf")


def _step_lines(j: int, step: Step) -> list[str]:
    entry, D = OPS[step.op], _TYPES[np.dtype(step.dtype)]
    lines, args = [], []
    for i, (kind, what) in enumerate(step.operands):
        name = {"in": f"x{what}", "step": f"t{what}"}.get(kind) or _literal(what)
        if i != entry.condition:           # numpy computes in the result's dtype
            lines.append(f"t{j}_{i} = {D}({name})")
            name = f"t{j}_{i}"
        args.append(name)
    params = {k: None if v is None else f"{D}({_literal(v)})" for k, v in step.params}
    return lines + entry.write(f"t{j}", args, params, D)


def _loops(ndim: int, body: list[str], result: str, reduce: str | None) -> list[str]:
    """The loop nest around ``body`` (which sets ``result`` for element ``i0, ..., i{ndim-1}``):
    the leading axes as one flat ``RANGE`` (``prange`` or ``range``), the last axis inside;
    ``reduce`` (the result's numpy type) sums the last axis into ``out`` instead."""
    kept = ndim - 1 if reduce else ndim            # the axes of ``out``
    lines = [", ".join(f"n{d}" for d in range(kept)) + ", = out.shape"]
    if reduce:
        lines.append(f"n{ndim - 1} = m")             # the summed axis is not in ``out``
    idx = ", ".join(f"i{d}" for d in range(ndim))
    if ndim == 1:
        return lines + ["for i0 in RANGE(n0):"] + [f"    {x}" for x in body + [f"out[i0] = {result}"]]
    split = ["q = r"]
    for d in range(ndim - 2, 0, -1):
        split += [f"i{d} = q % n{d}", f"q = q // n{d}"]
    split.append("i0 = q")
    if reduce:
        kept_idx = ", ".join(f"i{d}" for d in range(kept))
        split.append("acc = 0.0")
        body, after = body + [f"acc += {result}"], [f"out[{kept_idx}] = {reduce}(acc)"]
    else:
        body, after = body + [f"out[{idx}] = {result}"], []
    outer = " * ".join(f"n{d}" for d in range(ndim - 1))
    return (lines + [f"for r in RANGE({outer}):"]
            + [f"    {x}" for x in split + [f"for i{ndim - 1} in range(n{ndim - 1}):"]]
            + [f"        {x}" for x in body] + [f"    {x}" for x in after])


def kernel_source(steps: Sequence[Step], iter_shape: Sequence[int],
                  views: Sequence[Sequence[int]], reduce: bool = False) -> str:
    """The Python source of the module holding ``parallel`` and ``serial`` for ``steps``
    over an iteration space ``iter_shape`` (``ndim >= 1`` axes), reading input ``k`` as an
    array of shape ``views[k]`` (``coalesce``): index ``0`` along its size-1 axes, which is
    how it broadcasts. With ``reduce`` the last axis is summed (in float64, in index order)."""
    ndim = len(iter_shape)
    body = [f"x{k} = in{k}[" + ", ".join(f"i{d}" if view[d] != 1 else "0" for d in range(ndim))
            + "]" for k, view in enumerate(views)]
    for j, step in enumerate(steps):
        body += _step_lines(j, step)
    total = _TYPES[np.dtype(steps[-1].dtype)] if reduce else None
    loop = _loops(ndim, body, f"t{len(steps) - 1}", total)
    args = ", ".join(["out"] + (["m"] if reduce else []) + [f"in{k}" for k in range(len(views))])
    ops = ", ".join([s.op for s in steps] + (["Sum"] if reduce else []))

    def twin(name: str, rng: str, extra: str) -> str:
        code = "\n".join("    " + line for line in loop).replace("RANGE", rng)
        return (f"@njit(cache={CACHE}, nogil=True, error_model='numpy'{extra})\n"
                f"def {name}({args}):\n{code}\n")
    return (f'"""Fused kernel generated by tinygrad_cs.compile.codegen: {ops}."""\n'
            "import numpy as np\nfrom numba import njit, prange\n\n\n"
            + twin("parallel", "prange", ", parallel=True") + "\n\n"
            + twin("serial", "range", ""))


_LOADED: dict[str, ModuleType] = {}


def forget() -> None:
    """Empty the in-process cache (the next request imports from the disk cache)."""
    _LOADED.clear()


def _load(source: str) -> ModuleType:
    module = _LOADED.get(source)
    if module is None:
        module = _LOADED[source] = _import(source)
    return module


def _import(source: str) -> ModuleType:
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    name = f"tinygrad_cs_fused_{digest}"
    folder = cache_dir()
    if folder is None:                     # nowhere to cache: compile from the text
        module = ModuleType(name)
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - our source
        return module
    folder = os.path.join(folder, "fused")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"fused_{digest}.py")
    if not os.path.exists(path):           # written once: its mtime keys Numba's cache
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _merge(shape: tuple[int, ...], padded: list[tuple[int, ...]]) -> list[list[int]]:
    """Groups of neighbouring axes of ``shape`` (size-1 axes dropped) that every input reads
    alike: broadcast along all of them or along none."""
    groups: list[list[int]] = []
    for d in (d for d in range(len(shape)) if shape[d] != 1):
        if groups and all((p[groups[-1][-1]] == 1) == (p[d] == 1) for p in padded):
            groups[-1].append(d)
        else:
            groups.append([d])
    return groups


def coalesce(shape: tuple[int, ...], in_shapes: Sequence[tuple[int, ...]], reduced: int = 0
             ) -> tuple[tuple[int, ...], list[tuple[int, ...]]] | None:
    """The iteration shape and each input's shape reshaped onto it (see the module docstring).

    ``(32, 64, 7, 7)`` with inputs ``(32, 64, 7, 7)`` and ``(64, 1, 1)`` gives
    ``(32, 64, 49)`` and ``[(32, 64, 49), (1, 64, 1)]``. With ``reduced = k`` the last ``k``
    axes are summed: they must merge into one last axis (else None), kept apart from the
    others (of which there is at least one, of size 1 when every axis is summed)."""
    split = len(shape) - reduced
    padded = [(1,) * (len(shape) - len(s)) + tuple(s) for s in in_shapes]
    groups = _merge(shape[:split], [p[:split] for p in padded]) or [[]]
    if reduced:
        summed = _merge(shape[split:], [p[split:] for p in padded])
        if len(summed) > 1:
            return None
        groups += [[d + split for d in g] for g in summed] or [[]]
    out = tuple(math.prod(shape[d] for d in g) for g in groups)
    views = [tuple(math.prod(p[d] for d in g) for g in groups) for p in padded]
    return out, views


class FusedKernel:
    """The ``fn`` of a ``Fused`` instruction: ``out = kernel(*inputs)``.

    ``ops`` (the fused op names, in order, a trailing ``"Sum"`` included) and ``source`` (the
    generated module) are here for printers and drawers; the instruction's ``attrs`` stay empty.
    """

    def __init__(self, module: ModuleType, ops: tuple[str, ...], source: str,
                 out_shape: tuple[int, ...], dtype: np.dtype,
                 iter_shape: tuple[int, ...], view_shapes: list[tuple[int, ...]],
                 reduce: bool) -> None:
        self.ops, self.source = ops, source
        self.shape, self.dtype = tuple(out_shape), np.dtype(dtype)
        self._iter, self._views = iter_shape, view_shapes
        self._out = iter_shape[:-1] if reduce else iter_shape
        threads_pay = math.prod(iter_shape) >= PARALLEL_MIN and math.prod(self._out) > 1
        self._kernel = module.parallel if threads_pay else module.serial

    def __call__(self, *arrays: Any) -> np.ndarray:
        if len(arrays) != len(self._views):
            raise TypeError(f"Fused[{', '.join(self.ops)}]: takes {len(self._views)} inputs, "
                            f"got {len(arrays)}")
        out = np.empty(self.shape, self.dtype)
        views = [np.reshape(a, s) for a, s in zip(arrays, self._views)]
        size = self._iter[-1:] if len(self._out) < len(self._iter) else ()
        self._kernel(out.reshape(self._out), *size, *views)
        return out

    def __repr__(self) -> str:
        return f"FusedKernel[{', '.join(self.ops)}]"


def fused_kernel(steps: Sequence[Step], in_shapes: Sequence[tuple[int, ...]],
                 shape: tuple[int, ...], out_shape: tuple[int, ...] | None = None,
                 reduced: int = 0) -> FusedKernel | None:
    """Compile (or fetch from a cache) the kernel computing ``steps`` for inputs of
    ``in_shapes`` broadcast to ``shape``; its dtype is the last step's. With ``reduced = k``
    the result is summed over its last ``k`` axes into ``out_shape`` (``keepdim`` or not);
    None when those axes cannot be walked as one (an input broadcast along some only)."""
    plan = coalesce(tuple(shape), [tuple(s) for s in in_shapes], reduced)
    if plan is None:
        return None
    iter_shape, views = plan
    source = kernel_source(steps, iter_shape, views, reduce=bool(reduced))
    ops = tuple(s.op for s in steps) + (("Sum",) if reduced else ())
    out_shape = tuple(shape) if out_shape is None else tuple(out_shape)
    return FusedKernel(_load(source), ops, source, out_shape, steps[-1].dtype, iter_shape,
                       views, bool(reduced))
