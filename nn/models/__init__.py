"""``tinygrad_cs.nn.models``: the CS231n model zoo (see ``registry`` for the names)."""
from . import registry
from .registry import ZooEntry, get, names, register

__all__ = ["ZooEntry", "get", "names", "register", "registry"]
