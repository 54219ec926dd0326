"""``tg.utils.data``: ``torch.utils.data``'s names for the loader, data sets and samplers of
``tinygrad_cs.data`` (one implementation, two import paths)."""
from tinygrad_cs.data import (
                              BatchSampler,
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

__all__ = ["BatchSampler", "DataLoader", "Dataset", "RandomSampler", "Sampler",
           "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
           "WeightedRandomSampler", "default_collate", "random_split"]
