"""`none`: the ideal link, carrying the feature unchanged."""
from __future__ import annotations

from torch import Tensor

from netmodels.channels.base import Channel


class IdealChannel(Channel):
    """A noiseless link carrying the feature as it is: identity, the raw width per element.

    Its state is always 0 (so a channel-adaptive encoder still gets an input). With a codec the
    codec's bits replace this cost.
    """

    state_setting = None
    unit = "bit"
    noisy = False

    def __init__(self) -> None:
        super().__init__(0.0)

    def _check_state(self, value: float) -> float:
        return value

    def bits_per_element(self, raw_bits_per_element: int) -> int:
        return raw_bits_per_element

    def transmit(self, x: Tensor, state: Tensor) -> Tensor:
        return x

    def extra_repr(self) -> str:
        return ""
