"""``tg.utils.data``: ``torch.utils.data``'s names for the loader, data sets and samplers of
``tinygrad_cs.data`` (one implementation, two import paths). It belongs to the data layer,
above ``nn``: only ``tg.utils`` (loaded on first use) imports it, never the engine core."""
from tinygrad_cs import unsupported as _unsupported
from tinygrad_cs.data import (
                              BatchSampler,
                              ConcatDataset,
                              DataLoader,
                              Dataset,
                              RandomSampler,
                              Sampler,
                              SequentialSampler,
                              Subset,
                              SubsetRandomSampler,
                              TensorDataset,
                              WeightedRandomSampler,
                              default_collate,
                              random_split,
)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "RandomSampler", "Sampler",
           "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "default_collate", "random_split"]


def __getattr__(name: str):
    """A PyTorch name that tinygrad_cs leaves out raises an AttributeError saying why."""
    raise _unsupported.missing("data", name, "module 'tinygrad_cs.utils.data'",
                               globals().__contains__)
