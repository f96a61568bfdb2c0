"""`bottlenet`: BottleNet (Eshratifar, Esmaili & Pedram, ISLPED 2019), the baseline of paper 000.

A reduction unit (conv + BN + sigmoid, the same layer as BottleNet++'s encoder, so the two
methods differ only in the link and the training), JPEG compression of the reduced feature
(the `jpeg` codec: channels tiled into one grey image, 8 bits over the sample's min/max,
Pillow JPEG at `quality`), and a restoration unit (transposed conv + BN + ReLU). The link is
assumed reliable (channel "none"; channel coding is the link model's business), as BottleNet does.

Compression-aware training: one end-to-end stage trains the whole network and the bottleneck
together with the JPEG in the forward pass. The JPEG there is `JpegProxy`, the codec's lossy
steps computed on the device (the per-sample Pillow codec is too slow for a GPU loop; see
netmodels.methods.parts.jpeg_proxy for how close it is), with a straight-through gradient as
BottleNet bypasses the compressor in back-propagation. We start it from the cached base model
rather than from scratch (all candidates share that starting point).

Sizes: the requested ratio picks C' as if each element cost 8 bits (the JPEG's input depth);
the profile built with the candidate holds that nominal payload (8 bits per element + 64 header
bits) marked unmeasured, and netmodels.candidate.build.measure_payload replaces it with the mean size
of the real JPEG files (headers and tables included) over a set of images.
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.methods.base import METHODS, Method, MethodParts, Stage, is_noisy, parameter_count
from netmodels.methods.bottlenetpp import conv_bottleneck_reason
from netmodels.methods.parts.jpeg_proxy import JpegProxy
from netmodels.methods.parts.layers import ConvEncoder, DeconvDecoder, auto_stride, plan_bottleneck
from netmodels.zoo import UnitModel
from splitbase import ModelError

JPEG_INPUT_BITS = 8
JPEG_HEADER_BITS = 64  # the jpeg codec's per-sample min and max, two float32


class JpegDecoder(nn.Module):
    """The JPEG round trip of the link (JpegProxy), then the restoration unit."""

    def __init__(self, jpeg: JpegProxy, restore: DeconvDecoder) -> None:
        super().__init__()
        self.jpeg, self.restore = jpeg, restore

    def forward(self, y: Tensor) -> Tensor:
        return self.restore(self.jpeg(y))

    @property
    def deployed(self) -> nn.Module:
        """What runs on the server once the real JPEG file has been decoded: the restoration."""
        return self.restore


@METHODS.register("bottlenet")
class BottleNet(Method):
    """BottleNet: reduction unit + JPEG + restoration unit, compression-aware end-to-end training."""

    name = "bottlenet"
    description = "BottleNet: conv reduction + JPEG + deconv restoration, compression-aware training"
    OPTIONS = {"stride": None, "quality": 75, "lr_scale": 1.0}

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        return conv_bottleneck_reason(model, split, feature_shape)

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: Mapping[str, Any]) -> MethodParts:
        if compression_ratio is None:
            raise ModelError("method 'bottlenet' needs a compression_ratio (raw float32 bits / bits sent)")
        if is_noisy(channel):
            raise ModelError("method 'bottlenet' assumes a reliable link: use channel 'none' "
                             "(bottlenetpp is the method with a noisy channel in the loop)")
        stride = options["stride"] if options["stride"] is not None else auto_stride(feature_shape)
        plan = plan_bottleneck(feature_shape, ratio=compression_ratio, bits_per_element=JPEG_INPUT_BITS,
                               raw_bits_per_element=raw_bits_per_element, stride=stride)
        encoder = ConvEncoder(plan)
        decoder = JpegDecoder(JpegProxy(int(options["quality"])), DeconvDecoder(plan))
        return MethodParts(
            encoder, decoder, plan.sent_shape, JPEG_INPUT_BITS, header_bits=JPEG_HEADER_BITS,
            encoder_macs=plan.encoder_macs(), decoder_macs=plan.decoder_macs(),
            encoder_params=parameter_count(encoder), decoder_params=parameter_count(decoder),
            codec="jpeg", codec_options={"quality": int(options["quality"])},
        )

    def stages(self, options: Mapping[str, Any]) -> tuple[Stage, ...]:
        return (Stage("end-to-end", None, lr_scale=float(options["lr_scale"]),
                      description="compression-aware training: whole network and bottleneck, JPEG in the loop"),)
