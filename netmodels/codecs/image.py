"""Pillow codecs: JPEG of a tiled feature (paper 004, "Lossy Encoding"), JPEG and PNG of the input image.

The payload is the whole file Pillow writes (JFIF/PNG headers and, for JPEG, the standard
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
        raise ModelError(f"the jpeg codec takes a feature of at most 3 dims (C, H, W), got shape {shape}")
    return padded  # type: ignore[return-value]


JPEG_EOI = b"\xff\xd9"


@functools.lru_cache(maxsize=64)
def jpeg_preamble(height: int, width: int, quality: int) -> bytes:
    """The bytes a Pillow grey JPEG of `height` x `width` at `quality` (standard tables) writes
    before its entropy-coded scan: SOI, JFIF, DQT, SOF0, DHT, SOS. The same for every image of
    that size, so it is what `headers=False` leaves out and the decoder puts back.
    """
    buf = io.BytesIO()
    Image.fromarray(np.zeros((height, width), dtype=np.uint8), mode="L").save(buf, format="JPEG", quality=quality)
    data = buf.getvalue()
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


class JpegFeatureCodec(Codec):
    """Feature -> channels tiled into one grey image, min/max scaled to 0..255, Pillow JPEG.

    The scaling is the 8-bit quantiser over the sample's [min, max] (64 header bits for the
    two float32 values); decode inverts the JPEG, the tiling and the scaling. headers=True sends
    the whole JPEG file; headers=False the entropy-coded scan alone (module docstring), which
    needs the standard tables (optimize=False).
    """


    def __init__(self, quality: int = 75, *, optimize: bool = False, headers: bool = True) -> None:
        # optimize=False: the standard Huffman tables, as a fixed hardware JPEG encoder (004) uses.
        self.quality = check_quality(quality)
        self.optimize = bool(optimize)
        self.headers = bool(headers)
        if self.optimize and not self.headers:
            raise ModelError("a JPEG without headers needs the standard Huffman tables (optimize false): "
                             "optimised tables change with every image and must be sent")

    def encode(self, x: Tensor) -> EncodedFeature:
        x = as_feature(x)
        planes = x.reshape(_as_chw(tuple(x.shape)))
        lo, hi, header, header_bits = sample_range(planes, "minmax")
        image = tile(quantize(planes, 8, lo, hi).numpy().astype(np.uint8))
        buf = io.BytesIO()
        Image.fromarray(image, mode="L").save(buf, format="JPEG", quality=self.quality, optimize=self.optimize)
        data = buf.getvalue()
        if not self.headers:
            preamble = jpeg_preamble(*image.shape, self.quality)
            if not data.startswith(preamble) or not data.endswith(JPEG_EOI):
                raise ModelError("this Pillow writes JPEG headers that change with the image; send them (headers true)")
            data = data[len(preamble) : -len(JPEG_EOI)]
        return EncodedFeature(data, tuple(x.shape), header, header_bits)

    def decode(self, encoded: EncodedFeature) -> Tensor:
        chw = _as_chw(encoded.shape)
        payload = encoded.payload
        if not self.headers:
            rows, cols = grid(chw[0])
            payload = jpeg_preamble(rows * chw[1], cols * chw[2], self.quality) + payload + JPEG_EOI
        grey = untile(_load(payload, "JPEG"), chw).astype(np.int64)
        lo, hi = encoded.header["lo"], encoded.header["hi"]
        return dequantize(torch.from_numpy(grey), 8, lo, hi).reshape(encoded.shape)


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
        arr = _as_image(x)
        buf = io.BytesIO()
        Image.fromarray(arr, mode="L" if arr.ndim == 2 else "RGB").save(buf, format=self.format, **self._save_options())
        return EncodedFeature(buf.getvalue(), tuple(x.shape))

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
        if not isinstance(compress_level, int) or not 0 <= compress_level <= 9:
            raise ModelError(f"compress_level must be an integer in 0..9, got {compress_level!r}")
        self.compress_level = compress_level

    def _save_options(self) -> dict[str, object]:
        return {"compress_level": self.compress_level}
