"""Activation pruning across a residual block: keep the selected channels on the device, put zeros back on the server.

See netmodels.pruning for the method (paper 001/003, section III.C)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from splitbase import ModelError

def _runs(keep: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending channel indices as [start, stop) runs of consecutive channels."""
    runs: list[list[int]] = []
    for c in sorted(int(k) for k in keep):
        if runs and runs[-1][1] == c:
            runs[-1][1] = c + 1
        else:
            runs.append([c, c + 1])
    return [(a, b) for a, b in runs]


class _ChannelIndex(nn.Module):
    """Shared part of ChannelSelect / ChannelScatter: the kept channels as a buffer (saved with
    the weights) and as Python runs, refreshed on load, so forward needs no host sync and uses
    slices and one concatenation only (priced by explorer's profiler as the copy it is)."""

    def __init__(self, keep: Sequence[int], channels: int, block: int = 1) -> None:
        super().__init__()
        keep = sorted(int(k) for k in keep)
        if not keep or keep[0] < 0 or keep[-1] >= channels or len(set(keep)) != len(keep):
            raise ModelError(f"kept channels must be distinct indices in 0..{channels - 1}, got {keep}")
        self.channels, self.block = int(channels), int(block)
        self.register_buffer("keep", torch.tensor(keep, dtype=torch.long))
        self._runs = _runs(keep)

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - torch's signature
        super()._load_from_state_dict(*args, **kwargs)
        self._runs = _runs(self.keep.tolist())

    def extra_repr(self) -> str:
        return f"kept={self.keep.numel()}/{self.channels}, block={self.block}"


class ChannelSelect(_ChannelIndex):
    """(B, C, ...) -> (B, C', ...): the kept channels, in order; for a flat (B, C block) input,
    the kept blocks of `block` elements (activation pruning of the feature sent)."""

    def forward(self, x: Tensor) -> Tensor:
        b = self.block
        parts = [x[:, start * b:stop * b] for start, stop in self._runs]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class ChannelScatter(_ChannelIndex):
    """(B, C', ...) -> (B, C, ...): the kept channels back at their places, zeros elsewhere,
    which is exactly what the masked model's tail saw (the server side of ChannelSelect)."""

    def forward(self, x: Tensor) -> Tensor:
        b, parts, pos, previous = self.block, [], 0, 0
        for start, stop in self._runs + [(self.channels, self.channels)]:
            if start > previous:
                parts.append(torch.zeros(x.shape[0], (start - previous) * b, *x.shape[2:],
                                         dtype=x.dtype, device=x.device))
            if stop > start:
                parts.append(x[:, pos * b:(pos + stop - start) * b])
                pos += stop - start
            previous = stop
        return torch.cat(parts, dim=1)
