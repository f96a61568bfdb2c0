"""Pillow codecs: JPEG (paper 004, "Lossy Encoding") and PNG (lossless) of a tiled feature, JPEG
and PNG of the input image.

A feature codec tiles the feature's channels into one grey image and scales it to 8 bits over
the sample's [min, max] (`TiledFeatureCodec`); JPEG or PNG then codes that image. The payload is
the whole file Pillow writes (JFIF/PNG headers and, for JPEG, the standard
quantisation and Huffman tables included: 330 bytes for a grey JPEG, which matter for small
features), or for the feature JPEG with `headers=False` the entropy-coded scan alone: with
the standard tables every byte before the scan depends only on the image size and the quality
factor, which both ends know, so a fixed link agrees them once (further than ITU-T T.81's
abbreviated format, B.4, which still sends the frame and scan headers).
"""
from __future__ import annotations

import functools
import io
import math
from typing import Annotated

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from netmodels.codecs.base import Codec, EncodedFeature, as_feature, sample_range
from netmodels.codecs.quantize import dequantize, quantize
from splitbase import ModelError
from splitbase.schema import Bounds


# A JPEG quality factor, as option types write it (splitbase.schema).
JpegQuality = Annotated[int, Bounds(low=1, high=100)]


def check_quality(quality: int) -> int:
    """Return a JPEG quality factor 1..100, or raise ModelError."""
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ModelError(f"JPEG quality must be an integer in 1..100, got {quality!r}")
    return quality


def check_compress_level(level: int) -> int:
    """Return a PNG (zlib) compression level 0..9, or raise ModelError."""
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 9:
        raise ModelError(f"compress_level must be an integer in 0..9, got {level!r}")
    return level


def grid(channels: int) -> tuple[int, int]:
    """(rows, cols) of the near-square tile grid for `channels` tiles: cols = ceil(sqrt(C))."""
    cols = math.ceil(math.sqrt(channels))
    return math.ceil(channels / cols), cols


def tile(planes: np.ndarray) -> np.ndarray:
    """C x H x W -> one (rows * H) x (cols * W) image, channel c at grid cell (c // cols, c % cols).

    Cells past the last channel are zero.
    """
    c, h, w = planes.shape
    rows, cols = grid(c)
    padded = np.zeros((rows * cols, h, w), dtype=planes.dtype)
    padded[:c] = planes
    return padded.reshape(rows, cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h, cols * w)


def untile(image: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Inverse of `tile` for a feature of `shape` (C, H, W)."""
    c, h, w = shape
    rows, cols = grid(c)
    if image.shape != (rows * h, cols * w):
        raise ModelError(f"corrupt payload: a {image.shape} image, expected {(rows * h, cols * w)}")
    return image.reshape(rows, h, cols, w).transpose(0, 2, 1, 3).reshape(rows * cols, h, w)[:c]


def _as_chw(shape: tuple[int, ...]) -> tuple[int, int, int]:
    # A 1-D or 2-D feature (e.g. after a pooling/fc unit) is treated as one or C tiles.
    padded = (1,) * (3 - len(shape)) + tuple(shape)
    if len(padded) != 3:
        raise ModelError(f"a tiled feature codec (jpeg, png) takes a feature of at most 3 dims (C, H, W), "
                         f"got shape {shape}")
    return padded  # type: ignore[return-value]


def _save(image: np.ndarray, fmt: str, **options: object) -> bytes:
    """The file Pillow writes for a uint8 H x W (grey) or H x W x 3 (RGB) array in `fmt`."""
    buf = io.BytesIO()
    Image.fromarray(image, mode="L" if image.ndim == 2 else "RGB").save(buf, format=fmt, **options)
    return buf.getvalue()


JPEG_EOI = b"\xff\xd9"


@functools.lru_cache(maxsize=64)
def jpeg_preamble(height: int, width: int, quality: int) -> bytes:
    """The bytes a Pillow grey JPEG of `height` x `width` at `quality` (standard tables) writes
    before its entropy-coded scan: SOI, JFIF, DQT, SOF0, DHT, SOS. The same for every image of
    that size, so it is what `headers=False` leaves out and the decoder puts back.
    """
    data = _save(np.zeros((height, width), dtype=np.uint8), "JPEG", quality=quality)
    at = 2  # after SOI: walk the marker segments (0xFF, marker, 16-bit length) up to SOS's end
    while data[at + 1] != 0xDA:
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return data[: at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")]


def _load(payload: bytes, fmt: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(payload), formats=[fmt]) as img:
            return np.asarray(img)
    except (OSError, ValueError) as exc:
        raise ModelError(f"corrupt {fmt} payload: {exc}") from None


class TiledFeatureCodec(Codec):
    """Feature -> channels tiled into one grey image (`tile`), min/max scaled to 0..255, coded as
    an image file by the subclass (`_compress`, `_expand`); decode inverts the file, the tiling
    and the scaling.

    The scaling is the 8-bit quantiser over the sample's [min, max] (64 header bits for the two
    float32 values); a 1-D or 2-D feature is one or C tiles.
    """

    def _compress(self, image: np.ndarray) -> bytes:
        """The payload of one grey uint8 image (rows * H, cols * W)."""
        raise NotImplementedError

    def _expand(self, payload: bytes, size: tuple[int, int]) -> np.ndarray:
        """The grey image a payload holds; `size` (height, width) is the tiled image's."""
        raise NotImplementedError

    def encode(self, x: Tensor) -> EncodedFeature:
        x = as_feature(x)
        planes = x.reshape(_as_chw(tuple(x.shape)))
        lo, hi, header, header_bits = sample_range(planes, "minmax")
        image = tile(quantize(planes, 8, lo, hi).numpy().astype(np.uint8))
        return EncodedFeature(self._compress(image), tuple(x.shape), header, header_bits)

    def decode(self, encoded: EncodedFeature) -> Tensor:
        chw = _as_chw(encoded.shape)
        rows, cols = grid(chw[0])
        image = self._expand(encoded.payload, (rows * chw[1], cols * chw[2]))
        if image.dtype != np.uint8:
            raise ModelError(f"corrupt payload: a {image.dtype} image, expected 8-bit grey")
        grey = untile(image, chw).astype(np.int64)
        lo, hi = encoded.header["lo"], encoded.header["hi"]
        return dequantize(torch.from_numpy(grey), 8, lo, hi).reshape(encoded.shape)


class JpegFeatureCodec(TiledFeatureCodec):
    """The tiled 8-bit feature (TiledFeatureCodec) as a Pillow JPEG at a quality factor.

    headers=True sends the whole JPEG file; headers=False the entropy-coded scan alone (module
    docstring), which needs the standard tables (optimize=False).
    """

    def __init__(self, quality: int = 75, *, optimize: bool = False, headers: bool = True) -> None:
        # optimize=False: the standard Huffman tables, as a fixed hardware JPEG encoder (004) uses.
        self.quality = check_quality(quality)
        self.optimize = bool(optimize)
        self.headers = bool(headers)
        if self.optimize and not self.headers:
            raise ModelError("a JPEG without headers needs the standard Huffman tables (optimize false): "
                             "optimised tables change with every image and must be sent")

    def _compress(self, image: np.ndarray) -> bytes:
        data = _save(image, "JPEG", quality=self.quality, optimize=self.optimize)
        if not self.headers:
            preamble = jpeg_preamble(*image.shape, self.quality)
            if not data.startswith(preamble) or not data.endswith(JPEG_EOI):
                raise ModelError("this Pillow writes JPEG headers that change with the image; send them (headers true)")
            data = data[len(preamble) : -len(JPEG_EOI)]
        return data

    def _expand(self, payload: bytes, size: tuple[int, int]) -> np.ndarray:
        if not self.headers:
            payload = jpeg_preamble(*size, self.quality) + payload + JPEG_EOI
        return _load(payload, "JPEG")


class PngFeatureCodec(TiledFeatureCodec):
    """The tiled 8-bit feature (TiledFeatureCodec) as a lossless Pillow PNG file (zlib level
    `compress_level`, 0..9): decode(encode(x)) is exactly the 8-bit quantiser's round trip."""

    def __init__(self, *, compress_level: int = 9) -> None:
        self.compress_level = check_compress_level(compress_level)

    def _compress(self, image: np.ndarray) -> bytes:
        return _save(image, "PNG", compress_level=self.compress_level)

    def _expand(self, payload: bytes, size: tuple[int, int]) -> np.ndarray:
        return _load(payload, "PNG")


def _as_image(x: Tensor) -> np.ndarray:
    """uint8 C x H x W (C = 1 or 3) -> H x W or H x W x 3 array for Pillow."""
    if x.dtype != torch.uint8 or x.dim() != 3 or x.shape[0] not in (1, 3):
        raise ModelError(f"an image codec takes a uint8 image of shape (1 or 3, H, W), got {x.dtype} {tuple(x.shape)}")
    arr = x.detach().cpu().numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)


def _from_image(arr: np.ndarray, shape: tuple[int, ...]) -> Tensor:
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    if arr.shape != tuple(shape):
        raise ModelError(f"corrupt payload: a {arr.shape} image, expected {tuple(shape)}")
    return torch.from_numpy(np.array(arr, dtype=np.uint8, copy=True))  # Pillow's array is read-only


class _ImageCodec(Codec):
    input = "image"
    format: str

    def _save_options(self) -> dict[str, object]:
        raise NotImplementedError

    def encode(self, x: Tensor) -> EncodedFeature:
        return EncodedFeature(_save(_as_image(x), self.format, **self._save_options()), tuple(x.shape))

    def decode(self, encoded: EncodedFeature) -> Tensor:
        return _from_image(_load(encoded.payload, self.format), encoded.shape)


class JpegImageCodec(_ImageCodec):
    """The model input (uint8 C x H x W, C = 1 or 3) as a Pillow JPEG file at a quality factor.

    Colour images use Pillow's default chroma subsampling (4:2:0) unless `subsampling` is given
    (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0).
    """

    format = "JPEG"

    def __init__(self, quality: int = 75, *, subsampling: int | None = None) -> None:
        self.quality = check_quality(quality)
        if subsampling not in (None, 0, 1, 2):
            raise ModelError(f"subsampling must be 0, 1, 2 or None, got {subsampling!r}")
        self.subsampling = subsampling

    def _save_options(self) -> dict[str, object]:
        options: dict[str, object] = {"quality": self.quality}
        if self.subsampling is not None:
            options["subsampling"] = self.subsampling
        return options


class PngImageCodec(_ImageCodec):
    """The model input (uint8 C x H x W, C = 1 or 3) as a lossless Pillow PNG file."""

    format = "PNG"
    lossless = True

    def __init__(self, *, compress_level: int = 9) -> None:
        self.compress_level = check_compress_level(compress_level)

    def _save_options(self) -> dict[str, object]:
        return {"compress_level": self.compress_level}
