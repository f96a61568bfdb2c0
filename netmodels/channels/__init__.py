"""Non-trainable channel layers (BottleNet++, paper 000 section III.B), their registry and spec.

`CHANNELS` (registry.py): "none" (ideal), "awgn" (analog), "bec", "bsc" (digital, n-bit);
`ChannelSpec` (spec.py) describes one as data, its settings read from the channel's constructor.
"""
from __future__ import annotations

from netmodels.channels.awgn import AWGNChannel
from netmodels.channels.base import ANALOG_BITS_PER_VALUE, Channel
from netmodels.channels.digital import BECChannel, BSCChannel, erase_bits, erased_value, flip_bits
from netmodels.channels.ideal import IdealChannel
from netmodels.channels.registry import CHANNELS, build_channel
from netmodels.channels.spec import ChannelSpec, channel_settings

__all__ = [
    "ANALOG_BITS_PER_VALUE", "AWGNChannel", "BECChannel", "BSCChannel", "CHANNELS", "Channel", "ChannelSpec",
    "IdealChannel", "build_channel", "channel_settings", "erase_bits", "erased_value", "flip_bits",
]
