"""The analytic workload of a pruned head against the candidate built and physically pruned.

The analytic model (explorer.cost.workload, from the profile's explorer.profile.pruning record)
reproduces the pruner's plan and rounding, so a head's MACs, weights, activation traffic (unit
by unit and by layer class) and the feature sent equal the built candidate's exactly (to float
rounding of the keep fractions)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from explorer.cost.codecs import CodecChoice
from explorer.cost.points import DesignPoints
from explorer.cost.workload import pruned_counts, workload
from explorer.profile.table import profile_model
from netmodels.candidate import CandidateSpec, build_candidate
from netmodels.graph import graph_unit_model
from netmodels.pruning import pruned_count
from netmodels.zoo import UnitModel, build_model

# (model, split, method): a stem whose consumer cannot shrink (resnet conv1, and carried through
# the max-pool of the ImageNet stem), a residual block's feature selection (layer2.1), a
# selection with the head running on (avgpool), chain features at a conv and after a pool, a
# linear consumer in the head (fc6)
CASES = [
    ("resnet18", "maxpool", "twostep"), ("resnet18-cifar", "conv1", "twostep"),
    ("resnet18-cifar", "layer2.1", "threestep"), ("resnet18-cifar", "avgpool", "threestep"), ("vgg16-cifar", "pool2", "twostep"),
    ("vgg16-cifar", "conv4_3", "threestep"), ("vgg16-cifar", "fc6", "threestep"),
    ("small-cnn", "conv1", "twostep"), ("small-cnn", "pool2", "threestep"),
]
_MODELS: dict[str, tuple[UnitModel, object]] = {}


def model_and_profile(name: str):
    if name not in _MODELS:
        torch.manual_seed(0)
        model = build_model(name, input_shape=(3, 64, 64) if name == "resnet18" else None)
        _MODELS[name] = model, profile_model(model, name=name)
    return _MODELS[name]


def points(split: int, sparsity: float) -> DesignPoints:
    return DesignPoints.product(splits=[split], sparsities=[sparsity], codecs=(CodecChoice("none"),))


def exact(value) -> pytest.approx:
    return pytest.approx(value, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("sparsity", [0.25, 0.5])
@pytest.mark.parametrize("name,split,method", CASES)
def test_the_analytic_head_is_the_built_pruned_head(name, split, method, sparsity):
    model, profile = model_and_profile(name)
    k = model.split_index(split)
    ratio = {"compression_ratio": 1024} if method == "threestep" else {}
    spec = CandidateSpec(model=name, dataset="synthetic", split=split, sparsity=sparsity, method=method, **ratio)
    built = build_candidate(spec, input_shape=model.input_shape, num_classes=model.num_classes,
                            base_model=model).profile
    load = workload(profile, points(k, sparsity))
    bits = profile.bits
    assert load.head_macs[0] == exact(built.head_macs)
    assert load.head_weight_bytes[0] == exact(built.head_params * bits.weight / 8)
    assert load.raw_feature_bits[0] == exact(math.prod(built.feature_shape) * bits.feature_bits)
    units = built.device_units[:k + 1]  # the head's units (the encoder after them)
    head = load.device
    assert head.macs[0, :k + 1] == exact([u.macs for u in units])
    assert head.activation_bytes[0, :k + 1] == exact([u.activation_elements * bits.feature_bits / 8 for u in units])
    classes = np.array([u.classes for u in units], dtype=float)  # (units, classes, 4)
    analytic = np.stack([head.classes.macs[0], head.classes.weight_bytes[0] * 8 / bits.weight,
                         head.classes.activation_bytes[0] * 8 / bits.feature_bits, head.classes.kernels[0]], axis=-1)
    assert analytic[:k + 1] == exact(classes)
    sizes = [math.prod(model.input_shape) * bits.input_bits / 8] + [u.output_elements * bits.feature_bits / 8
                                                                   for u in units]
    assert load.part_peak_activation_bytes[0] == exact(max(a + b for a, b in zip(sizes, sizes[1:])))


@pytest.mark.parametrize("name", ["resnet18-cifar", "vgg16-cifar", "small-cnn"])
def test_sparsity_zero_is_the_unpruned_profile(name):
    _, profile = model_and_profile(name)
    splits = range(-1, len(profile.names) - 1)
    grid = DesignPoints.product(splits=splits, sparsities=[0.0], codecs=(CodecChoice("none"),))
    load, rule = workload(profile, grid), workload(dataclasses.replace(profile, pruning=None), grid)
    assert load.head_macs.tolist() == profile.head_macs.tolist()
    assert load.head_weight_bytes.tolist() == profile.head_weight_bytes.tolist()
    assert load.sent_bits.tolist() == profile.feature_bits.tolist()
    for field in ("macs", "weight_bytes", "activation_bytes"):
        assert getattr(load.device, field).tolist() == getattr(rule.device, field).tolist()
    for field in ("macs", "weight_bytes", "activation_bytes", "kernels"):
        assert getattr(load.device.classes, field).tolist() == getattr(rule.device.classes, field).tolist()
    assert load.part_peak_activation_bytes.tolist() == rule.part_peak_activation_bytes.tolist()


def test_the_residual_stream_keeps_its_channels():
    """A ResNet head keeps about (1 - s) of its MACs (one pruned side per conv), not (1 - s)^2."""
    model, profile = model_and_profile("resnet18-cifar")
    k = model.split_index("layer2.1")
    load = workload(profile, points(k, 0.5))
    rule = workload(dataclasses.replace(profile, pruning=None), points(k, 0.5))
    assert 0.45 < load.head_macs[0] / profile.head_macs[k + 1] < 0.55
    assert rule.head_macs[0] / profile.head_macs[k + 1] < 0.3


def test_the_rounding_is_the_pruners():
    sparsities = np.round(np.arange(0, 1, 0.01), 2)
    channels = np.array([1, 2, 3, 7, 16, 64, 100, 512])
    expected = [[pruned_count(float(s), int(c)) for c in channels] for s in sparsities]
    assert pruned_counts(sparsities, channels).tolist() == expected


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.act, self.fc = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.act(self.conv(x)).mean((2, 3)))


def test_models_the_pruner_does_not_plan_keep_the_rule():
    """A traced graph and a unit model with a layer run twice have no plan record: unit 0 scales
    by (1 - s), later units by (1 - s)^2."""
    relu = nn.ReLU()
    shared = UnitModel([("a", nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), relu)),
                        ("b", nn.Sequential(nn.Conv2d(8, 4, 3, padding=1), relu))],
                       input_shape=(3, 8, 8), num_classes=1)
    graph = graph_unit_model(Shared().eval(), (3, 8, 8)).eval()
    for model in (shared, graph):
        profile = profile_model(model, name="unplanned")
        assert profile.pruning is None
        load = workload(profile, points(1, 0.5))
        expected = profile.unit_macs[1] * 0.5 + profile.unit_macs[2] * 0.25
        assert load.head_macs[0] == pytest.approx(expected)
