"""`none`: the plain split. The head's feature goes to the tail as it is, with no learned encoder.

On the ideal channel it is sent raw: float32 (the 8-bit image at k = -1). On a noisy channel
(AWGN, BEC, BSC) it is first mapped per sample onto [0, 1] by its min and max (64 bits of side
information per frame, sent reliably), because the channels assume that range (peak-1 PSNR,
n-bit quantiser over [0, 1]), and mapped back at the receiver. No stage trains anything unless
the option `finetune` adds one that fine-tunes every layer with the channel in the loop.
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
    is_noisy,
)
from netmodels.methods.parts.layers import MinMaxRestore, MinMaxScale
from splitbase import ModelError

SIDE_INFO_BITS = 64  # the sample's min and max, two float32


@METHODS.register("none")
class PlainSplit(Method):
    """Plain split: no encoder; raw float32 on an ideal link, min/max-scaled on a noisy channel."""

    name = "none"
    description = "plain split: the feature sent as it is (raw, or quantised / corrupted by the channel)"
    OPTIONS = {"finetune": False, "lr_scale": 0.1}

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: Mapping[str, Any]) -> MethodParts:
        if compression_ratio is not None:
            raise ModelError("method 'none' sends the feature as it is and takes no compression_ratio "
                             "(its ratio follows from the channel's bits per element)")
        bits = channel_bits_per_element(channel, raw_bits_per_element)
        if not is_noisy(channel):
            return MethodParts(None, None, tuple(feature_shape), bits)
        return MethodParts(MinMaxScale(), MinMaxRestore(), tuple(feature_shape), bits, header_bits=SIDE_INFO_BITS)

    def stages(self, options: Mapping[str, Any]) -> tuple[Stage, ...]:
        if not options["finetune"]:
            return ()
        return (Stage("finetune", None, lr_scale=float(options["lr_scale"]),
                      description="every layer fine-tuned with the channel in the loop"),)
