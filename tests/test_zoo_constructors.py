"""torchvision-style constructors: ``models.resnet18(num_classes=10)`` for every zoo model,
from ``tinygrad_cs.nn.models`` and ``tinygrad_cs.vision.models`` alike."""
from __future__ import annotations

import pytest

import tinygrad_cs as tg
from tinygrad_cs import nn
from tinygrad_cs.nn.models import registry


@pytest.mark.parametrize("name", registry.names())
def test_every_zoo_model_is_a_constructor_by_its_name(name):
    assert getattr(nn.models, name) is registry.get(name).build
    assert getattr(tg.vision.models, name) is registry.get(name).build
    assert name in dir(nn.models)


def test_a_constructor_builds_what_the_registry_builds():
    tg.manual_seed(0)
    ours = nn.models.resnet20(num_classes=3, in_channels=1)
    tg.manual_seed(0)
    theirs = registry.get("resnet20").build(num_classes=3, in_channels=1)
    assert type(ours) is type(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert nn.models.CifarResNet is type(ours)  # the model classes are there too


def test_an_unknown_name_says_where_the_names_are():
    with pytest.raises(AttributeError, match="no attribute 'resnet9000'.*names()"):
        _ = nn.models.resnet9000
