"""The standalone runner's wire coding: byte for byte the netmodels codec of the same name."""
import numpy as np
import pytest
import torch

from explorer.deploy.runner import split_runner as runner
from netmodels.codecs import build_codec

FEATURE = np.maximum(np.random.default_rng(0).normal(size=(6, 5, 7)), 0).astype(np.float32)


@pytest.mark.parametrize("name, options, wire", [
    ("none", {}, {}),
    ("quant", {"bits": 8}, {"bits": 8, "scale": "minmax"}),
    ("quant", {"bits": 3, "scale": (0.0, 1.0)}, {"bits": 3, "scale": [0.0, 1.0]}),
    ("huffman", {"bits": 6, "scale": "max"}, {"bits": 6, "scale": "max"}),
    ("rle-huffman", {"bits": 8}, {"bits": 8, "scale": "minmax"}),
    ("rle-huffman", {"bits": 4, "scale": "max"}, {"bits": 4, "scale": "max"}),
    ("jpeg", {"quality": 40}, {"quality": 40, "optimize": False}),
    ("jpeg", {"quality": 5, "headers": False}, {"quality": 5, "optimize": False, "headers": False}),
])
def test_the_runner_codes_as_the_netmodels_codec(name, options, wire):
    wire = {"codec": name, "shape": list(FEATURE.shape), **wire}
    codec = build_codec(name, **options)
    encoded = codec.encode(torch.from_numpy(FEATURE))
    payload, floats = runner.encode(wire, FEATURE)
    assert payload == encoded.payload and floats == list(encoded.header.values())
    assert 8 * len(payload) + 32 * len(floats) == encoded.bits
    assert np.array_equal(runner.decode(wire, payload, floats), codec.decode(encoded).numpy())


def test_a_corrupt_payload_is_a_frame_error():
    wire = {"codec": "rle-huffman", "shape": list(FEATURE.shape), "bits": 8, "scale": "minmax"}
    payload, floats = runner.encode(wire, FEATURE)
    for bad in (payload[:3], payload[: len(payload) // 2], b""):
        with pytest.raises(runner.FrameError):
            runner.decode(wire, bad, floats)
    with pytest.raises(runner.FrameError, match="expected 4"):
        runner.decode({"codec": "quant", "shape": [4], "bits": 8, "scale": "minmax"}, b"\x00" * 3, [0.0, 1.0])


def test_the_entry_is_the_fastest_environment_the_rate_reaches():
    table = [{"link_rate_bit_per_s": r, "entry": e} for r, e in ((1e5, "a"), (2e6, "b"), (2.2e7, "c"))]
    assert [runner.choose_entry(table, r) for r in (5e4, 1e5, 1.9e6, 2e6, 1e9)] == ["a", "a", "a", "b", "c"]
