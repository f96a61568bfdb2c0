"""The channel layer base class: a non-trainable layer that corrupts what is sent as the link would.

A channel corrupts the encoder's output x (in [0, 1] after the encoder's sigmoid) the way the
link would (BottleNet++, paper 000 section III.B). Its *state* (PSNR in dB, or a bit error /
erasure probability) is fixed at evaluation and, in training, drawn per batch from `train_range`;
the state is drawn before the encoder runs, so a channel-adaptive encoder can take it as an input:

    s = channel.sample_state(batch_size, device)   # (B,) tensor
    z = encoder(x, s)
    y = channel(z, s)

A channel's settings are its constructor's keyword parameters, their defaults its defaults: a
ChannelSpec (netmodels.channels.spec) reads them from the signature, so they are stated once.
`state_setting` names the parameter that is the state. Random draws use torch's default
generator of the tensor's device: runs repeat under torch.manual_seed.
"""
from __future__ import annotations

from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from splitbase import ModelError

# Bits counted for one real value sent over an analog channel: the 32 bits it would take as the
# float32 the raw feature is counted in. So on AWGN the compression ratio is the reduction in the
# number of real values, BottleNet++'s "bandwidth reduction" (paper 000, section IV.B).
ANALOG_BITS_PER_VALUE = 32


class Channel(nn.Module):
    """Base class. Subclasses set `state_setting`, `unit` and implement `transmit`, `_check_state`
    and `bits_per_element`.

    value: the state used at evaluation (and in training when `train_range` is None).
    train_range: (low, high); in training mode each batch's state is drawn uniformly from it.
    per_sample: draw one state per sample instead of one per batch.
    The last state used is kept in `self.state` (a (B,) tensor) for inspection.
    told: None, or at evaluation the state a channel-adaptive encoder is told whatever the
    channel's own (paper 000 section IV.C, case 2: the encoder assumes 15 dB while the channel
    varies); set by netmodels.training.evaluate.evaluate_over_channel, never in training.
    unit: "bit" for a digital channel (what is sent is bits), "real" for an analog one (real
    values; pairing two reals into one complex channel use is the link model's job).
    """

    state_setting: ClassVar[str | None]
    unit: ClassVar[Literal["bit", "real"]]
    noisy: ClassVar[bool] = True

    def __init__(
        self, value: float, *, train_range: tuple[float, float] | None = None, per_sample: bool = False
    ) -> None:
        super().__init__()
        self.value = self._check_state(float(value))
        if train_range is not None:
            low, high = (self._check_state(float(v)) for v in train_range)
            if low > high:
                raise ModelError(f"{self.state_setting} train_range must be (low, high) with low <= high, "
                                 f"got {train_range}")
            train_range = (low, high)
        self.train_range = train_range
        self.per_sample = bool(per_sample)
        self.state: Tensor | None = None
        self.told: float | None = None

    def _check_state(self, value: float) -> float:
        raise NotImplementedError

    @property
    def trained_through_errors(self) -> bool:
        """Whether the model learns to bear the channel's bit errors (a digital channel at a
        state above 0 in training), so that its bits are sent without a channel code (000
        IV.B: BottleNet++ "can avoid extra cost for channel coding"). Not on an analog channel,
        whose values are not bits, nor on an error-free one."""
        return False

    def bits_per_element(self, raw_bits_per_element: int) -> int:
        """Bits counted per element sent: the raw width on an ideal channel, n on a digital one,
        ANALOG_BITS_PER_VALUE per real value on an analog one."""
        raise NotImplementedError

    def sample_state(self, batch_size: int, device: torch.device | str | None = None) -> Tensor:
        """The channel state for a batch, shape (B,), float32: drawn in training, fixed otherwise."""
        if not self.training or self.train_range is None:
            return torch.full((batch_size,), self.value, dtype=torch.float32, device=device)
        low, high = self.train_range
        u = torch.rand(batch_size if self.per_sample else 1, device=device)
        return (low + (high - low) * u).expand(batch_size).contiguous()

    def encoder_state(self, state: Tensor) -> Tensor:
        """The state the encoder is given for a batch whose channel state is `state` (B,):
        `state` itself, or `told` at evaluation when it is set."""
        if self.told is None or self.training:
            return state
        return torch.full_like(state, self.told)

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

    def extra_repr(self) -> str:
        return f"{self.state_setting}={self.value}, train_range={self.train_range}, per_sample={self.per_sample}"
