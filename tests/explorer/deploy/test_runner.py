"""The standalone runner's wire coding: byte for byte the netmodels codec of the same name."""
import numpy as np
import pytest
import torch

from explorer.deploy.config import CodecRecord
from explorer.deploy.runner import split_runner as runner
from explorer.deploy.wire import wire_record
from netmodels.channels import ChannelSpec
from netmodels.codecs import build_codec

FEATURE = np.maximum(np.random.default_rng(0).normal(size=(6, 5, 7)), 0).astype(np.float32)


CASES = [
    ("none", {}, {}),
    ("quant", {"bits": 8}, {"bits": 8, "scale": "minmax"}),
    ("quant", {"bits": 3, "scale": (0.0, 1.0)}, {"bits": 3, "scale": [0.0, 1.0]}),
    ("huffman", {"bits": 6, "scale": "max"}, {"bits": 6, "scale": "max"}),
    ("rle-huffman", {"bits": 8}, {"bits": 8, "scale": "minmax"}),
    ("rle-huffman", {"bits": 4, "scale": "max"}, {"bits": 4, "scale": "max"}),
    ("jpeg", {"quality": 40}, {"quality": 40, "optimize": False}),
    ("jpeg", {"quality": 5, "headers": False}, {"quality": 5, "optimize": False, "headers": False}),
    ("png", {}, {"compress_level": 9}),
    ("png", {"compress_level": 1}, {"compress_level": 1}),
]


@pytest.mark.parametrize("shape", [FEATURE.shape, (30, 7)])
@pytest.mark.parametrize("name, options, wire", CASES)
def test_the_runner_codes_as_the_netmodels_codec(name, options, wire, shape):
    feature = FEATURE.reshape(shape)
    wire = {"codec": name, "shape": list(shape), **wire}
    assert {key: value for key, value in wire_record(CodecRecord(name, options), ChannelSpec(), list(shape)).items()
            if key in wire} == wire  # the export writes this wire record for that codec
    codec = build_codec(name, **options)
    encoded = codec.encode(torch.from_numpy(feature))
    payload, floats = runner.encode(wire, feature)
    assert payload == encoded.payload and floats == list(encoded.header.values())
    assert 8 * len(payload) + 32 * len(floats) == encoded.bits
    assert np.array_equal(runner.decode(wire, payload, floats), codec.decode(encoded).numpy())


def test_every_codec_the_runner_codes_is_held_to_netmodels():
    assert {name for name, _, _ in CASES} == set(runner.CODECS)


@pytest.mark.parametrize("wire", [{"codec": "rle-huffman", "bits": 8, "scale": "minmax"},
                                  {"codec": "png", "compress_level": 9}])
def test_a_corrupt_payload_is_a_frame_error(wire):
    wire = {**wire, "shape": list(FEATURE.shape)}
    payload, floats = runner.encode(wire, FEATURE)
    for bad in (payload[:3], payload[: len(payload) // 2], b""):
        with pytest.raises(runner.FrameError):
            runner.decode(wire, bad, floats)
    other = np.random.default_rng(1).normal(size=(9, 5, 7)).astype(np.float32)
    with pytest.raises(runner.FrameError):  # a payload of another shape (for png: another tile grid)
        runner.decode(wire, runner.encode({**wire, "shape": [9, 5, 7]}, other)[0], floats)
    with pytest.raises(runner.FrameError, match="expected 4"):
        runner.decode({"codec": "quant", "shape": [4], "bits": 8, "scale": "minmax"}, b"\x00" * 3, [0.0, 1.0])


def test_the_entry_is_the_fastest_environment_the_rate_reaches():
    table = [{"link_rate_bit_per_s": r, "entry": e} for r, e in ((1e5, "a"), (2e6, "b"), (2.2e7, "c"))]
    assert [runner.choose_entry(table, r) for r in (5e4, 1e5, 1.9e6, 2e6, 1e9)] == ["a", "a", "a", "b", "c"]
