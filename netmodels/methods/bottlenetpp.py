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

from typing import Any, Mapping

from netmodels.channels import Channel
from netmodels.methods.base import (
    METHODS,
    Method,
    MethodParts,
    Stage,
    channel_bits_per_element,
    feature_shape_at,
    is_noisy,
    parameter_count,
)
from netmodels.methods.parts.layers import (
    ConvEncoder,
    DeconvDecoder,
    auto_stride,
    plan_bottleneck,
    state_normalisation,
)
from netmodels.zoo import UnitModel
from splitbase import ModelError


def conv_bottleneck_reason(model: UnitModel, split: int, feature_shape: tuple[int, ...] | None) -> str | None:
    """Why a conv encoder / deconv decoder cannot sit at `split` (None if it can)."""
    if split == -1:
        return "nothing runs on the device at the input split; send the image with an image codec"
    shape = feature_shape if feature_shape is not None else feature_shape_at(model, split)
    if len(shape) != 3:
        return (f"the feature after {model.split_name(split)!r} has shape {tuple(shape)}; "
                "a convolutional encoder needs a C x H x W map")
    return None


@METHODS.register("bottlenetpp")
class BottleNetPP(Method):
    """BottleNet++: learned joint source-channel coding at the split, trained in three steps."""

    name = "bottlenetpp"
    description = "BottleNet++: conv encoder + channel layer + deconv decoder, 3-step training (paper 000)"
    OPTIONS = {"stride": None, "channel_state_input": None, "finetune": True, "finetune_lr_scale": 0.1}

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        return conv_bottleneck_reason(model, split, feature_shape)

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: Mapping[str, Any]) -> MethodParts:
        if compression_ratio is None:
            raise ModelError("method 'bottlenetpp' needs a compression_ratio (raw float32 bits / bits sent)")
        bits = channel_bits_per_element(channel)
        stride = options["stride"] if options["stride"] is not None else auto_stride(feature_shape)
        plan = plan_bottleneck(feature_shape, ratio=compression_ratio, bits_per_element=bits,
                               raw_bits_per_element=raw_bits_per_element, stride=stride)
        state_input = options["channel_state_input"]
        state_input = is_noisy(channel) if state_input is None else bool(state_input)
        offset, scale = state_normalisation(channel)
        encoder = ConvEncoder(plan, state_input=state_input, state_offset=offset, state_scale=scale)
        decoder = DeconvDecoder(plan)
        return MethodParts(
            encoder, decoder, plan.sent_shape, bits,
            encoder_macs=plan.encoder_macs(int(state_input)), decoder_macs=plan.decoder_macs(),
            encoder_params=parameter_count(encoder), decoder_params=parameter_count(decoder),
        )

    def stages(self, options: Mapping[str, Any]) -> tuple[Stage, ...]:
        codec = Stage("codec", ("encoder", "decoder"),
                      description="step 2: encoder and decoder alone over the channel's training range, "
                                  "head and tail frozen")
        if not options["finetune"]:
            return (codec,)
        return (codec, Stage("finetune", None, lr_scale=float(options["finetune_lr_scale"]),
                             description="step 3: every layer fine-tuned at a low learning rate"))
