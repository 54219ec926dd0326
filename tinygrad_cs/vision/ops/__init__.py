"""``tinygrad_cs.vision.ops``: torchvision.ops' counterpart (region-of-interest pooling here:
``roi_align``, ``roi_pool``, ``RoIAlign``, ``RoIPool``, ``MultiScaleRoIAlign``)."""
from .roi import MultiScaleRoIAlign, RoIAlign, RoIPool, roi_align, roi_pool

__all__ = ["MultiScaleRoIAlign", "RoIAlign", "RoIPool", "roi_align", "roi_pool"]
