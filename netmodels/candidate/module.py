"""The trainable module of a candidate: head -> encoder -> channel -> codec proxy -> decoder -> tail."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from netmodels.channels import Channel


class SplitModel(nn.Module):
    """head -> encoder -> channel -> codec proxy -> decoder -> tail, one trainable module.

    forward(x) = tail(decoder(codec_proxy(channel(encoder(head(x), s'), s)))), s the channel
    state: drawn per batch from the channel's training range in training mode, its fixed value in
    eval mode; s' the state the encoder is told, s unless the channel's `told` is set. An encoder may return (z, side) with reliable side information, which the decoder
    then takes as decoder(y, side). The channel runs in float32 with autocast off (noise and
    quantisation at full precision). The codec proxy is the codec's effect on the values in
    training (MethodParts.codec_proxy); what is deployed is head + encoder on the device and
    decoder + tail on the server, the real codec in between. encoder, codec_proxy and decoder
    may be None (the feature passes unchanged).
    """

    def __init__(self, head: nn.Module, tail: nn.Module, *, channel: Channel,
                 encoder: nn.Module | None = None, decoder: nn.Module | None = None,
                 codec_proxy: nn.Module | None = None, split_index: int, split_name: str) -> None:
        super().__init__()
        self.head, self.encoder, self.channel, self.decoder, self.tail = head, encoder, channel, decoder, tail
        self.codec_proxy = codec_proxy
        self.split_index, self.split_name = split_index, split_name

    def encode(self, feature: Tensor, state: Tensor) -> tuple[Tensor, Any]:
        """(z, side): what is sent for the head's feature, and its side information (or None)."""
        if self.encoder is None:
            return feature, None
        out = self.encoder(feature, state)
        return out if isinstance(out, tuple) else (out, None)

    def transmit(self, z: Tensor, state: Tensor) -> Tensor:
        """What the receiver gets for z: the channel (float32, autocast off), then the codec proxy."""
        with torch.autocast(device_type=z.device.type, enabled=False):
            y = self.channel(z.float(), state)
        return y if self.codec_proxy is None else self.codec_proxy(y)

    def decode(self, y: Tensor, side: Any) -> Tensor:
        if self.decoder is None:
            return y
        return self.decoder(y) if side is None else self.decoder(y, side)

    def forward(self, x: Tensor) -> Tensor:
        feature = self.head(x)
        state = self.channel.sample_state(feature.shape[0], feature.device)
        z, side = self.encode(feature, self.channel.encoder_state(state))
        return self.tail(self.decode(self.transmit(z, state), side))

    def sent(self, x: Tensor) -> Tensor:
        """What the device sends for inputs x: the encoder's output z (no channel, no grad)."""
        with torch.no_grad():
            feature = self.head(x)
            return self.encode(feature, self.channel.sample_state(feature.shape[0], feature.device))[0]
