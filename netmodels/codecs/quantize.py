"""The one n-bit uniform quantiser, shared by the digital channels and the codecs.

BottleNet++ (paper 000, section III.B) quantises the encoder's sigmoid output X in [0, 1] as

    X~ = round(X * (2^n - 1)) / (2^n - 1),

i.e. to 2^n evenly spaced levels. Here the range [lo, hi] is a parameter so codecs can also
quantise unbounded features (ReLU outputs) with a per-sample min/max or a fixed range;
with lo = 0, hi = 1 it is exactly the paper's quantiser.
"""
from __future__ import annotations

import torch
from torch import Tensor

from splitbase import ModelError

MAX_BITS = 16


def check_bits(bits: int, *, what: str = "bits", high: int = MAX_BITS) -> int:
    """Return `bits` if it is an int in 1..high, else raise ModelError naming `what`."""
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= high:
        raise ModelError(f"{what} must be an integer in 1..{high}, got {bits!r}")
    return bits


def _span(lo: Tensor | float, hi: Tensor | float) -> Tensor | float:
    # A constant feature (hi == lo) would divide by zero; any positive span maps it to level 0,
    # which decodes back to lo, i.e. exactly the constant.
    if isinstance(lo, Tensor) or isinstance(hi, Tensor):
        span = torch.as_tensor(hi) - torch.as_tensor(lo)
        return torch.where(span > 0, span, torch.ones_like(span))
    return hi - lo if hi > lo else 1.0


def quantize(x: Tensor, bits: int, lo: Tensor | float = 0.0, hi: Tensor | float = 1.0) -> Tensor:
    """Integer levels round((clamp(x, lo, hi) - lo) / (hi - lo) * (2^bits - 1)), int64, x's shape.

    `lo`/`hi` are floats or tensors broadcastable to x (e.g. shape (B, 1, 1, 1) for per-sample
    ranges). The arithmetic is done in float32 at least, so half-precision inputs quantise the same.
    """
    check_bits(bits)
    top = (1 << bits) - 1
    xf = x.detach().float() if x.dtype in (torch.float16, torch.bfloat16) else x.detach()
    lo_t = torch.as_tensor(lo, dtype=xf.dtype, device=xf.device)
    hi_t = torch.as_tensor(hi, dtype=xf.dtype, device=xf.device)
    unit = (torch.minimum(torch.maximum(xf, lo_t), hi_t) - lo_t) / _span(lo_t, hi_t)
    return torch.round(unit * top).to(torch.int64)


def dequantize(levels: Tensor, bits: int, lo: Tensor | float = 0.0, hi: Tensor | float = 1.0) -> Tensor:
    """Float32 values lo + levels / (2^bits - 1) * (hi - lo): the inverse map of `quantize`."""
    check_bits(bits)
    top = (1 << bits) - 1
    lo_t = torch.as_tensor(lo, dtype=torch.float32, device=levels.device)
    hi_t = torch.as_tensor(hi, dtype=torch.float32, device=levels.device)
    return lo_t + levels.to(torch.float32) / top * _span(lo_t, hi_t)


def fake_quantize(x: Tensor, bits: int, lo: Tensor | float = 0.0, hi: Tensor | float = 1.0) -> Tensor:
    """X~ of paper 000 section III.B (with range [lo, hi]), in x's dtype; no gradient (see channels)."""
    return dequantize(quantize(x, bits, lo, hi), bits, lo, hi).to(x.dtype)
