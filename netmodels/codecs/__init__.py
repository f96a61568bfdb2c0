"""Codecs: what a split point's feature (or the input image) costs on the link, in real bytes.

Registry `CODECS`: "none", "quant", "huffman", "rle-huffman", "jpeg", "jpeg-image", "png-image".
`quantize`/`dequantize` here are the one n-bit quantiser, also used by netmodels.channels.
"""
from __future__ import annotations

from netmodels.codecs import entropy, image, simple  # noqa: F401 - registers the codecs
from netmodels.codecs.base import CODECS, Codec, EncodedFeature, Scale, build_codec
from netmodels.codecs.entropy import HuffmanCodec, RleHuffmanCodec
from netmodels.codecs.image import JpegFeatureCodec, JpegImageCodec, PngImageCodec, tile, untile
from netmodels.codecs.quantize import dequantize, fake_quantize, quantize
from netmodels.codecs.simple import QuantCodec, RawCodec

__all__ = [
    "CODECS",
    "Codec",
    "EncodedFeature",
    "HuffmanCodec",
    "JpegFeatureCodec",
    "JpegImageCodec",
    "PngImageCodec",
    "QuantCodec",
    "RawCodec",
    "RleHuffmanCodec",
    "Scale",
    "build_codec",
    "dequantize",
    "fake_quantize",
    "quantize",
    "tile",
    "untile",
]
