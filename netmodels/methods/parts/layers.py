"""Bottleneck layers shared by the methods and their geometry.

A built candidate's MACs come from tracing its layers (netmodels.profiling, the one MAC counter);
`conv_encoder_size` sizes a ConvEncoder from its plan alone, for the search's pre-filter, and
tests/netmodels/candidate/test_size.py holds it equal to the traced count.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.methods.base import EncoderSize
from splitbase import ModelError


@dataclass(frozen=True)
class BottleneckPlan:
    """Geometry of a conv encoder / deconv decoder pair (paper 000 section III.A and III.C).

    A C x H x W feature becomes C' x H' x W' with H' = floor(H / s), W' = floor(W / s): C' filters
    of an s x s kernel at stride s (s = 1: a 1 x 1 conv). The decoder's s x s transposed conv at
    stride s, with output padding H - s H' (and W - s W'), restores exactly H x W.
    """

    channels: int
    height: int
    width: int
    sent_channels: int
    stride: int

    @property
    def sent_shape(self) -> tuple[int, int, int]:
        return (self.sent_channels, self.height // self.stride, self.width // self.stride)

    @property
    def output_padding(self) -> tuple[int, int]:
        _, h, w = self.sent_shape
        return (self.height - h * self.stride, self.width - w * self.stride)


def auto_stride(feature_shape: tuple[int, ...]) -> int:
    """The paper's 2 x 2 kernel at stride 2 where the map allows it (H, W >= 2), else 1 x 1."""
    return 2 if min(feature_shape[1:]) >= 2 else 1


def plan_bottleneck(feature_shape: tuple[int, ...], *, ratio: float, bits_per_element: int,
                    raw_bits_per_element: int = 32, stride: int) -> BottleneckPlan:
    """The encoder whose sent bits come nearest to raw bits / `ratio`.

    raw bits = C H W raw_bits_per_element; sent bits = C' H' W' bits_per_element, so
    C' = round(C H W raw / (ratio H' W' b)), at least 1. The achieved ratio differs from `ratio`
    by the rounding of C'; callers report the achieved one. ModelError if even C' = 1 sends
    more than asked (by more than the rounding) or the stride does not fit the map.
    """
    if len(feature_shape) != 3:
        raise ModelError(f"a conv bottleneck needs a C x H x W feature, got shape {feature_shape}")
    c, h, w = (int(s) for s in feature_shape)
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= min(h, w):
        raise ModelError(f"bottleneck stride must be an integer in 1..{min(h, w)} for a {c}x{h}x{w} feature, got {stride!r}")
    if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 0):
        raise ModelError(f"compression ratio must be a positive number, got {ratio!r}")
    raw_bits = c * h * w * raw_bits_per_element
    per_channel = (h // stride) * (w // stride) * bits_per_element
    exact = raw_bits / (ratio * per_channel)
    if exact < 0.5:
        most = raw_bits / per_channel
        raise ModelError(f"compression ratio {ratio:g} is beyond this encoder for a {c}x{h}x{w} feature: at most "
                         f"{most:g} with stride {stride} and {bits_per_element} bits per element (one channel sent); "
                         "ask a larger stride or fewer bits")
    return BottleneckPlan(c, h, w, max(1, round(exact)), stride)


class ConvEncoder(nn.Module):
    """Conv (C' filters, s x s, stride s, no bias) + BN + sigmoid (paper 000 section III.A).

    The sigmoid bounds the output to [0, 1]: the AWGN channel's peak-1 PSNR and the n-bit
    quantiser both assume that range. With `state_input`, the channel state (PSNR in dB, or p)
    is the encoder's extra input ("we will add it as a parameter to the encoder"): mapped
    affinely by (state - state_offset) * state_scale to about [-1, 1] over the training range and
    concatenated as one constant input plane, so the conv has C + 1 input channels.
    forward(x (B, C, H, W), state (B,)) -> (B, C', H', W').
    """

    def __init__(self, plan: BottleneckPlan, *, state_input: bool = False,
                 state_offset: float = 0.0, state_scale: float = 1.0) -> None:
        super().__init__()
        self.state_input = bool(state_input)
        self.state_offset, self.state_scale = float(state_offset), float(state_scale)
        self.conv = nn.Conv2d(plan.channels + int(self.state_input), plan.sent_channels, plan.stride,
                              stride=plan.stride, bias=False)
        self.bn = nn.BatchNorm2d(plan.sent_channels)
        self.act = nn.Sigmoid()

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        if self.state_input:
            if state is None:
                raise ModelError("this encoder takes the channel state as an input; none was given")
            b, _, h, w = x.shape
            plane = ((state - self.state_offset) * self.state_scale).to(x.dtype)
            x = torch.cat([x, plane.view(b, 1, 1, 1).expand(b, 1, h, w)], dim=1)
        return self.act(self.bn(self.conv(x)))

    def extra_repr(self) -> str:
        return f"state_input={self.state_input}, state_offset={self.state_offset:g}, state_scale={self.state_scale:g}"


def conv_encoder_size(plan: BottleneckPlan, bits_per_element: int, *, state_input: bool = False) -> EncoderSize:
    """The ConvEncoder of `plan`, sized: C' H' W' values sent; (C [+ 1]) C' s^2 conv weights and
    2 C' batch-norm ones; one MAC per conv weight per output position."""
    sent_channels, height, width = plan.sent_shape
    conv_weights = (plan.channels + int(state_input)) * sent_channels * plan.stride**2
    return EncoderSize(sent_values=sent_channels * height * width, bits_per_element=bits_per_element,
                       weights=conv_weights + 2 * sent_channels, macs=conv_weights * height * width)


class DeconvDecoder(nn.Module):
    """Transposed conv (C filters, s x s, stride s, no bias) + BN + ReLU (paper 000 section III.C).

    forward(y (B, C', H', W')) -> (B, C, H, W), the shape the tail expects.
    """

    def __init__(self, plan: BottleneckPlan) -> None:
        super().__init__()
        self.deconv = nn.ConvTranspose2d(plan.sent_channels, plan.channels, plan.stride, stride=plan.stride,
                                         output_padding=plan.output_padding, bias=False)
        self.bn = nn.BatchNorm2d(plan.channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, y: Tensor) -> Tensor:
        return self.act(self.bn(self.deconv(y)))


def state_normalisation(channel: Channel) -> tuple[float, float]:
    """(offset, scale) mapping the channel's training range to [-1, 1] (its fixed value to 0)."""
    if channel.train_range is None:
        return channel.value, 1.0
    low, high = channel.train_range
    return (low + high) / 2, (2.0 / (high - low) if high > low else 1.0)


class MinMaxScale(nn.Module):
    """Per-sample affine map of a feature onto [0, 1] before a noisy channel: u = (x - lo) / (hi - lo).

    lo and hi (the sample's min and max) are the side information, sent reliably as two float32
    (64 bits per frame); their gradient is not followed (they are constants of the link).
    forward(x (B, ...), state) -> (u, (lo, span)).
    """

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        dims = tuple(range(1, x.dim()))
        xd = x.detach()
        lo, hi = xd.amin(dim=dims, keepdim=True), xd.amax(dim=dims, keepdim=True)
        span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))  # a constant sample maps to 0
        return (x - lo) / span, (lo, span)


class MinMaxRestore(nn.Module):
    """Inverse of MinMaxScale at the receiver: x = y span + lo. forward(y, (lo, span)) -> x."""

    def forward(self, y: Tensor, side: tuple[Tensor, Tensor]) -> Tensor:
        lo, span = side
        return y * span + lo
