
import numpy as np
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


def test_the_png_link_is_the_codecs_exact_round_trip(data):
    codec = build_codec("png")
    g = torch.Generator().manual_seed(0)
    image, _ = next(iter(eval_batches(data, batch_size=8)))  # normalised images, as sent at split input
    features = [torch.randn(4, 16, 8, 8, generator=g), 3 * torch.rand(4, 5, 3, 7, generator=g) - 1,
                torch.randn(4, 10, generator=g), torch.relu(torch.randn(4, 6, 9, generator=g)), image]
    for y in features:
        decoded, bits = codec.roundtrip(y)
        assert torch.equal(QuantLink(8)(y), decoded), tuple(y.shape)
        assert (bits == [8 * len(codec.encode(s).payload) + 64 for s in y]).all()


def test_png_at_the_input_sends_the_png_file_of_each_test_image(data, base):
    c = candidate(base, split="input", codec="png", retrain=False)
    assert c.stages == () and c.parts.codec == "png" and c.parts.codec_options == {}
    assert isinstance(c.module.codec_proxy, QuantLink) and c.module.codec_proxy.bits == 8
    result = train_candidate(c, data, CONFIG, progress=False)
    assert result.stages == [] and result.profile.payload_measured and result.profile.codec == "png"
    assert result.profile.raw_feature_bits == 8 * np.prod(SHAPE)
    png, png_image = build_codec("png"), build_codec("png-image")
    sent, _ = next(iter(eval_batches(data, batch_size=len(data.test_labels))))
    payloads = [png.encode(x).payload for x in sent]
    full_range = [i for i, u in enumerate(data.test_images) if u.min() == 0 and u.max() == 255]
    assert len(full_range) > len(payloads) // 2
    for i in full_range:  # an image spanning 0..255 is sent as the very PNG file of its pixels
        assert payloads[i] == png_image.encode(data.test_images[i]).payload
    mean_bits = np.mean([8 * len(p) + 64 for p in payloads])
    assert result.profile.payload_bits == pytest.approx(mean_bits)
    assert result.profile.compression_ratio == pytest.approx(8 * np.prod(SHAPE) / mean_bits)


def test_png_split_retraining_trains_the_tail_on_8_bit_features(data, base):
    c = candidate(base, codec="png")
    (stage,) = c.stages
    assert stage.trainable == ("tail",) and "8-bit quantised features" in stage.description
    head, tail = snapshot(c.module.head), snapshot(c.module.tail)
    result = train_candidate(c, data, CONFIG, progress=False)
    assert same(snapshot(c.module.head), head) and not same(snapshot(c.module.tail), tail)
    assert result.stages[0].result.loss_history[-1] < result.stages[0].result.loss_history[0]
    assert result.profile.payload_measured and result.profile.codec == "png"
    assert result.profile.compression_ratio > 1  # the 32-bit feature, as a lossless 8-bit PNG


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
    ({"codec": "png", "quality": 50}, "codec 'png' takes no quality$"),
    ({"codec": "png", "bits": 8}, "codec 'png' takes no bits$"),
    ({"codec": "png", "quality": 50, "headers": True, "bits": 4, "train_quality": [30, 35]},
     "codec 'png' takes no quality, headers, train_quality, bits$"),
    ({"codec": "png", "retrain": False, "train_quality": [30, 35]}, "codec 'png' takes no train_quality$"),
    ({"codec": "zip"}, "codec"),
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
