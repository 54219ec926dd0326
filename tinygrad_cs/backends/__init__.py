"""``tg.backends``: the switches PyTorch programs set (``cudnn.benchmark = True``).

There is no cuDNN or MPS here; the modules exist so such programs run unchanged, and
their ``is_available()`` says False.
"""
from . import cudnn, mps
