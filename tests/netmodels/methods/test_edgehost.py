
import pytest
import torch

from netmodels.candidate import CandidateSpec, build_candidate, measure_payload
from netmodels.codecs import build_codec
from netmodels.data import eval_batches
from netmodels.methods.edgehost import JpegLink, QuantLink
from netmodels.recipes import train_candidate
from netmodels.training.config import TrainConfig
from splitbase import ModelError
from tests.netmodels.training_checks import seeded_candidate

SHAPE = (1, 32, 32)
CONFIG = TrainConfig(epochs=2, batch_size=32, lr=0.05, crop_padding=0, flip=False, device="cpu")


def candidate(base, split="pool2", **options):
    return seeded_candidate(base, SHAPE, split=split, method="edgehost", options=options)


def snapshot(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_split_retraining_leaves_the_head_bit_identical_and_trains_the_tail_at_random_qf(data, base, monkeypatch):
    c = candidate(base)
    (stage,) = c.stages
    assert stage.trainable == ("tail",)
    link = c.module.codec_proxy
    assert isinstance(link, JpegLink) and link.quality == 75 and link.train_quality == (30, 35)
    seen = []
    for quality, proxy in link.proxies.items():
        proxy.register_forward_hook(lambda m, i, o, q=int(quality): seen.append((m.training, q)))
    head, tail = snapshot(c.module.head), snapshot(c.module.tail)
    assert any("running_mean" in k for k in head)  # the head's BN statistics are checked too
    result = train_candidate(c, data, CONFIG, progress=False)
    assert same(snapshot(c.module.head), head)  # weights and BN buffers
    assert not same(snapshot(c.module.tail), tail)
    assert result.stages[0].result.loss_history[-1] < result.stages[0].result.loss_history[0]
    trained = {q for training, q in seen if training}
    assert trained <= set(range(30, 36)) and len(trained) > 1  # a QF drawn per batch in 30..35
    assert {q for training, q in seen if not training} == {75}  # evaluated at the candidate's QF
    assert result.profile.payload_measured and result.profile.codec == "jpeg"


def test_jpeg_payload_falls_as_the_quality_factor_falls(data, base):
    profiles = [measure_payload(candidate(base, quality=q, retrain=False), data, max_samples=32) for q in (95, 60, 20, 5)]
    bits = [p.payload_bits for p in profiles]
    assert all(p.payload_measured for p in profiles)
    assert bits == sorted(bits, reverse=True) and bits[0] > bits[-1]
    assert [p.compression_ratio for p in profiles] == [p.raw_feature_bits / b for p, b in zip(profiles, bits)]


def test_rle_huffman_is_lossless_after_quantisation_and_the_link_is_its_exact_round_trip(data, base):
    c = candidate(base, codec="rle-huffman", retrain=False)
    assert c.stages == () and isinstance(c.module.codec_proxy, QuantLink)
    codec = build_codec("rle-huffman", bits=8)
    module = c.module.eval()
    with torch.no_grad():
        feature = module.head(next(iter(eval_batches(data, batch_size=8)))[0])
        link = module.codec_proxy(feature)
    decoded, bits = codec.roundtrip(feature)
    assert torch.equal(link, decoded)  # the tail sees exactly what the host decodes
    again, _ = codec.roundtrip(decoded)
    assert torch.equal(again, decoded)  # lossless on the quantised feature
    profile = measure_payload(c, data, max_samples=32)
    assert profile.payload_measured and profile.compression_ratio > 1


def test_without_retraining_the_candidate_is_only_evaluated_with_the_codec(data, base):
    coarse, fine = candidate(base, quality=2, retrain=False), candidate(base, quality=95, retrain=False)
    assert coarse.stages == ()
    low, high = (train_candidate(c, data, CONFIG, progress=False) for c in (coarse, fine))
    assert low.stages == [] and low.profile.payload_measured
    assert low.test_accuracy <= high.test_accuracy and low.profile.compression_ratio > high.profile.compression_ratio


def test_without_headers_each_frame_sends_330_bytes_less_and_codes_the_same(data, base):
    whole, scan = (measure_payload(candidate(base, quality=20, retrain=False, **h), data, max_samples=16)
                   for h in ({}, {"headers": False}))
    assert whole.payload_bits - scan.payload_bits == pytest.approx(8 * 330)
    assert candidate(base, quality=20, headers=False).parts.codec_options == {"quality": 20, "headers": False}
    assert candidate(base, quality=20).parts.codec_options == {"quality": 20}  # unchanged without the option


@pytest.mark.parametrize("split", ["input", "fc"])
def test_any_split_point_is_coded(data, base, split):
    c = candidate(base, split=split, quality=50, retrain=False)
    with torch.no_grad():
        out = c.module.eval()(torch.randn(2, *SHAPE))
    assert out.shape == (2, 10)
    assert measure_payload(c, data, max_samples=8).payload_measured


@pytest.mark.parametrize("options, message", [
    ({"codec": "rle-huffman", "quality": 50}, "takes no quality"),
    ({"codec": "rle-huffman", "headers": False}, "takes no headers"),
    ({"codec": "jpeg", "bits": 4}, "takes no bits"),
    ({"retrain": False, "train_quality": [30, 35]}, "retrain is false"),
    ({"train_quality": [40, 30]}, "train_quality"),
    ({"quality": 0}, "quality"),
    ({"codec": "png"}, "codec"),
])
def test_bad_options_are_refused(base, options, message):
    with pytest.raises(ModelError, match=message):
        candidate(base, **options)


def test_a_requested_compression_ratio_is_refused(base):
    spec = CandidateSpec("small-cnn", "synthetic", "pool2", method="edgehost", compression_ratio=10)
    with pytest.raises(ModelError, match="measures its compression ratio"):
        build_candidate(spec, input_shape=SHAPE, num_classes=10, base_model=base)


def test_split_retraining_at_the_last_split_is_refused_when_built(base):
    with pytest.raises(ModelError, match="stage 'split-retrain' trains the tail, which has no parameters at split 'fc'"):
        candidate(base, split="fc", quality=50)
