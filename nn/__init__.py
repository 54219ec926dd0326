"""``tinygrad_cs.nn``: building blocks for neural networks on top of the engine.

* ``Module`` / ``Parameter``: the base class of layers and models, PyTorch's API
  (``named_parameters``, ``state_dict``, hooks, ``train``/``eval``, ...);
* containers: ``Sequential``, ``ModuleList``, ``ModuleDict``;
* shape modules: ``Identity``, ``Flatten``, ``Unflatten``;
* ``init`` (Kaiming, Xavier, orthogonal, ...), ``utils`` (gradient clipping);
* ``functional`` (the stateless ops, as ``torch.nn.functional``) and ``scalar``
  (micrograd's ``Neuron`` / ``Layer`` / ``MLP`` built on ``tg.Value``);
* layers: ``Linear``, ``Embedding``, ``Dropout`` / ``Dropout2d`` / ``DropConnect``, the
  activations (``ReLU``, ``GELU``, ``Softmax``, ...);
* recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells ``RNNCell``, ``LSTMCell``,
  ``GRUCell``;
* attention: ``MultiheadAttention`` and the Transformer (``TransformerEncoderLayer``,
  ``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder``,
  ``Transformer``);
* losses (``CrossEntropyLoss``, ``MSELoss``, ...) and ``regularization.l2_penalty``;
* ``summary(model, input_size)``: torchinfo's layer table (output shapes, parameters,
  multiply-adds, receptive fields).
"""
from tinygrad_cs import unsupported as _unsupported
from . import functional, init, regularization, scalar, utils
from .activation import (ELU, GELU, LeakyReLU, LogSigmoid, LogSoftmax, ReLU, Sigmoid, Softmax,
                         Softplus, Tanh)
from .basic import Flatten, Identity, Unflatten
from .containers import ModuleDict, ModuleList, Sequential
from .dropout import DropConnect, Dropout, Dropout2d
from .embedding import Embedding
from .linear import Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, MultiMarginLoss, NLLLoss, SmoothL1Loss)
from .module import Module
from .parameter import Parameter
from .rnn import GRU, LSTM, RNN, RNNBase
from .rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase

__all__ = ["ELU", "GELU", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "DropConnect",
           "Dropout", "Dropout2d", "Embedding", "Flatten", "HuberLoss", "Identity", "KLDivLoss",
           "L1Loss", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MSELoss", "Module",
           "ModuleDict", "ModuleList", "MultiMarginLoss", "NLLLoss", "Parameter", "ReLU",
           "Sequential", "Sigmoid", "SmoothL1Loss", "Softmax", "Softplus", "Tanh", "Unflatten",
           "functional", "init", "regularization", "scalar", "utils"]
__all__ += ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

from .conv import Conv1d, Conv2d, ConvTranspose2d
from .normalization import (BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d,
                            LayerNorm)
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample

__all__ += ["AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d",
            "ConvTranspose2d", "GroupNorm", "InstanceNorm2d", "LayerNorm", "MaxPool2d",
            "Upsample"]

from .attention import MultiheadAttention
from .transformer import Transformer, TransformerDecoder, TransformerEncoder
from .transformer_layers import TransformerDecoderLayer, TransformerEncoderLayer

__all__ += ["MultiheadAttention", "Transformer", "TransformerDecoder",
            "TransformerDecoderLayer", "TransformerEncoder", "TransformerEncoderLayer"]

from . import parallel
from .parallel import DataParallel
from .summary import summary  # the function; the file stays importable as nn.summary

__all__ += ["DataParallel", "parallel", "summary"]

from .activation_extra import (CELU, GLU, SELU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh,
                               Mish, PReLU, ReLU6, RReLU, SiLU, Softmax2d, Softmin, Softshrink,
                               Softsign, Tanhshrink, Threshold)
from .distance import CosineSimilarity, PairwiseDistance
from .padding import (CircularPad1d, CircularPad2d, ConstantPad1d, ConstantPad2d,
                      ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d,
                      ZeroPad1d, ZeroPad2d)
from .parameter_containers import ParameterDict, ParameterList
from .pooling_more import AdaptiveAvgPool1d, AdaptiveMaxPool2d, AvgPool1d, MaxPool1d
from .fold import Fold, Unfold
from .layers_1d import ConvTranspose1d, Dropout1d, InstanceNorm1d
from .upsampling import PixelShuffle, PixelUnshuffle, UpsamplingNearest2d
from .loss_more import (CosineEmbeddingLoss, GaussianNLLLoss, HingeEmbeddingLoss,
                        MarginRankingLoss, MultiLabelSoftMarginLoss, PoissonNLLLoss,
                        SoftMarginLoss, TripletMarginLoss)

__all__ += [
    "CELU",
    "GLU",
    "SELU",
    "AdaptiveAvgPool1d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "CircularPad1d",
    "CircularPad2d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConvTranspose1d",
    "CosineEmbeddingLoss",
    "CosineSimilarity",
    "Dropout1d",
    "Fold",
    "GaussianNLLLoss",
    "Hardshrink",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "HingeEmbeddingLoss",
    "InstanceNorm1d",
    "MarginRankingLoss",
    "MaxPool1d",
    "Mish",
    "MultiLabelSoftMarginLoss",
    "PReLU",
    "PairwiseDistance",
    "ParameterDict",
    "ParameterList",
    "PixelShuffle",
    "PixelUnshuffle",
    "PoissonNLLLoss",
    "RReLU",
    "ReLU6",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "SiLU",
    "SoftMarginLoss",
    "Softmax2d",
    "Softmin",
    "Softshrink",
    "Softsign",
    "Tanhshrink",
    "Threshold",
    "TripletMarginLoss",
    "Unfold",
    "UpsamplingNearest2d",
    "ZeroPad1d",
    "ZeroPad2d",
]


def __getattr__(name: str):
    """``nn.models`` (the zoo) and ``nn.parallel`` load on first use; a PyTorch name that
    tinygrad_cs leaves out raises an AttributeError saying why."""
    if name in ("models", "parallel"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise _unsupported.missing("nn", name, "module 'tinygrad_cs.nn'",
                               globals().__contains__)
