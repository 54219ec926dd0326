"""``tinygrad_cs.vision.transforms``: torchvision.transforms' per-image transforms.

``import tinygrad_cs.vision.transforms as transforms`` (or ``as T``) and
``transforms.functional`` (``as TF``) follow torchvision's names, arguments and defaults;
``transforms.py`` says what the images are, ``functional.py`` holds the maths.
"""
from .transforms import (CenterCrop, Compose, ConvertImageDtype, Grayscale, Lambda, Normalize,
                         PILToTensor, Pad, RandomAffine, RandomCrop, RandomHorizontalFlip,
                         RandomRotation, RandomVerticalFlip, Resize, ToDtype, ToPILImage,
                         ToTensor)
from .functional import InterpolationMode
from . import functional

__all__ = ["CenterCrop", "Compose", "ConvertImageDtype", "Grayscale", "InterpolationMode",
           "Lambda", "Normalize", "PILToTensor", "Pad", "RandomAffine", "RandomCrop",
           "RandomHorizontalFlip", "RandomRotation", "RandomVerticalFlip", "Resize", "ToDtype",
           "ToPILImage", "ToTensor", "functional"]
