"""One MAC counter: every count of the same module agrees, wherever it is made.

The split-point profile (explorer.profile), a built candidate's profile (netmodels.candidate),
the analytic workload of a sweep and the price of a built candidate all count a module's MACs
through netmodels.profiling; these tests fail if any two of them disagree on one module."""
import pytest
import torch
from torch import nn

from explorer.cost.candidate import price_candidate
from explorer.cost.codecs import CodecChoice
from explorer.cost.hardware import Hardware
from explorer.cost.points import DesignPoints
from explorer.cost.workload import workload
from explorer.profile.table import profile_model
from hwmodels import load_preset
from netmodels.candidate import CandidateSpec, build_candidate
from netmodels.channels import ChannelSpec
from netmodels.profiling import trace_units
from netmodels.zoo import UnitModel, build_model

HARDWARE = Hardware("pi3", load_preset("raspberry-pi-3"), "wifi", load_preset("wifi-80211bgn-004:2mbps"),
                    "gpu", load_preset("rtx-2080ti"))


def whole_model_macs(model: nn.Module, shape) -> int:
    """The model traced as one unit."""
    x = torch.zeros(1, *shape)
    return trace_units(model, lambda: model(x), [("all", model)], input_shape=shape).units[0].macs


@pytest.mark.parametrize("name", ["small-cnn", "resnet18-cifar", "vgg16-cifar"])
def test_units_zoo_profile_candidates_and_prices_agree(name):
    torch.manual_seed(0)
    model = build_model(name)
    profile = profile_model(model, name=name)
    assert profile.total_macs == whole_model_macs(model, model.input_shape)
    load = workload(profile, DesignPoints.product(splits=range(-1, len(profile.names) - 1), sparsities=[0.0],
                                                  codecs=(CodecChoice("none"),)))
    assert load.head_macs.tolist() == profile.head_macs.tolist()
    assert (load.head_macs + load.tail_macs).tolist() == [profile.total_macs] * len(profile.names)
    for k in (0, len(profile.names) // 2, len(profile.names) - 2):
        spec = CandidateSpec(model=name, dataset="synthetic", split=k)
        candidate = build_candidate(spec, input_shape=model.input_shape, num_classes=model.num_classes,
                                    base_model=model)
        built = candidate.profile
        assert built.head_macs == profile.head_macs[k + 1] and built.encoder_macs == 0
        assert built.head_macs + built.tail_macs == profile.total_macs
        assert profile_model(candidate.head_model(), name="head").total_macs == built.head_macs
        priced = price_candidate(built, HARDWARE)
        assert priced["head_macs"] == built.head_macs and priced["tail_macs"] == built.tail_macs


def test_an_encoder_is_counted_once_and_apart_from_the_head():
    torch.manual_seed(0)
    spec = CandidateSpec(model="small-cnn", dataset="synthetic", split="pool2", method="bottlenetpp",
                         compression_ratio=16, channel=ChannelSpec("bec"))
    candidate = build_candidate(spec, input_shape=(3, 32, 32), num_classes=10)
    built = candidate.profile
    encoder = candidate.module.encoder
    x = torch.zeros(1, *built.feature_shape)
    state = torch.zeros(1)
    assert built.encoder_macs == trace_units(encoder, lambda: encoder(x, state), [("encoder", encoder)]).units[0].macs > 0
    priced = price_candidate(built, HARDWARE)
    assert priced["head_macs"] == built.head_macs and priced["encoder_macs"] == built.encoder_macs
    assert sum(u.macs for u in built.device_units) == built.head_macs + built.encoder_macs


class MyConv(nn.Conv2d):
    """A user's layer: a subclass of a layer the counter knows must not count as zero."""

    def forward(self, x):
        return super().forward(x) * 2


def test_a_subclass_of_a_known_layer_is_counted():
    model = UnitModel([("mine", MyConv(3, 8, 3, padding=1)), ("pool", nn.AdaptiveAvgPool2d(1)),
                       ("flat", nn.Flatten())], input_shape=(3, 8, 8), num_classes=8)
    assert profile_model(model, name="mine").total_macs == 8 * 3 * 3 * 3 * 8 * 8


def test_a_candidate_prices_by_layer_class_as_the_zoo_profile_does():
    import dataclasses

    import pytest

    from explorer.cost.price import price_points

    torch.manual_seed(0)
    model = build_model("resnet18-cifar")
    profile = profile_model(model, name="resnet18-cifar")
    gpu = dataclasses.replace(load_preset("h200"), per_layer_class=True, host_overlap=True, batch=8.0,
                              conv_kernel_overhead_s=2e-5, norm_kernel_overhead_s=1e-5,
                              elementwise_kernel_overhead_s=5e-6, kernel_floor_s=2e-6)
    hardware = Hardware("h200", gpu, "wifi", load_preset("wifi-80211bgn-004:2mbps"), "gpu", gpu)
    for k in (0, 5):
        spec = CandidateSpec(model="resnet18-cifar", dataset="synthetic", split=k)
        built = build_candidate(spec, input_shape=model.input_shape, num_classes=model.num_classes,
                                base_model=model).profile
        swept = price_points(profile, DesignPoints.product(splits=[k], sparsities=[0.0],
                                                           codecs=(CodecChoice("none"),)), hardware)
        priced = price_candidate(built, hardware)
        assert priced["head_s"] == pytest.approx(swept["head_s"][0])
        assert priced["tail_s"] == pytest.approx(swept["tail_s"][0])


def test_a_candidate_trained_through_bit_erasures_sends_its_bits_uncoded_and_one_trained_without_them_coded():
    """000 IV.B: the baselines need rate-1/2 LDPC over the BEC, BottleNet++ trained through the
    erasures does not. The same payload over bec-p0.01-ldpc: twice the airtime when coded."""
    bec = Hardware("pi3", load_preset("raspberry-pi-3"), "bec", load_preset("bec-p0.01-ldpc"),
                   "2080ti", load_preset("rtx-2080ti"))

    def priced(channel):
        torch.manual_seed(0)
        spec = CandidateSpec(model="small-cnn", dataset="synthetic", split="pool2", method="bottlenetpp",
                             compression_ratio=16, channel=channel)
        return build_candidate(spec, input_shape=(3, 32, 32), num_classes=10).profile

    erasures, quantised = priced(ChannelSpec("bec", p=0.01)), priced(ChannelSpec("bec", p=0.0))
    assert erasures.uncoded and not quantised.uncoded and erasures.payload_bits == quantised.payload_bits
    link_s = [price_candidate(p, bec)["link_s"] for p in (erasures, quantised)]
    assert link_s[1] == pytest.approx(2 * link_s[0]) and link_s[0] == pytest.approx(erasures.payload_bits / 1e6)
    assert priced(ChannelSpec("bec", p=0.0, train_range=(0.0, 0.1))).uncoded
