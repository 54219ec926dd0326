"""``tinygrad_cs.optim.lr_scheduler``: learning-rate schedules, as ``torch.optim.lr_scheduler``.

Create a scheduler after its optimizer and call ``scheduler.step()`` after
``optimizer.step()`` (once per epoch, or per batch for ``OneCycleLR``;
``ReduceLROnPlateau.step(metric)`` takes the monitored value).
"""
from .cosine import CosineAnnealingLR
from .decay import ExponentialLR, LambdaLR, LinearLR, MultiStepLR, StepLR
from .one_cycle import OneCycleLR
from .plateau import ReduceLROnPlateau
from .scheduler import LRScheduler
from .sequential import SequentialLR

_LRScheduler = LRScheduler  # the pre-2.0 PyTorch name, still used by older code

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "LambdaLR", "LinearLR",
           "MultiStepLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "StepLR"]
