"""``tinygrad_cs.optim``: optimizers and learning-rate schedules, as ``torch.optim``.

Optimizers work on any iterable of Tensors (``model.parameters()``) or of
parameter groups (dicts with ``'params'`` and per-group hyper-parameters), and
update the parameters' arrays in place, outside the graph::

    opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = tg.optim.lr_scheduler.StepLR(opt, step_size=30)
    for epoch in range(90):
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        sched.step()

``LBFGS`` evaluates the loss several times per step, so its ``step`` takes a closure
(``opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss``).
"""
from tinygrad_cs import unsupported as _unsupported
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamax import Adamax
from .adamw import AdamW
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
           "LBFGS",
           "SGD",
           "Adadelta",
           "Adagrad",
           "Adam",
           "AdamW",
           "Adamax",
           "NAdam",
           "Optimizer",
           "RAdam",
           "RMSprop",
           "lr_scheduler",
]


def __getattr__(name: str):
    """A PyTorch name that tinygrad_cs leaves out raises an AttributeError saying why."""
    raise _unsupported.missing("optim", name, "module 'tinygrad_cs.optim'",
                               globals().__contains__)
