"""`none`: the plain split. The head's feature goes to the tail as it is, with no learned encoder.

On the ideal channel it is sent raw: float32 (the 8-bit image at k = -1). On a noisy channel
(AWGN, BEC, BSC) it is first mapped per sample onto [0, 1] by its min and max (64 bits of side
information per frame, sent reliably), because the channels assume that range (peak-1 PSNR,
n-bit quantiser over [0, 1]), and mapped back at the receiver. No stage trains anything unless
the option `finetune` adds one that fine-tunes every layer with the channel in the loop.
"""
from __future__ import annotations

from dataclasses import dataclass

from netmodels.channels import Channel
from netmodels.methods.base import METHODS, FeatureMethod, MethodParts, Stage
from netmodels.methods.parts.layers import MinMaxRestore, MinMaxScale
from splitbase import ModelError
from splitbase.schema import Positive

SIDE_INFO_BITS = 64  # the sample's min and max, two float32


@dataclass(frozen=True)
class PlainOptions:
    finetune: bool = False
    lr_scale: Positive = 0.1


@METHODS.register()
class PlainSplit(FeatureMethod):
    """Plain split: no encoder; raw float32 on an ideal link, min/max-scaled on a noisy channel."""

    name = "none"
    description = "plain split: the feature sent as it is (raw, or quantised / corrupted by the channel)"
    Options = PlainOptions

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: PlainOptions) -> MethodParts:
        if compression_ratio is not None:
            raise ModelError("method 'none' sends the feature as it is and takes no compression_ratio "
                             "(its ratio follows from the channel's bits per element)")
        bits = channel.bits_per_element(raw_bits_per_element)
        if not channel.noisy:
            return MethodParts(None, None, tuple(feature_shape), bits)
        return MethodParts(MinMaxScale(), MinMaxRestore(), tuple(feature_shape), bits, header_bits=SIDE_INFO_BITS)

    def stages(self, options: PlainOptions) -> tuple[Stage, ...]:
        if not options.finetune:
            return ()
        return (Stage("finetune", None, lr_scale=options.lr_scale,
                      description="every layer fine-tuned with the channel in the loop"),)
