"""Codecs: exact round trips of the lossless ones, JPEG size vs quality, PNG of a tiled feature, bits accounting."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from netmodels.codecs import CODECS, Codec, build_codec, dequantize, fake_quantize, quantize, tile, untile
from netmodels.codecs.huffman import canonical, code_lengths
from netmodels.codecs.image import _load
from splitbase import ModelError


def sparse_feature(channels: int = 32, size: int = 16, *, zeros: float = 0.5, seed: int = 0) -> torch.Tensor:
    """A ReLU-like feature: smooth per-channel patterns, the lowest `zeros` share cut to 0."""
    g = torch.Generator().manual_seed(seed)
    smooth = F.interpolate(torch.randn(1, channels, 4, 4, generator=g), size=(size, size), mode="bilinear")[0]
    x = smooth + 0.1 * torch.randn(channels, size, size, generator=g)
    return torch.relu(x - x.flatten().quantile(zeros))


def quantised(shape: tuple[int, ...], bits: int, *, zeros: float = 0.0, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    levels = torch.randint(0, 1 << bits, shape, generator=g)
    levels[torch.rand(shape, generator=g) < zeros] = 0
    return dequantize(levels, bits)


def test_quantizer_is_the_papers() -> None:
    x = torch.rand(1000)
    for n in (1, 3, 8):
        top = 2**n - 1
        assert torch.equal(fake_quantize(x, n), torch.round(x * top) / top)  # 000 III.B: round(X (2^n-1)) / (2^n-1)
    levels = quantize(torch.tensor([-1.0, 0.0, 2.5, 5.0, 9.0]), 4, 0.0, 5.0)
    assert levels.tolist() == [0, 0, 8, 15, 15] and levels.dtype == torch.int64


@pytest.mark.parametrize("name", ["huffman", "rle-huffman", "quant"])
@pytest.mark.parametrize("bits", [1, 4, 8, 12])
def test_quantised_feature_round_trips_exactly(name: str, bits: int) -> None:
    for zeros in (0.0, 0.9, 1.0):
        x = quantised((8, 6, 5), bits, zeros=zeros, seed=bits)
        codec = build_codec(name, bits=bits, scale=(0.0, 1.0))
        encoded = codec.encode(x)
        assert torch.equal(codec.decode(encoded), x), (name, bits, zeros)
        assert codec.bits(encoded) == 8 * len(encoded.payload) and encoded.header_bits == 0


@pytest.mark.parametrize("name", ["huffman", "rle-huffman", "quant"])
def test_entropy_codecs_are_lossless_after_quantisation(name: str) -> None:
    x = sparse_feature(zeros=0.7) * 3
    codec = build_codec(name, bits=6)  # per-sample min/max: 64 header bits
    encoded = codec.encode(x)
    y = codec.decode(encoded)
    assert torch.equal(y, build_codec("quant", bits=6).decode(build_codec("quant", bits=6).encode(x)))
    assert torch.equal(codec.decode(codec.encode(y)), y)  # already on the grid: exact
    assert encoded.header_bits == 64 and codec.bits(encoded) == 8 * len(encoded.payload) + 64
    assert (y - x).abs().max() <= (x.max() - x.min()) / 63 / 2 + 1e-6
    assert build_codec(name, bits=6, scale="max").encode(x).header_bits == 32


def test_long_zero_runs_and_trailing_zeros() -> None:
    codec = build_codec("rle-huffman", bits=8, scale=(0.0, 1.0))
    for tail in (7, 0):
        levels = torch.zeros(3000, dtype=torch.int64)
        levels[[0, 16, 17, 40, 999, 2999]] = torch.tensor([255, 1, 2, 128, 3, tail])
        x = dequantize(levels, 8)
        assert torch.equal(codec.decode(codec.encode(x)), x)
    x = torch.zeros(4, 4, 4)
    assert torch.equal(codec.decode(codec.encode(x)), x)


def test_rle_huffman_beats_huffman_on_a_mostly_zero_feature() -> None:
    x = quantised((64, 16, 16), 8, zeros=0.95)
    huffman, rle = build_codec("huffman"), build_codec("rle-huffman")
    assert rle.encode(x).bits < 0.6 * huffman.encode(x).bits
    assert huffman.encode(x).bits < build_codec("quant").encode(x).bits


def test_jpeg_bytes_fall_with_quality() -> None:
    x = sparse_feature(channels=64, size=16)
    sizes, errors = [], []
    for quality in (95, 75, 50, 25, 10):
        codec = build_codec("jpeg", quality=quality)
        encoded = codec.encode(x)
        y = codec.decode(encoded)
        assert y.shape == x.shape and y.dtype == torch.float32
        assert codec.bits(encoded) == 8 * len(encoded.payload) + 64 and encoded.payload[:2] == b"\xff\xd8"
        sizes.append(len(encoded.payload))
        errors.append((y - x).pow(2).mean().item())
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 5, sizes
    assert errors[0] < errors[-1] and errors[0] < 1e-3 * x.max().item() ** 2


@pytest.mark.parametrize("channels, size, quality", [(64, 16, 10), (512, 2, 1), (3, 9, 90)])
def test_a_jpeg_without_headers_is_the_file_less_its_fixed_preamble(channels: int, size: int, quality: int) -> None:
    x = sparse_feature(channels=channels, size=size)
    full, bare = build_codec("jpeg", quality=quality), build_codec("jpeg", quality=quality, headers=False)
    whole, scan = full.encode(x), bare.encode(x)
    assert whole.payload.endswith(scan.payload + b"\xff\xd9") and not scan.payload.startswith(b"\xff\xd8")
    assert whole.bits - scan.bits == 8 * 330  # SOI .. SOS of a grey JPEG with the standard tables, and EOI
    assert torch.equal(bare.decode(scan), full.decode(whole))
    with pytest.raises(ModelError, match="standard Huffman tables"):
        build_codec("jpeg", quality=quality, optimize=True, headers=False)


def test_tiling_is_near_square_and_invertible() -> None:
    planes = np.arange(10 * 3 * 2).reshape(10, 3, 2)
    image = tile(planes)
    assert image.shape == (3 * 3, 4 * 2)  # 10 channels: 3 rows of 4 tiles
    assert np.array_equal(image[3:6, 2:4], planes[5]) and np.array_equal(untile(image, (10, 3, 2)), planes)


def smooth_image(channels: int, size: int, *, seed: int = 0) -> torch.Tensor:
    """A structured uint8 image (C, size, size): bilinear blobs spanning 0..255."""
    g = torch.Generator().manual_seed(seed)
    smooth = F.interpolate(torch.rand(1, channels, 8, 8, generator=g), size=(size, size), mode="bilinear")[0]
    smooth = (smooth - smooth.min()) / (smooth.max() - smooth.min())
    return (smooth * 255).round().to(torch.uint8)


@pytest.mark.parametrize("channels", [1, 3])
def test_the_png_of_an_8_bit_image_holds_its_pixels_and_is_smaller_than_raw(channels: int) -> None:
    image = smooth_image(channels, 64)
    x = image.float()  # values 0..255: the min/max quantiser maps each pixel to its own level
    codec = build_codec("png")
    encoded = codec.encode(x)
    assert np.array_equal(_load(encoded.payload, "PNG"), tile(image.numpy()))  # the tiled pixels, exactly
    assert torch.equal(codec.decode(encoded), x)
    assert encoded.header == {"lo": 0.0, "hi": 255.0} and codec.bits(encoded) == 8 * len(encoded.payload) + 64
    assert encoded.bits < 0.6 * 8 * image.numel()  # well under the raw 8-bit image (and 32-bit feature)
    if channels == 1:  # one tile: the very file png-image writes for the image
        assert encoded.payload == build_codec("png-image").encode(image).payload


def test_png_of_a_float_feature_is_the_8_bit_quantiser_without_further_loss() -> None:
    for x in (sparse_feature(channels=10, size=6) * 3, torch.randn(7, 5, 3), torch.randn(40), torch.randn(3, 11)):
        codec, quant = build_codec("png"), build_codec("quant", bits=8)  # quant: per-sample min/max by default
        y = codec.decode(codec.encode(x))
        assert y.shape == x.shape and y.dtype == torch.float32
        assert torch.equal(y, quant.decode(quant.encode(x)))
        assert torch.equal(codec.decode(codec.encode(y)), y)  # on the 8-bit grid already: exact
    fast, small = (build_codec("png", compress_level=level).encode(sparse_feature(64, 16)) for level in (0, 9))
    assert len(small.payload) < len(fast.payload) and small.header == fast.header


@pytest.mark.parametrize("level", [-1, 10, 2.5, True, "9"])
def test_png_compress_level_is_checked(level: object) -> None:
    for name in ("png", "png-image"):
        with pytest.raises(ModelError, match="compress_level must be an integer in 0..9"):
            build_codec(name, compress_level=level)
    with pytest.raises(ModelError, match="codec 'png'.*quality"):
        build_codec("png", quality=50)


def test_a_corrupt_png_payload_is_refused() -> None:
    codec = build_codec("png")
    encoded = codec.encode(sparse_feature(4, 8))
    for payload in (encoded.payload[: len(encoded.payload) // 2], b"not a png"):
        with pytest.raises(ModelError, match="corrupt"):
            codec.decode(type(encoded)(payload, encoded.shape, encoded.header, encoded.header_bits))
    other = build_codec("png").encode(sparse_feature(9, 8))  # another tile grid
    with pytest.raises(ModelError, match="corrupt payload"):
        codec.decode(type(encoded)(other.payload, encoded.shape, encoded.header, encoded.header_bits))


@pytest.mark.parametrize("channels", [1, 3])
def test_image_codecs(channels: int) -> None:
    g = torch.Generator().manual_seed(channels)
    image = (F.interpolate(torch.rand(1, channels, 8, 8, generator=g), size=(32, 32), mode="bilinear")[0] * 255).to(torch.uint8)
    png = build_codec("png-image")
    assert torch.equal(png.decode(png.encode(image)), image)
    jpeg = build_codec("jpeg-image", quality=90, subsampling=0)  # 4:4:4: these channels are unrelated
    encoded = jpeg.encode(image)
    decoded = jpeg.decode(encoded)
    assert decoded.dtype == torch.uint8 and decoded.shape == image.shape
    assert (decoded.float() - image.float()).abs().mean() < 4
    assert jpeg.bits(encoded) == 8 * len(encoded.payload) and encoded.header_bits == 0
    assert len(build_codec("jpeg-image", quality=10).encode(image).payload) < len(encoded.payload)
    with pytest.raises(ModelError, match="uint8"):
        png.encode(image.float())


def test_batch_helpers() -> None:
    x = torch.stack([sparse_feature(8, 8, seed=s) for s in range(3)])
    codec = build_codec("rle-huffman", bits=4)
    bits = codec.batch_bits(x)
    assert bits.dtype == np.int64 and bits.shape == (3,)
    assert bits.tolist() == [codec.encode(sample).bits for sample in x]
    decoded, roundtrip_bits = codec.roundtrip(x)
    assert decoded.shape == x.shape and np.array_equal(roundtrip_bits, bits)


def test_huffman_code_lengths() -> None:
    # The textbook example (CLRS 16.3): a:45 b:13 c:12 d:16 e:9 f:5 -> 1, 3, 3, 3, 4, 4 bits.
    lengths = code_lengths(np.array([45, 13, 12, 16, 9, 5]))
    assert lengths.tolist() == [1, 3, 3, 3, 4, 4]
    symbols, lens, codes = canonical(lengths)
    assert symbols.tolist() == [0, 1, 2, 3, 4, 5] and codes.tolist() == [0b0, 0b100, 0b101, 0b110, 0b1110, 0b1111]
    freqs = np.random.default_rng(0).integers(0, 50, 300)
    lengths = code_lengths(freqs)
    assert np.sum(2.0 ** -lengths[freqs > 0]) == pytest.approx(1.0) and (lengths[freqs == 0] == 0).all()
    assert code_lengths(np.array([0, 7, 0])).tolist() == [0, 1, 0]


def test_every_registered_codec_encodes_and_counts_bits() -> None:
    assert {"huffman", "jpeg", "jpeg-image", "learned", "none", "png", "png-image", "quant",
            "rle-huffman"} <= set(CODECS)
    feature, image = sparse_feature(4, 8), torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    for name in CODECS:
        if CODECS.get(name).implementation is None:
            with pytest.raises(ModelError, match="trained encoder.*bottlenetpp"):
                build_codec(name)
            continue
        codec: Codec = build_codec(name)
        x = image if codec.input == "image" else feature
        encoded = codec.encode(x)
        assert codec.decode(encoded).shape == x.shape
        assert codec.bits(encoded) == 8 * len(encoded.payload) + encoded.header_bits
        if codec.lossless:
            assert torch.equal(codec.decode(encoded), x)
    assert build_codec("none").encode(feature).bits == 32 * feature.numel()


def test_bad_settings_and_corrupt_payloads() -> None:
    with pytest.raises(ModelError, match="known: huffman"):
        build_codec("zip")
    with pytest.raises(ModelError, match="quality"):
        build_codec("jpeg", quality=0)
    with pytest.raises(ModelError, match="bits"):
        build_codec("huffman", bits=16)
    with pytest.raises(ModelError, match="scale"):
        build_codec("quant", scale=(1.0, 0.0))
    codec = build_codec("huffman")
    encoded = codec.encode(sparse_feature(4, 8))
    with pytest.raises(ModelError, match="corrupt"):
        codec.decode(type(encoded)(encoded.payload[:-20], encoded.shape, encoded.header, encoded.header_bits))
