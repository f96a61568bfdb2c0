"""`bec` and `bsc`: digital channels, n-bit quantisation followed by bit erasures or flips
(BottleNet++, paper 000 section III.B; papers 001/003)."""
from __future__ import annotations

import torch
from torch import Tensor

from netmodels.channels.base import Channel
from netmodels.codecs.quantize import MAX_BITS, check_bits, quantize
from splitbase import ModelError

DEFAULT_P = 0.01  # paper 000 IV.B: bit erasure rate p = 0.01 in the BEC comparison
DEFAULT_BITS = 8


def _bit_weights(bits: int, device: torch.device) -> Tensor:
    return torch.ones((), dtype=torch.int64, device=device) << torch.arange(bits, device=device)


def erased_value(levels: Tensor, erased: Tensor) -> Tensor:
    """The receiver's value of integer levels whose bits marked in `erased` (levels.shape + (n,),
    bit i of weight 2^i) were erased: each erased bit is replaced by the average of its two values.

    Paper 000 section III.B: 110 with the leftmost bit erased -> mean(010, 110) = 4. With several
    erased bits the value is the mean over all their combinations, which is the value with each
    erased bit counted as 0.5 of its weight. Returns float32.
    """
    w = _bit_weights(erased.shape[-1], levels.device)
    lost = ((((levels.unsqueeze(-1) & w) != 0) & erased).long() * w).sum(-1)  # erased bits that were 1
    half = (erased.long() * w).sum(-1).float() * 0.5
    return levels.float() - lost.float() + half


def erase_bits(levels: Tensor, bits: int, p: Tensor | float) -> tuple[Tensor, Tensor]:
    """Binary erasure channel on the `bits` bits of integer levels, each erased independently with
    probability p (broadcast to levels). Returns (received value as float32 in 0..2^bits - 1,
    erased-bit mask of shape levels.shape + (bits,)); see `erased_value`.
    """
    p = torch.as_tensor(p, dtype=torch.float32, device=levels.device)
    erased = torch.rand(*levels.shape, bits, device=levels.device) < p.unsqueeze(-1)
    return erased_value(levels, erased), erased


def flip_bits(levels: Tensor, bits: int, p: Tensor | float) -> tuple[Tensor, Tensor]:
    """Binary symmetric channel: each of the `bits` bits flips independently with probability p.

    Returns (received integer levels, flip mask of shape levels.shape + (bits,)).
    """
    w = _bit_weights(bits, levels.device)
    p = torch.as_tensor(p, dtype=torch.float32, device=levels.device)
    flipped = torch.rand(*levels.shape, bits, device=levels.device) < p.unsqueeze(-1)
    return levels ^ (flipped.long() * w).sum(-1), flipped


class _DigitalChannel(Channel):
    """n-bit quantisation (X~ = round(X (2^n - 1)) / (2^n - 1), x clamped to [0, 1]) + bit errors.

    Straight-through gradient: the forward applies quantisation and corruption, the backward is
    the identity, as paper 000 does ("skip the channel model in the back-propagation").
    n bits per element sent.
    """

    state_setting = "p"
    unit = "bit"

    def __init__(self, p: float = DEFAULT_P, *, bits: int = DEFAULT_BITS,
                 train_range: tuple[float, float] | None = None, per_sample: bool = False) -> None:
        super().__init__(p, train_range=train_range, per_sample=per_sample)
        self.bits = check_bits(bits, high=MAX_BITS)

    def _check_state(self, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ModelError(f"p must be a probability in [0, 1], got {value}")
        return value

    def bits_per_element(self, raw_bits_per_element: int) -> int:
        return self.bits

    @property
    def trained_through_errors(self) -> bool:
        return max((self.value, *(self.train_range or ()))) > 0.0

    def _corrupt(self, levels: Tensor, p: Tensor) -> Tensor:
        """Received levels (float, 0..2^bits - 1)."""
        raise NotImplementedError

    def transmit(self, x: Tensor, state: Tensor) -> Tensor:
        top = (1 << self.bits) - 1
        received = self._corrupt(quantize(x, self.bits), state) / top
        return x + (received.to(x.dtype) - x).detach()  # value of `received`, gradient of x

    def extra_repr(self) -> str:
        return f"bits={self.bits}, " + super().extra_repr()


class BECChannel(_DigitalChannel):
    """Binary erasure channel with erasure probability p per bit (paper 000 section III.B)."""

    def _corrupt(self, levels: Tensor, p: Tensor) -> Tensor:
        return erase_bits(levels, self.bits, p)[0]


class BSCChannel(_DigitalChannel):
    """Binary symmetric channel with bit flip probability p."""

    def _corrupt(self, levels: Tensor, p: Tensor) -> Tensor:
        return flip_bits(levels, self.bits, p)[0].float()
