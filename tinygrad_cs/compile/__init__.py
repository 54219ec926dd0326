"""``tg.compile``: trace a function into a program, transform it, replay it (see ``ir.py``).

``trace.py`` records a call (``trace_backward.py``: its backward hook;
``backward_ops.py``: elementwise backward formulas as ops; ``provenance.py``: values and
side effects a replay would get wrong, made graph breaks), ``api.py`` holds the guards and
the cache (``reach.py``: the modules and optimizers a function reaches), ``replay.py`` runs
a program (``lowered/``: the instructions it runs as bare numpy; one OpenBLAS thread for
small GEMMs through ``kernels/blas_threads.py``), ``format.py`` prints one, ``pipeline.py`` runs the passes;
``tinygrad_cs.viz`` draws programs (``viz/program.py``).

This package is named ``compile`` and ``tg.compile(fn)`` must call the function: importing
a subpackage sets it as an attribute of its parent, which would hide a function of that
name, so the module itself is made callable.
"""
import sys as _sys
import types as _types

from .api import CompiledFunction, compile
from .format import format_program
from .ir import Const, Instr, Program, Var, check

__all__ = ["CompiledFunction", "Const", "Instr", "Program", "Var", "check", "compile",
           "format_program"]


class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs):
        return compile(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
