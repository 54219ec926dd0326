"""Data: data sets, loaders and transforms, named as ``torch.utils.data`` / torchvision.

``load_dataset(name)`` gives a named set as ``Splits`` (digits, iris, wine, fashion-mnist,
spiral, text; the detection sets shapes and digits-detection, see ``data.detection``); ``DataLoader`` batches any map-style data set into Tensors; ``transforms`` holds
the augmentations. Nothing is ever downloaded.
"""
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split, stratified_split
from .loader import DataLoader, default_collate
from .samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                       SubsetRandomSampler, WeightedRandomSampler)
from .splits import Splits
from .registry import DATASETS, DETECTION_DATASETS, load_dataset
from .fashion_mnist import load_fashion_mnist
from .idx import read_idx
from .spiral import spiral
from . import transforms
from .text import CharCorpus, char_splits

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]
__all__ += [
                       "DATASETS",
                       "DETECTION_DATASETS",
                       "CharCorpus",
                       "ConcatDataset",
                       "DataLoader",
                       "Dataset",
                       "Splits",
                       "Subset",
                       "TensorDataset",
                       "char_splits",
                       "default_collate",
                       "load_dataset",
                       "load_fashion_mnist",
                       "random_split",
                       "read_idx",
                       "spiral",
                       "stratified_split",
                       "transforms",
]
