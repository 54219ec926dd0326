"""``tg.utils``: PyTorch's ``torch.utils`` names (``tg.utils.data``)."""
from . import data
