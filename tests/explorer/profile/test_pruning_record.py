"""The profile's record of the head pruning plans (explorer.profile.pruning)."""
from __future__ import annotations

import pytest
import torch

from explorer.profile.pruning import _plans, layer_modules
from explorer.profile.table import profile_model
from netmodels.profiling import trace_model
from netmodels.pruning import plan_pruning
from netmodels.zoo import build_model


@pytest.mark.parametrize("name", ["resnet18", "vgg16-cifar", "small-cnn"])
def test_planning_on_the_shape_only_copy_is_planning_on_the_model(name):
    torch.manual_seed(0)
    model = build_model(name, input_shape=(3, 64, 64) if name == "resnet18" else None)
    trace = trace_model(model, layers=layer_modules(model))
    assert _plans(model, trace) == [plan_pruning(model, k, scope="head") for k in range(model.last_split + 1)]


def test_the_record_holds_the_groups_of_every_head():
    model = build_model("resnet18-cifar")
    record = profile_model(model, name="resnet18-cifar").pruning
    # the stem (a feature at conv1 only), 8 blocks' internal convs, 9 feature selections
    assert record.channels.tolist() == [64] + [64, 64, 128, 128, 256, 256, 512, 512] + [64, 64, 128, 128, 256, 256,
                                                                                       512, 512, 512]
    assert record.active[0].sum() == 0 and record.active[1].tolist() == [True] + [False] * 17
    # the feature after layer2.1 is its selection; after avgpool the scatter has restored it
    assert record.feature[model.split_index("layer2.1") + 1] == 9 + 3
    assert record.feature[model.split_index("avgpool") + 1] == -1


def test_another_input_shape_than_the_models_has_no_record():
    model = build_model("resnet18-cifar")
    assert profile_model(model, name="resnet18-cifar", input_shape=(3, 48, 48)).pruning is None
