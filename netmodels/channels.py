"""Non-trainable channel layers (BottleNet++, paper 000 section III.B) and their registry.

A channel corrupts the encoder's output x (in [0, 1] after the encoder's sigmoid) the way the
link would. Its *state* (PSNR in dB, or a bit error/erasure probability) is fixed at evaluation
and, in training, drawn per batch from `train_range`; the state is drawn before the encoder runs,
so a channel-adaptive encoder can take it as an input:

    s = channel.sample_state(batch_size, device)   # (B,) tensor
    z = encoder(x, s)
    y = channel(z, s)

Random draws use torch's default generator of the tensor's device: runs repeat under
torch.manual_seed.
"""
from __future__ import annotations

import math
from typing import ClassVar, Literal, NamedTuple

import torch
from torch import Tensor, nn

from netmodels.codecs.quantize import MAX_BITS, check_bits, quantize
from splitbase import ModelError, Registry

CHANNELS: Registry[type["Channel"]] = Registry("channel", error=ModelError)


class ChannelCost(NamedTuple):
    """What one sample costs on the channel: `count` units of `unit`.

    "bit" for digital channels (elements x bits), "real" for the analog AWGN channel (real
    values; pairing two reals into one complex channel use is the link model's job).
    """

    count: int
    unit: Literal["bit", "real"]


class Channel(nn.Module):
    """Base class. Subclasses set `state_name`, `unit` and implement `transmit` and `_check_state`.

    value: the state used at evaluation (and in training when `train_range` is None).
    train_range: (low, high); in training mode each batch's state is drawn uniformly from it.
    per_sample: draw one state per sample instead of one per batch.
    The last state used is kept in `self.state` (a (B,) tensor) for inspection.
    """

    state_name: ClassVar[str]
    unit: ClassVar[Literal["bit", "real"]]

    def __init__(
        self, value: float, *, train_range: tuple[float, float] | None = None, per_sample: bool = False
    ) -> None:
        super().__init__()
        self.value = self._check_state(float(value))
        if train_range is not None:
            low, high = (self._check_state(float(v)) for v in train_range)
            if low > high:
                raise ModelError(f"{self.state_name} train_range must be (low, high) with low <= high, got {train_range}")
            train_range = (low, high)
        self.train_range = train_range
        self.per_sample = bool(per_sample)
        self.state: Tensor | None = None

    def _check_state(self, value: float) -> float:
        raise NotImplementedError

    def sample_state(self, batch_size: int, device: torch.device | str | None = None) -> Tensor:
        """The channel state for a batch, shape (B,), float32: drawn in training, fixed otherwise."""
        if not self.training or self.train_range is None:
            return torch.full((batch_size,), self.value, dtype=torch.float32, device=device)
        low, high = self.train_range
        u = torch.rand(batch_size if self.per_sample else 1, device=device)
        return (low + (high - low) * u).expand(batch_size).contiguous()

    def forward(self, x: Tensor, state: Tensor | float | None = None) -> Tensor:
        """x (B, ...) -> what the receiver gets, same shape and dtype; a state is drawn if None."""
        if state is None:
            state = self.sample_state(x.shape[0], x.device)
        state = torch.as_tensor(state, dtype=torch.float32, device=x.device)
        if state.dim() == 0:
            state = state.expand(x.shape[0])
        if state.shape != (x.shape[0],):
            raise ModelError(f"channel state must be a scalar or of shape ({x.shape[0]},), got {tuple(state.shape)}")
        self.state = state
        return self.transmit(x, state.view(-1, *([1] * (x.dim() - 1))))

    def transmit(self, x: Tensor, state: Tensor) -> Tensor:
        """Corrupt x with the per-sample state, already shaped to broadcast over x."""
        raise NotImplementedError

    def cost_per_sample(self, feature_shape: tuple[int, ...]) -> ChannelCost:
        """What one sample of shape feature_shape (without the batch dim) costs on this channel."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"{self.state_name}={self.value}, train_range={self.train_range}, per_sample={self.per_sample}"


def _elements(shape: tuple[int, ...]) -> int:
    return math.prod(int(s) for s in shape)


class IdealChannel(Channel):
    """A noiseless link carrying the feature as float32: identity, 32 bits per element.

    Its state is always 0 (so a channel-adaptive encoder still gets an input). With a codec the
    codec's bits replace this cost.
    """

    state_name = "none"
    unit = "bit"

    def __init__(self) -> None:
        super().__init__(0.0)

    def _check_state(self, value: float) -> float:
        return value

    def transmit(self, x: Tensor, state: Tensor) -> Tensor:
        return x

    def cost_per_sample(self, feature_shape: tuple[int, ...]) -> ChannelCost:
        return ChannelCost(32 * _elements(feature_shape), "bit")

    def extra_repr(self) -> str:
        return ""


CHANNELS.add("none", IdealChannel)
CHANNELS.add("ideal", IdealChannel)


@CHANNELS.register("awgn")
class AWGNChannel(Channel):
    """Analog AWGN channel f(x) = x + n, n ~ N(0, sigma^2), state = PSNR in dB.

    Paper 000 eq. (1) with peak 1 (the encoder's sigmoid output): PSNR = 10 log10(1 / sigma^2),
    so sigma = 10^(-PSNR / 20). Differentiable (d y / d x = 1). Cost: one real value per element.
    """

    state_name = "psnr_db"
    unit = "real"

    def __init__(
        self, psnr_db: float = 20.0, *, train_range: tuple[float, float] | None = None, per_sample: bool = False
    ) -> None:
        super().__init__(psnr_db, train_range=train_range, per_sample=per_sample)

    def _check_state(self, value: float) -> float:
        if not math.isfinite(value):
            raise ModelError(f"psnr_db must be a finite number of dB, got {value}")
        return value

    def transmit(self, x: Tensor, state: Tensor) -> Tensor:
        sigma = torch.pow(10.0, -state / 20.0).to(x.dtype)
        return x + sigma * torch.randn_like(x)

    def cost_per_sample(self, feature_shape: tuple[int, ...]) -> ChannelCost:
        return ChannelCost(_elements(feature_shape), "real")


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
    Cost: elements x bits.
    """

    unit = "bit"

    def __init__(
        self, p: float = 0.0, *, bits: int = 8, train_range: tuple[float, float] | None = None, per_sample: bool = False
    ) -> None:
        super().__init__(p, train_range=train_range, per_sample=per_sample)
        self.bits = check_bits(bits, high=MAX_BITS)

    def _check_state(self, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ModelError(f"{self.state_name} must be a probability in [0, 1], got {value}")
        return value

    def _corrupt(self, levels: Tensor, p: Tensor) -> Tensor:
        """Received levels (float, 0..2^bits - 1)."""
        raise NotImplementedError

    def transmit(self, x: Tensor, state: Tensor) -> Tensor:
        top = (1 << self.bits) - 1
        received = self._corrupt(quantize(x, self.bits), state) / top
        return x + (received.to(x.dtype) - x).detach()  # value of `received`, gradient of x

    def cost_per_sample(self, feature_shape: tuple[int, ...]) -> ChannelCost:
        return ChannelCost(_elements(feature_shape) * self.bits, "bit")

    def extra_repr(self) -> str:
        return f"bits={self.bits}, " + super().extra_repr()


@CHANNELS.register("bec")
class BECChannel(_DigitalChannel):
    """Binary erasure channel with erasure probability p per bit (paper 000 section III.B)."""

    state_name = "erasure_p"

    def _corrupt(self, levels: Tensor, p: Tensor) -> Tensor:
        return erase_bits(levels, self.bits, p)[0]


@CHANNELS.register("bsc")
class BSCChannel(_DigitalChannel):
    """Binary symmetric channel with bit flip probability p."""

    state_name = "flip_p"

    def _corrupt(self, levels: Tensor, p: Tensor) -> Tensor:
        return flip_bits(levels, self.bits, p)[0].float()


def build_channel(name: str, **options: object) -> Channel:
    """An instance of the channel registered as `name`, e.g. build_channel("awgn", psnr_db=20)."""
    cls = CHANNELS.get(name)
    try:
        return cls(**options)
    except TypeError as exc:  # an unknown option: say which channel and what went wrong
        raise ModelError(f"channel {name!r}: {exc}") from None
