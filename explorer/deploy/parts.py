"""The two deployable halves of a trained candidate, as modules torch.export can trace."""
from __future__ import annotations

from torch import Tensor, nn

from netmodels.candidate import SplitModel


class DevicePart(nn.Module):
    """head (+ encoder): device(x, state) -> z, or (z, lo, span) with side information."""

    def __init__(self, head: nn.Module, encoder: nn.Module | None) -> None:
        super().__init__()
        self.head, self.encoder = head, encoder

    def forward(self, x: Tensor, state: Tensor):
        feature = self.head(x)
        if self.encoder is None:
            return feature
        out = self.encoder(feature, state)
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


def split_parts(module: SplitModel, *, side_information: bool) -> tuple[DevicePart, ServerPart]:
    """The device and server halves of a candidate's module, in eval mode. What runs between them
    (channel, codec proxy) is the link's: the deployed link replaces it."""
    return (DevicePart(module.head, module.encoder).eval(),
            ServerPart(module.decoder, module.tail, side_information).eval())
