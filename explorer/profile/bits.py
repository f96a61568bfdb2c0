"""Bit widths of what the device stores and sends (the profile's and the cost model's units)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from netmodels.widths import FLOAT32_BITS, INPUT_IMAGE_BITS
from splitbase.schema import Bounds, check_bounds

Width = Annotated[int, Bounds(low=1, high=32)]


@dataclass(frozen=True)
class BitWidths:
    """Bit widths of what the device stores and sends.

    `weight` applies to every parameter. `activation` None means the raw float32 feature
    (32 bits) and the raw 8-bit input image; an explicit activation width (a fixed-point engine
    such as 004's 16-bit MAC array) applies to every stored tensor, the input image included,
    unless `input` is given too.
    """

    weight: Width = 32
    activation: Width | None = None
    input: Width | None = None

    def __post_init__(self) -> None:
        check_bounds(self)

    @property
    def feature_bits(self) -> int:
        return FLOAT32_BITS if self.activation is None else self.activation

    @property
    def input_bits(self) -> int:
        if self.input is not None:
            return self.input
        return INPUT_IMAGE_BITS if self.activation is None else self.activation
