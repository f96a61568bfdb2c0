import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from netmodels.candidate import CandidateSpec, ChannelSpec, build_candidate, measure_payload
from netmodels.codecs import build_codec
from netmodels.data import eval_batches, load_dataset
from netmodels.methods import METHODS
from netmodels.zoo import build_model
from splitbase import ModelError

SHAPE = (1, 16, 16)


def spec(**kw):
    return CandidateSpec(**{"model": "small-cnn", "dataset": "synthetic", "split": "pool1", **kw})


def build(**kw):
    torch.manual_seed(0)
    return build_candidate(spec(**kw), input_shape=SHAPE, num_classes=10)


@pytest.mark.parametrize("split", ["input", "conv1", "pool1", "conv3", "fc", 2])
def test_plain_split_model_is_the_zoo_head_and_tail(split):
    torch.manual_seed(0)
    model = build_model("small-cnn", input_shape=SHAPE, num_classes=10).eval()
    candidate = build_candidate(spec(split=split), input_shape=SHAPE, num_classes=10, base_model=model)
    split_model = candidate.module.eval()
    k = model.split_index(split)
    head, tail = model.head(k), model.tail(k)
    assert split_model.head.state_dict().keys() == head.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(split_model.head.state_dict().values(), head.state_dict().values()))
    assert all(torch.equal(a, b) for a, b in zip(split_model.tail.state_dict().values(), tail.state_dict().values()))
    assert len(split_model.head) == k + 1 and len(split_model.tail) == len(model.units) - k - 1
    x = torch.randn(3, *SHAPE)
    with torch.no_grad():
        assert torch.equal(split_model(x), model(x))
    if k >= 0:
        assert split_model.head[0] is not model.units[0]  # the base model is copied


def test_base_model_is_not_changed_by_training_the_candidate():
    model = build_model("small-cnn", input_shape=SHAPE, num_classes=10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    candidate = build_candidate(spec(method="bottlenetpp", compression_ratio=8), input_shape=SHAPE,
                                num_classes=10, base_model=model)
    for p in candidate.module.parameters():
        p.data.add_(1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_profile_shows_the_encoder_cost_and_the_smaller_feature():
    candidate = build(method="bottlenetpp", compression_ratio=32, channel=ChannelSpec("bec", p=0.01, bits=8))
    profile = candidate.profile
    assert profile.split_index == 1 and profile.split_name == "pool1"
    assert profile.feature_shape == (16, 8, 8)
    # ratio 32 at 8 bits: 16*8*8*32 / (C' * 4 * 4 * 8) = 32  ->  C' = 8
    assert profile.sent_shape == (8, 4, 4) and profile.sent_elements == 128
    assert profile.compression_ratio == 32.0
    assert profile.sent_elements < math.prod(profile.feature_shape)
    # encoder conv: 8 filters over 16 + 1 (state plane) channels, 2x2, 4x4 output; decoder: 8 -> 16, 2x2, 4x4 input
    assert profile.encoder_macs == 8 * 17 * 2 * 2 * 4 * 4
    assert profile.decoder_macs == 8 * 16 * 2 * 2 * 4 * 4
    assert profile.encoder_params == 8 * 17 * 4 + 2 * 8 and profile.decoder_params == 8 * 16 * 4 + 2 * 16
    assert profile.pruned_channels == 0 and profile.sparsity == 0.0
    json.dumps(profile.to_dict())  # plain values only


@pytest.mark.parametrize("split, ratio, stride, state_input", [
    ("pool1", 16, 2, False),    # 16 x 8 x 8
    ("pool1", 16, 2, True),
    ("conv2", 8, 2, False),     # 32 x 8 x 8
    ("pool2", 4, 1, True),      # 32 x 4 x 4: 1x1 conv, no spatial reduction
    ("conv1", 6, 4, False),     # 16 x 16 x 16 at stride 4
])
def test_encoder_and_decoder_macs_are_traced_as_built(split, ratio, stride, state_input):
    """The profile's encoder / decoder MACs are the one counter's trace of the built layers; the
    hand formulas of the paper's layers (conv K C R S P Q, transposed conv C_in C_out R S H W) are
    the expectation."""
    channel = ChannelSpec("awgn", psnr_db=20) if state_input else ChannelSpec()
    candidate = build(method="bottlenetpp", compression_ratio=ratio, split=split, channel=channel,
                      options={"stride": stride, "channel_state_input": state_input})
    profile = candidate.profile
    c = profile.feature_shape[0]
    cs, hs, ws = profile.sent_shape
    assert profile.encoder_macs == cs * (c + int(state_input)) * stride * stride * hs * ws
    assert profile.decoder_macs == cs * c * stride * stride * hs * ws
    assert profile.device_units[-1].name == "encoder" and profile.server_units[0].name == "decoder"
    assert sum(u.macs for u in profile.device_units) == profile.head_macs + profile.encoder_macs


@pytest.mark.parametrize("channel, bits_per_element, analog", [
    (ChannelSpec("bec", p=0.01, bits=4), 4, False),
    (ChannelSpec("bsc", p=0.001, bits=1), 1, False),
    (ChannelSpec("awgn", psnr_db=20), 32, True),
    (ChannelSpec(), 32, False),
])
def test_achieved_compression_ratio_is_exact(channel, bits_per_element, analog):
    profile = build(method="bottlenetpp", compression_ratio=50, channel=channel).profile
    c, h, w = profile.sent_shape
    raw = 16 * 8 * 8 * 32
    sent = c * h * w
    assert profile.raw_feature_bits == raw
    assert profile.bits_per_element == bits_per_element
    assert profile.payload_bits == sent * bits_per_element
    assert profile.compression_ratio == raw / (sent * bits_per_element)  # achieved, not the 50 asked
    assert profile.analog_values == (sent if analog else 0)
    assert profile.channel_uses == (math.ceil(sent / 2) if analog else 0)


def test_plain_split_ratios_count_side_information_and_the_input_image():
    noisy = build(channel=ChannelSpec("bec", p=0.01, bits=4)).profile
    assert noisy.header_bits == 64 and noisy.payload_bits == 16 * 8 * 8 * 4 + 64
    assert noisy.compression_ratio == 16 * 8 * 8 * 32 / (16 * 8 * 8 * 4 + 64)
    raw = build().profile
    assert raw.compression_ratio == 1.0 and raw.payload_bits == 16 * 8 * 8 * 32
    image = build(split="input").profile
    assert image.raw_feature_bits == 16 * 16 * 8 and image.compression_ratio == 1.0


def test_sparsity_is_checked_to_lie_in_0_1():
    assert spec(sparsity=0.5).sparsity == 0.5  # pruning: tests/netmodels/test_pruning.py
    with pytest.raises(ModelError, match=r"sparsity must be in \[0, 1\)"):
        spec(sparsity=1.0)


def test_bad_split_name_lists_the_units():
    with pytest.raises(ModelError, match="'conv9' is not a unit.*conv1, pool1, conv2, pool2, conv3, pool3, fc"):
        build(split="conv9")


@pytest.mark.parametrize("split, reason", [("input", "nothing runs on the device"), ("fc", "needs a C x H x W map")])
def test_method_that_does_not_apply_says_why(split, reason):
    with pytest.raises(ModelError, match=f"does not apply at split '{split}'.*{reason}"):
        build(split=split, method="bottlenetpp", compression_ratio=4)


@pytest.mark.parametrize("kw, message", [
    (dict(method="bottlenetpp", compression_ratio=4, options={"strid": 2}), "options.strid: unknown key .*stride"),
    (dict(method="bottlenetpp"), "needs a compression_ratio"),
    (dict(method="bottlenetpp", compression_ratio=1e6), "beyond this encoder"),
    (dict(method="none", compression_ratio=4), "takes no compression_ratio"),
    (dict(method="bottlenet", compression_ratio=4, channel=ChannelSpec("awgn")), "assumes a reliable link"),
    (dict(method="magic"), "unknown method 'magic'.*bottlenet, bottlenetpp, .*none"),
])
def test_bad_candidates_are_model_errors(kw, message):
    with pytest.raises(ModelError, match=message):
        build(**kw)


@pytest.mark.parametrize("kw, message", [
    (dict(kind="awgn", p=0.1), "takes no p"),
    (dict(kind="none", psnr_db=10), "takes no psnr_db"),
    (dict(kind="bec", p=1.5), "probability"),
    (dict(kind="bec", bits=0), "bits must be an integer"),
    (dict(kind="wifi"), r"unknown channel 'wifi' \(known: awgn, bec, bsc, none\)"),
])
def test_channel_spec_is_validated(kw, message):
    with pytest.raises(ModelError, match=message):
        ChannelSpec(**kw)


def test_channel_spec_defaults_are_the_papers():
    assert ChannelSpec("awgn").psnr_db == 20.0
    assert (ChannelSpec("bec").p, ChannelSpec("bec").bits) == (0.01, 8)
    assert spec(channel={"kind": "bsc", "p": 0.02}).channel == ChannelSpec("bsc", p=0.02)


def test_channel_state_is_drawn_in_training_and_fixed_in_eval():
    module = build(method="bottlenetpp", compression_ratio=8,
                   channel=ChannelSpec("awgn", psnr_db=20, train_range=(5, 25))).module
    x = torch.randn(4, *SHAPE)
    module.train()
    module(x)
    drawn = module.channel.state.clone()
    assert 5 <= drawn[0] <= 25 and torch.all(drawn == drawn[0])  # one state per batch
    module.eval()
    module(x)
    assert torch.all(module.channel.state == 20.0)


def test_measure_payload_counts_the_real_jpeg_files():
    data = load_dataset("synthetic", shape=SHAPE, num_train=32, num_test=20)
    candidate = build(method="bottlenet", compression_ratio=8, split="pool2")
    nominal = candidate.profile
    assert not nominal.payload_measured and nominal.codec == "jpeg"
    assert nominal.payload_bits == 64 * 2 * 2 * 8 + 64
    measured = measure_payload(candidate, data, max_samples=10)
    codec = build_codec("jpeg", quality=75)
    module = candidate.module.eval()
    x = next(iter(eval_batches(data, batch_size=10)))[0]
    expected = float(np.mean(codec.batch_bits(module.sent(x))))
    assert measured.payload_measured and measured.payload_bits == expected
    assert measured.compression_ratio == nominal.raw_feature_bits / expected
    assert dataclasses.replace(measured, payload_bits=nominal.payload_bits, compression_ratio=nominal.compression_ratio,
                               payload_measured=False) == nominal


@pytest.mark.parametrize("name", METHODS.names())
def test_every_method_builds_a_trainable_candidate(name):
    """The contract a new method meets: built from the registry with a ratio (or without, if it
    takes none), its module trains end to end and its stages name known parts."""
    options = {"bottlefit": {"stride": 1}}.get(name, {})  # its bottleneck at conv2 of a 16x16 input
    try:
        candidate = build(method=name, compression_ratio=8, split="conv2", options=options)
    except ModelError as exc:
        if "takes no compression_ratio" not in str(exc):
            raise
        candidate = build(method=name, split="conv2", options=options)
    out = candidate.module(torch.randn(2, *SHAPE))
    assert out.shape == (2, 10)
    out.sum().backward()
    for stage in candidate.stages:
        assert stage.trainable is None or set(stage.trainable) <= {"head", "encoder", "decoder", "tail"}
    assert candidate.method.description and candidate.profile.head_macs > 0


def test_a_base_model_trained_on_the_gpu_profiles_as_any_other():
    """After CUDA training the base model comes back channels_last, whose CPU forward calls
    as_strided_ on the way: the trace must know it (found by a GPU run of resnet50-cifar)."""
    torch.manual_seed(0)
    model = build_model("resnet18-cifar", input_shape=(1, 32, 32), num_classes=10)
    model = model.to(memory_format=torch.channels_last).eval()
    spec = CandidateSpec(model="resnet18-cifar", dataset="synthetic", split="conv1", method="bottlenetpp",
                         compression_ratio=64, channel=ChannelSpec("awgn"))
    profile = build_candidate(spec, input_shape=(1, 32, 32), num_classes=10, base_model=model).profile
    assert profile.head_macs == 64 * 1 * 9 * 32 * 32
