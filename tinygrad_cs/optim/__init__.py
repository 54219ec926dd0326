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
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
