"""The one codec family: each entry says how it is priced analytically and how it runs on a tensor.

An entry of `CODECS` names a codec once and holds both of its faces:

- `pricing`: how the analytic cost model (explorer.cost, sweeps) sizes the codec's output
  without running it, and whether the device's encoder block works on it;
- `implementation`: the `Codec` class that codes a real tensor into bytes (netmodels.codecs),
  which the search uses to measure a trained candidate's payload and `check` to replay the link.
  A trained encoder ("learned") has no fixed implementation: it is built and trained by a method.

A new codec is one file (its Codec class) plus one line in `_ENTRIES` below.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from netmodels.codecs.base import Codec
from netmodels.codecs.entropy import HuffmanCodec, RleHuffmanCodec
from netmodels.codecs.image import JpegFeatureCodec, JpegImageCodec, PngFeatureCodec, PngImageCodec
from netmodels.codecs.simple import QuantCodec, RawCodec
from splitbase import ModelError, Registry

Sizing = Literal["raw", "per_element", "ratio", "learned"]


@dataclass(frozen=True)
class Pricing:
    """How the analytic cost model sizes a codec's output (per frame) without running it.

    sizing:
    - "raw": the stored feature's raw bits (elements x the activation width);
    - "per_element": elements x `bits` (a study gives bits; the range header is not counted);
    - "ratio": raw bits / a compression ratio the study gives (data-dependent codecs: a search
      measures the real output instead);
    - "learned": a trained conv encoder sized to the ratio: raw bits / (ratio x bits) values of
      `bits` each, or elements / ratio analog values when no bits are given; its MACs (values x
      C x kernel^2, a dense layer on a flat feature) count on the device and again on the server.

    encoder_block: the device's encoder block runs over every element (004's JPEG engine, whose
    back end is RLE + Huffman; software JPEG on a roofline board).
    """

    sizing: Sizing
    encoder_block: bool = False

    @property
    def takes_ratio(self) -> bool:
        return self.sizing in ("ratio", "learned")

    def problem(self, *, ratio_given: bool, bits: int | None) -> str | None:
        """Why a study's ratio and bits do not fit this rule (None when they do)."""
        if self.takes_ratio != ratio_given:
            return "needs a compression ratio" if self.takes_ratio else "has no free ratio"
        if self.sizing == "per_element" and bits is None:
            return "needs bits per element"
        if bits is not None and self.sizing in ("raw", "ratio"):
            return "takes no bits (its size follows from the raw feature or the ratio)"
        return None


@dataclass(frozen=True)
class CodecEntry:
    """A codec: its name, what it does, how it is priced, and its implementation (None for a
    trained encoder, built by method `trained_by`)."""

    name: str
    description: str
    pricing: Pricing
    implementation: type[Codec] | None = None
    trained_by: str | None = None


_ENTRIES = (
    CodecEntry("none", "raw float32 (the 8-bit image at the input split)", Pricing("raw"), RawCodec),
    CodecEntry("quant", "n-bit uniform quantisation, bit-packed", Pricing("per_element"), QuantCodec),
    CodecEntry("huffman", "n-bit quantisation + canonical Huffman", Pricing("ratio", encoder_block=True),
               HuffmanCodec),
    CodecEntry("rle-huffman", "n-bit quantisation + JPEG-style run-length + Huffman (004, lossless)",
               Pricing("ratio", encoder_block=True), RleHuffmanCodec),
    CodecEntry("jpeg", "channels tiled into one grey image, JPEG (004, lossy)",
               Pricing("ratio", encoder_block=True), JpegFeatureCodec),
    # png on the encoder block, like the lossless huffman and rle-huffman: the device codes every
    # element of the feature, priced per pixel as the block's JPEG.
    CodecEntry("png", "channels tiled into one grey image, 8 bits over min/max, PNG (lossless after the quantiser)",
               Pricing("ratio", encoder_block=True), PngFeatureCodec),
    CodecEntry("jpeg-image", "the input image as JPEG", Pricing("ratio", encoder_block=True), JpegImageCodec),
    CodecEntry("png-image", "the input image as PNG (lossless)", Pricing("ratio"), PngImageCodec),
    CodecEntry("learned", "a trained conv encoder / deconv decoder (BottleNet++, paper 000)",
               Pricing("learned"), trained_by="bottlenetpp"),
)

CODECS: Registry[CodecEntry] = Registry("codec", error=ModelError)
for _entry in _ENTRIES:
    CODECS.add(_entry.name, _entry)


def build_codec(name: str, **options: object) -> Codec:
    """An instance of codec `name` with keyword options (e.g. quality=50)."""
    entry = CODECS.get(name)
    if entry.implementation is None:
        raise ModelError(f"codec {name!r} is a trained encoder, not a fixed codec: it runs as method "
                         f"{entry.trained_by!r}")
    try:
        return entry.implementation(**options)
    except TypeError as exc:  # an unknown option: say which codec and what it takes
        raise ModelError(f"codec {name!r}: {exc}") from None
