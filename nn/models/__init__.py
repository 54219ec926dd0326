"""``tinygrad_cs.nn.models``: the CS231n model zoo (see ``registry`` for the names).

Every zoo model is also a torchvision-style constructor here, ``models.resnet18(num_classes=
10)``, ``models.vgg11_bn(...)``, ``models.char_transformer(...)``, as is every model class and
builder a model file exports (``models.ResNet``, ``models.CharRNN``, ...). Importing this
package loads the model files (about 50 ms) so that a constructor's name always means the
constructor, even where a model file has the same name (``models.mlp`` is the builder; the
file is ``tinygrad_cs.nn.models.mlp`` in ``sys.modules``).
"""
import importlib

from . import registry
from .registry import ZooEntry, get, names, register

__all__ = ["ZooEntry", "get", "names", "register", "registry"]


def _exported() -> dict:
    """Every public name of the model files (``registry.PROVIDERS``), then every zoo name's
    builder (these win)."""
    found = {}
    for module_name in registry.PROVIDERS:
        module = importlib.import_module(module_name)
        found.update({name: getattr(module, name) for name in getattr(module, "__all__", ())})
    found.update({name: registry.get(name).build for name in registry.names()})
    return found


_CONSTRUCTORS = _exported()
globals().update(_CONSTRUCTORS)  # after the imports, which bound the files' names here


def __getattr__(name: str):
    raise AttributeError(f"module 'tinygrad_cs.nn.models' has no attribute {name!r} (zoo "
                         f"models: tinygrad_cs.nn.models.names())")


def __dir__() -> list:
    return sorted({*__all__, *_CONSTRUCTORS})
