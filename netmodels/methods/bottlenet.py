"""`bottlenet`: BottleNet (Eshratifar, Esmaili & Pedram, ISLPED 2019), the baseline of paper 000.

A reduction unit (conv + BN + sigmoid, the same layer as BottleNet++'s encoder, so the two
methods differ only in the link and the training), JPEG compression of the reduced feature
(the `jpeg` codec: channels tiled into one grey image, 8 bits over the sample's min/max,
Pillow JPEG at `quality`), and a restoration unit (transposed conv + BN + ReLU). The link is
assumed reliable (channel "none"; channel coding is the link model's business), as BottleNet does.

Compression-aware training: one end-to-end stage trains the whole network and the bottleneck
together with the JPEG in the forward pass. The JPEG there is `JpegProxy` (the candidate's
codec proxy), the codec's lossy steps computed on the device (the per-sample Pillow codec is too
slow for a GPU loop; see netmodels.methods.parts.jpeg_proxy for how close it is), with a
straight-through gradient as BottleNet bypasses the compressor in back-propagation. We start it
from the cached base model rather than from scratch (all candidates share that starting point).

Sizes: the requested ratio picks C' as if each element cost 8 bits (the JPEG's input depth);
the profile built with the candidate holds that nominal payload (8 bits per element + 64 header
bits) marked unmeasured, and netmodels.candidate.measure_payload replaces it with the mean size
of the real JPEG files (headers and tables included) over a set of images.
"""
from __future__ import annotations

from dataclasses import dataclass

from netmodels.channels import Channel
from netmodels.codecs.image import JpegQuality
from netmodels.methods.base import METHODS, MethodParts, Stage
from netmodels.methods.bottlenetpp import ConvCodingMethod, require_ratio
from netmodels.methods.parts.jpeg_proxy import JpegProxy
from netmodels.methods.parts.layers import ConvEncoder, DeconvDecoder, auto_stride, plan_bottleneck
from splitbase import ModelError
from splitbase.schema import Positive, PositiveInt

JPEG_INPUT_BITS = 8
JPEG_HEADER_BITS = 64  # the jpeg codec's per-sample min and max, two float32


def require_reliable(method: str, channel: Channel) -> None:
    """The ModelError of a method that sends over a reliable link only."""
    if channel.noisy:
        raise ModelError(f"method {method!r} assumes a reliable link: use channel 'none'")


@dataclass(frozen=True)
class BottleNetOptions:
    stride: PositiveInt | None = None
    quality: JpegQuality = 75
    lr_scale: Positive = 1.0


@METHODS.register()
class BottleNet(ConvCodingMethod):
    """BottleNet: reduction unit + JPEG + restoration unit, compression-aware end-to-end training."""

    name = "bottlenet"
    description = "BottleNet: conv reduction + JPEG + deconv restoration, compression-aware training"
    Options = BottleNetOptions

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: BottleNetOptions) -> MethodParts:
        ratio = require_ratio(self.name, compression_ratio)
        require_reliable(self.name, channel)
        stride = options.stride if options.stride is not None else auto_stride(feature_shape)
        plan = plan_bottleneck(feature_shape, ratio=ratio, bits_per_element=JPEG_INPUT_BITS,
                               raw_bits_per_element=raw_bits_per_element, stride=stride)
        return MethodParts(ConvEncoder(plan), DeconvDecoder(plan), plan.sent_shape, JPEG_INPUT_BITS,
                           header_bits=JPEG_HEADER_BITS, codec="jpeg", codec_options={"quality": options.quality},
                           codec_proxy=JpegProxy(options.quality))

    def stages(self, options: BottleNetOptions) -> tuple[Stage, ...]:
        return (Stage("end-to-end", None, lr_scale=options.lr_scale,
                      description="compression-aware training: whole network and bottleneck, JPEG in the loop"),)
