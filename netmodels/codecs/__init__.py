"""Codecs: what a split point's feature (or the input image) costs on the link, in real bytes.

`CODECS` (netmodels.codecs.registry) is the one codec family: "none", "quant", "huffman",
"rle-huffman", "jpeg" and "png" (a feature's channels tiled into one 8-bit grey image, then JPEG
or lossless PNG), "jpeg-image", "png-image" and the trained "learned" encoder, each with its
analytic pricing and its implementation. `quantize`/`dequantize` here are the one n-bit
quantiser, also used by netmodels.channels.

The entropy coders (huffman.py, bitio.py) are our own: measured against `constriction` 0.5
(Huffman and ANS), its Huffman code sends exactly our bits, but through a per-symbol Python API
that pads to 32-bit words, exposes no code lengths and promises no canonical code, so a
self-describing payload would still need our table code; its ANS coder saves 0.5-16 % on sparse
features at the price of a 0.x dependency whose bit stream depends on its version.
"""
from __future__ import annotations

from netmodels.codecs.base import Codec, EncodedFeature, Scale
from netmodels.codecs.entropy import HuffmanCodec, RleHuffmanCodec
from netmodels.codecs.image import JpegFeatureCodec, JpegImageCodec, PngFeatureCodec, PngImageCodec, tile, untile
from netmodels.codecs.quantize import dequantize, fake_quantize, quantize
from netmodels.codecs.registry import CODECS, CodecEntry, Pricing, build_codec
from netmodels.codecs.simple import QuantCodec, RawCodec

__all__ = [
    "CODECS",
    "Codec",
    "CodecEntry",
    "EncodedFeature",
    "HuffmanCodec",
    "JpegFeatureCodec",
    "JpegImageCodec",
    "PngFeatureCodec",
    "PngImageCodec",
    "Pricing",
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
