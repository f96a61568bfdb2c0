"""The two deployable halves of a trained candidate, as modules torch.export can trace."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from netmodels.candidate import SplitModel


class DevicePart(nn.Module):
    """head (+ encoder): device(x) -> z, or (z, lo, span) with side information.

    The channel state a channel-adaptive encoder takes is the channel's evaluation value, held
    as a buffer (config.json records it as `channel_state`), so the program takes x alone.
    """

    def __init__(self, head: nn.Module, encoder: nn.Module | None, state: float) -> None:
        super().__init__()
        self.head, self.encoder = head, encoder
        self.register_buffer("state", torch.tensor(float(state)))

    def forward(self, x: Tensor):
        feature = self.head(x)
        if self.encoder is None:
            return feature
        out = self.encoder(feature, self.state.expand(x.shape[0]))
        return (out[0], *out[1]) if isinstance(out, tuple) else out


class ServerPart(nn.Module):
    """(decoder +) tail: server(y[, lo, span]) -> logits."""

    def __init__(self, decoder: nn.Module | None, tail: nn.Module, side: bool) -> None:
        super().__init__()
        self.decoder, self.tail, self.side = decoder, tail, side

    def forward(self, y: Tensor, lo: Tensor | None = None, span: Tensor | None = None) -> Tensor:
        if self.decoder is not None:
            y = self.decoder(y, (lo, span)) if self.side else self.decoder(y)
        return self.tail(y)


def split_parts(module: SplitModel, *, side_information: bool, state: float) -> tuple[DevicePart, ServerPart]:
    """The device and server halves of a candidate's module, in eval mode. What runs between them
    (channel, codec proxy) is the link's: the deployed link replaces it. `state`: the channel
    state the device program's encoder gets."""
    return (DevicePart(module.head, module.encoder, state).eval(),
            ServerPart(module.decoder, module.tail, side_information).eval())
