"""`awgn`: the analog additive white Gaussian noise channel of BottleNet++ (paper 000)."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from netmodels.channels.base import ANALOG_BITS_PER_VALUE, Channel
from splitbase import ModelError

DEFAULT_PSNR_DB = 20.0  # paper 000 IV.B: PSNR = 20 dB in the AWGN comparison


class AWGNChannel(Channel):
    """Analog AWGN channel f(x) = x + n, n ~ N(0, sigma^2), state = PSNR in dB.

    Paper 000 eq. (1) with peak 1 (the encoder's sigmoid output): PSNR = 10 log10(1 / sigma^2),
    so sigma = 10^(-PSNR / 20). Differentiable (d y / d x = 1). One real value per element sent.
    """

    state_setting = "psnr_db"
    unit = "real"

    def __init__(self, psnr_db: float = DEFAULT_PSNR_DB, *, train_range: tuple[float, float] | None = None,
                 per_sample: bool = False) -> None:
        super().__init__(psnr_db, train_range=train_range, per_sample=per_sample)

    def _check_state(self, value: float) -> float:
        if not math.isfinite(value):
            raise ModelError(f"psnr_db must be a finite number of dB, got {value}")
        return value

    def bits_per_element(self, raw_bits_per_element: int) -> int:
        return ANALOG_BITS_PER_VALUE

    def transmit(self, x: Tensor, state: Tensor) -> Tensor:
        sigma = torch.pow(10.0, -state / 20.0).to(x.dtype)
        return x + sigma * torch.randn_like(x)
