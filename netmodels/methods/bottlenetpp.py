"""`bottlenetpp`: BottleNet++ (Shao & Zhang, ICC Workshops 2020; paper 000).

Encoder conv + BN + sigmoid (section III.A), a non-trainable channel layer (III.B, from
netmodels.channels), decoder transposed conv + BN + ReLU (III.C); 2 x 2 kernels at stride 2 as
the paper's implementation, or 1 x 1 (option stride=1, or where the map is 1 x 1).

Compression ratio (DESIGN.md): bits of the raw float32 feature / bits sent,
C H W 32 / (C' H' W' b), with b = n on a digital channel (BEC, BSC), 32 per real value on the
analog AWGN channel (so the ratio is the reduction in real values: the paper's bandwidth
reduction; the link model pairs two reals per complex channel use), 32 on the ideal channel.
The requested ratio picks C' (nearest, at least 1); the achieved ratio is reported.

Option channel_state_input (default: on for a noisy channel) gives the encoder the channel state
as an extra input plane. Training (section III.D): step 1 is the cached base model; stage
"codec" trains encoder and decoder alone, head and tail frozen (their batch-norm statistics
too), over the channel's training range (ChannelSpec.train_range; without one, at its fixed
state); stage "finetune" trains every layer at finetune_lr_scale (0.1) times the rate.
"""
from __future__ import annotations

from dataclasses import dataclass

from netmodels.channels import Channel
from netmodels.methods.base import METHODS, EncoderSize, FeatureMethod, MethodParts, Stage, feature_shape_at
from netmodels.methods.parts.layers import (
    BottleneckPlan,
    ConvEncoder,
    DeconvDecoder,
    auto_stride,
    conv_encoder_size,
    plan_bottleneck,
    state_normalisation,
)
from netmodels.zoo import FLOAT32_BITS, UnitModel
from splitbase import ModelError
from splitbase.schema import Positive, PositiveInt


def conv_bottleneck_reason(model: UnitModel, split: int, feature_shape: tuple[int, ...] | None) -> str | None:
    """Why a conv encoder / deconv decoder cannot sit at `split` (None if it can)."""
    if split == -1:
        return "nothing runs on the device at the input split; send the image with an image codec"
    shape = feature_shape if feature_shape is not None else feature_shape_at(model, split)
    if len(shape) != 3:
        return (f"the feature after {model.split_name(split)!r} has shape {tuple(shape)}; "
                "a convolutional encoder needs a C x H x W map")
    return None


class ConvCodingMethod(FeatureMethod):
    """A method whose encoder is convolutional: it runs where the feature is a C x H x W map."""

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        return conv_bottleneck_reason(model, split, feature_shape)


def require_ratio(method: str, compression_ratio: float | None) -> float:
    """The requested ratio, or the ModelError of a method that sizes its encoder by one."""
    if compression_ratio is None:
        raise ModelError(f"method {method!r} needs a compression_ratio (raw float32 bits / bits sent)")
    return compression_ratio


@dataclass(frozen=True)
class BottleNetPPOptions:
    stride: PositiveInt | None = None
    channel_state_input: bool | None = None
    finetune: bool = True
    finetune_lr_scale: Positive = 0.1


@METHODS.register()
class BottleNetPP(ConvCodingMethod):
    """BottleNet++: learned joint source-channel coding at the split, trained in three steps."""

    name = "bottlenetpp"
    description = "BottleNet++: conv encoder + channel layer + deconv decoder, 3-step training (paper 000)"
    Options = BottleNetPPOptions

    def _plan(self, feature_shape: tuple[int, ...], compression_ratio: float | None, channel: Channel,
              raw_bits_per_element: int, options: BottleNetPPOptions) -> tuple[BottleneckPlan, int, bool]:
        """The encoder's geometry, the bits per sent value and whether it takes the channel state."""
        ratio = require_ratio(self.name, compression_ratio)
        bits = channel.bits_per_element(FLOAT32_BITS)
        stride = options.stride if options.stride is not None else auto_stride(feature_shape)
        plan = plan_bottleneck(feature_shape, ratio=ratio, bits_per_element=bits,
                               raw_bits_per_element=raw_bits_per_element, stride=stride)
        state_input = channel.noisy if options.channel_state_input is None else options.channel_state_input
        return plan, bits, state_input

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: BottleNetPPOptions) -> MethodParts:
        plan, bits, state_input = self._plan(feature_shape, compression_ratio, channel, raw_bits_per_element, options)
        offset, scale = state_normalisation(channel)
        encoder = ConvEncoder(plan, state_input=state_input, state_offset=offset, state_scale=scale)
        return MethodParts(encoder, DeconvDecoder(plan), plan.sent_shape, bits)

    def size_encoder(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None, channel: Channel,
                     raw_bits_per_element: int, options: BottleNetPPOptions) -> EncoderSize:
        plan, bits, state_input = self._plan(feature_shape, compression_ratio, channel, raw_bits_per_element, options)
        return conv_encoder_size(plan, bits, state_input=state_input)

    def stages(self, options: BottleNetPPOptions) -> tuple[Stage, ...]:
        codec = Stage("codec", ("encoder", "decoder"),
                      description="step 2: encoder and decoder alone over the channel's training range, "
                                  "head and tail frozen")
        if not options.finetune:
            return (codec,)
        return (codec, Stage("finetune", None, lr_scale=options.finetune_lr_scale,
                             description="step 3: every layer fine-tuned at a low learning rate"))
