"""``tg.utils.data``: ``torch.utils.data``'s names for the loader and data sets of
``tinygrad_cs.data`` (one implementation, two import paths)."""
from tinygrad_cs.data import (
                              DataLoader,
                              Dataset,
                              Subset,
                              TensorDataset,
                              default_collate,
                              random_split,
)

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate",
           "random_split"]
