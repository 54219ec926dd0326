"""PyTorch's public API next to tinygrad_cs's: what is implemented, what the table in
``tinygrad_cs/unsupported.py`` leaves out (and why), and what is neither.

Run it to see the comparison (needs torch)::

    python tests/_torch_surface.py            # counts, then the names still missing

``tests/test_unsupported.py`` uses the same definitions. A namespace's public names are:
for ``torch``, ``torch.optim`` and ``torch.utils.data`` their ``__all__`` plus their public
submodules; for ``torch.nn`` and ``torch.nn.functional`` (no ``__all__``) every public
attribute defined by PyTorch (not re-exported ``typing``/stdlib helpers) and their public
submodules; for ``torch.Tensor`` every public attribute. Names starting with ``_`` are
never public.
"""
from __future__ import annotations

import types


def torch_namespaces() -> dict:
    """{namespace: PyTorch object} for the six namespaces of ``unsupported.py``."""
    import torch
    import torch.nn.functional
    import torch.onnx  # loaded lazily by PyTorch (e.g. by torch.save): make dir(torch) stable
    import torch.optim
    import torch.utils.data
    return {"torch": torch, "Tensor": torch.Tensor, "nn": torch.nn, "F": torch.nn.functional,
            "optim": torch.optim, "data": torch.utils.data}


def our_namespaces() -> dict:
    """{namespace: tinygrad_cs object}, the counterparts of ``torch_namespaces``."""
    import tinygrad_cs as tg
    import tinygrad_cs.nn.functional
    import tinygrad_cs.optim
    import tinygrad_cs.utils.data
    return {"torch": tg, "Tensor": tg.Tensor, "nn": tg.nn, "F": tg.nn.functional,
            "optim": tg.optim, "data": tg.utils.data}


def _defined_by_torch(obj) -> bool:
    if isinstance(obj, types.ModuleType):
        return obj.__name__.startswith("torch")
    module = getattr(obj, "__module__", None)
    return module is None or module.startswith("torch")


def public_names(obj) -> list[str]:
    """The public names of a PyTorch namespace (see the module docstring)."""
    if isinstance(obj, type):
        return sorted(n for n in dir(obj) if not n.startswith("_"))
    names = {n for n in getattr(obj, "__all__", ()) if not n.startswith("_")}
    for n in dir(obj):
        if n.startswith("_"):
            continue
        value = getattr(obj, n)
        if isinstance(value, types.ModuleType):
            if value.__name__.startswith(obj.__name__ + "."):
                names.add(n)
        elif not hasattr(obj, "__all__") and _defined_by_torch(value):
            names.add(n)
    return sorted(names)


def has(ours, name: str) -> bool:
    """Whether ``ours`` has ``name`` (the table's AttributeError counts as absent)."""
    try:
        getattr(ours, name)
    except AttributeError:
        return False
    return True


def survey() -> dict:
    """{namespace: (implemented, classified {name: reason}, neither)} for each namespace."""
    from tinygrad_cs import unsupported
    theirs, ours = torch_namespaces(), our_namespaces()
    result = {}
    for ns, obj in theirs.items():
        done, left_out, neither = [], {}, []
        for name in public_names(obj):
            if has(ours[ns], name):
                done.append(name)
                continue
            why = unsupported.reason(ns, name, lambda base, o=ours[ns]: has(o, base))
            if why is None:
                neither.append(name)
            else:
                left_out[name] = why
        result[ns] = (done, left_out, neither)
    return result


def main() -> None:
    from tinygrad_cs import unsupported
    report = survey()
    for ns, (done, left_out, neither) in report.items():
        print(f"{unsupported.PREFIX[ns]}: {len(done)} implemented, {len(left_out)} left out "
              f"with a reason ({sum(w == unsupported.NOT_YET for w in left_out.values())} "
              f"'{unsupported.NOT_YET}'), {len(neither)} neither")
        if neither:
            print("   neither:", " ".join(neither))
    print("\nstill missing ('not implemented yet'), most used first:")
    missing = {(ns, name) for ns, (_, left_out, _) in report.items() for name in left_out}
    ranked = [pair for pair in unsupported.not_yet() if pair in missing]
    for rank, (ns, name) in enumerate(ranked, 1):
        print(f"{rank:4d}. {unsupported.PREFIX[ns]}.{name}")


if __name__ == "__main__":
    main()
