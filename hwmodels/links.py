"""Links: how long a feature takes on the air and what the radio spends sending it.

Every link gives an information rate (bit/s, after channel coding), a transmit power (W), the
time for `bits` of digital payload, and, where the link carries unquantised symbols, the time for
`n_real_values` analog values. Energy is transmit power x airtime (component "radio").

Kinds (one class each):
- `RadioLink` ("radio"): a fixed PHY rate, optionally in named modes (004's 802.11b/g/n transmitter,
  802.11n MCS, LTE categories). Power = tx_power_w + tx_energy_j_per_bit x rate, so both a
  constant-power radio (004) and a linear power model (Huang et al., MobiSys 2012: P = beta +
  alpha_u x throughput) fit.
- `LoRaLink` ("lora"): Rb = SF x BW / 2^SF x 4 / (4 + CR) (Semtech AN1200.22).
- `AwgnLink` ("awgn"): C = W log2(1 + SNR) (Shannon; 000 and 001 use W = 1 MHz, SNR 14.5 dB);
  analog: two real values per complex channel use, W complex uses per second (000 §IV-B, I and Q).
- `BscLink` ("bsc"): C = 1 - H(p) bits per use; `BecLink` ("bec"):
  C = 1 - p (001/003, 000).

Coding: with `ideal_coding` true the digital rate is the capacity (the bound 000 and 001 use for
their baselines). With it false, an explicit code of rate `code_rate` runs over raw channel bits
(000: rate-1/2 LDPC over the BEC); a code above capacity cannot be decoded reliably, so its rate is
0 and its time infinite. Radio and LoRa rates are PHY rates net of their own FEC; `code_rate` there
is an extra outer code (1 = none).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from hwmodels.costs import StageCost, as_array, priced_actions
from hwmodels.params import FLAG, HardwareModel, param_field
from splitbase import HardwareModelError


# ---------------------------------------------------------------- formulas (vectorised)


def db_to_linear(db: ArrayLike) -> np.ndarray:
    """10^(dB/10)."""
    return 10.0 ** (as_array(db) / 10.0)


def shannon_capacity_bit_per_s(bandwidth_hz: ArrayLike, snr_db: ArrayLike) -> np.ndarray:
    """AWGN capacity C = W log2(1 + SNR), bit/s (W in Hz = complex channel uses per second)."""
    return as_array(bandwidth_hz) * np.log2(1.0 + db_to_linear(snr_db))


def binary_entropy(p: ArrayLike) -> np.ndarray:
    """H(p) = -p log2 p - (1-p) log2 (1-p), bits; H(0) = H(1) = 0."""
    p = as_array(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -p * np.log2(p) - (1.0 - p) * np.log2(1.0 - p)
    return np.where((p <= 0.0) | (p >= 1.0), 0.0, h)


def bsc_capacity_bit_per_use(p: ArrayLike) -> np.ndarray:
    """Binary symmetric channel capacity 1 - H(p), bits per channel use."""
    return 1.0 - binary_entropy(p)


def bec_capacity_bit_per_use(p: ArrayLike) -> np.ndarray:
    """Binary erasure channel capacity 1 - p, bits per channel use."""
    return 1.0 - as_array(p)


def lora_bit_rate_bit_per_s(spreading_factor: ArrayLike, bandwidth_hz: ArrayLike,
                            coding_rate_index: ArrayLike) -> np.ndarray:
    """LoRa PHY bit rate Rb = SF x BW / 2^SF x 4 / (4 + CR), bit/s; CR 1..4 means code 4/5..4/8."""
    sf = as_array(spreading_factor)
    return sf * as_array(bandwidth_hz) / 2.0**sf * 4.0 / (4.0 + as_array(coding_rate_index))


# ---------------------------------------------------------------- the interface


class Link(ABC):
    """What the cost evaluator needs from a link. `carries_analog`: it takes unquantised values
    (`send_analog`), not bits alone."""

    carries_analog: ClassVar[bool] = False

    @property
    @abstractmethod
    def information_rate_bit_per_s(self) -> float | np.ndarray:
        """Payload bits delivered per second, after channel coding."""

    @property
    @abstractmethod
    def transmit_power_w(self) -> float | np.ndarray:
        """Power drawn by the transmitter while it sends, W."""

    @property
    def raw_bit_rate_bit_per_s(self) -> float | np.ndarray:
        """Channel bits per second without a channel code of ours: the information rate where the
        link's PHY rate is already net of its own code (radios, LoRa)."""
        return self.information_rate_bit_per_s

    def uncoded_time_s(self, bits: ArrayLike) -> np.ndarray:
        """Airtime of `bits` sent over raw channel uses, no channel code (a payload trained to bear
        the channel's errors, 000): bits / raw bit rate, seconds."""
        with np.errstate(divide="ignore"):
            return as_array(bits) / self.raw_bit_rate_bit_per_s

    def digital_time_s(self, bits: ArrayLike) -> np.ndarray:
        """Airtime of `bits` payload bits: bits / information rate, seconds (inf if the rate is 0)."""
        with np.errstate(divide="ignore"):
            return as_array(bits) / self.information_rate_bit_per_s

    def analog_time_s(self, n_real_values: ArrayLike) -> np.ndarray:
        """Airtime of `n_real_values` unquantised values; only channels with analog symbols have it."""
        raise HardwareModelError(f"link {self.name!r} carries bits only; analog transmission "  # type: ignore[attr-defined]
                                 "needs an 'awgn' link")

    def send_bits(self, bits: ArrayLike) -> StageCost:
        """Digital transmission: time and radio energy (power x airtime)."""
        return self._cost(self.digital_time_s(bits))

    def send_uncoded(self, bits: ArrayLike) -> StageCost:
        """Uncoded digital transmission: time and radio energy (power x airtime)."""
        return self._cost(self.uncoded_time_s(bits))

    def send_analog(self, n_real_values: ArrayLike) -> StageCost:
        """Analog transmission: time and radio energy (power x airtime)."""
        return self._cost(self.analog_time_s(n_real_values))

    def energy_per_action_j(self) -> dict[str, float | np.ndarray]:
        """The radio's ERT: a second of airtime costs the transmit power (a payload bit then
        costs power / information rate)."""
        return {"airtime_second": self.transmit_power_w}

    def _cost(self, time_s: np.ndarray) -> StageCost:
        with np.errstate(invalid="ignore"):  # 0 bits over a dead link: 0 x inf -> 0, below
            energy = priced_actions({"airtime_second": time_s}, self.energy_per_action_j(),
                                    {"airtime_second": "radio"})["radio"]
        return StageCost(time_s=time_s, energy_j={"radio": np.where(time_s == 0.0, 0.0, energy)})


# ---------------------------------------------------------------- fixed-rate radios and LoRa


@dataclass(frozen=True, kw_only=True)
class RadioLink(HardwareModel, Link):
    """A transmitter at a fixed PHY rate (one per mode); power = tx_power_w + tx_energy_j_per_bit x rate."""

    rate_bit_per_s: float = param_field("bit/s", low=0.0, low_open=True)
    tx_power_w: float = param_field("W", low=0.0)
    tx_energy_j_per_bit: float = param_field("J/bit", low=0.0)
    code_rate: float = param_field("1", low=0.0, high=1.0, low_open=True)

    @property
    def information_rate_bit_per_s(self) -> float | np.ndarray:
        return self.rate_bit_per_s * self.code_rate

    @property
    def transmit_power_w(self) -> float | np.ndarray:
        return self.tx_power_w + self.tx_energy_j_per_bit * self.rate_bit_per_s


@dataclass(frozen=True, kw_only=True)
class LoRaLink(HardwareModel, Link):
    """LoRa at spreading factor SF, bandwidth BW and coding rate 4/(4+CR)."""

    spreading_factor: float = param_field("1", low=6.0, high=12.0)
    bandwidth_hz: float = param_field("Hz", low=0.0, low_open=True)
    coding_rate_index: float = param_field("1", low=1.0, high=4.0)
    tx_power_w: float = param_field("W", low=0.0)
    code_rate: float = param_field("1", low=0.0, high=1.0, low_open=True)

    @property
    def information_rate_bit_per_s(self) -> float | np.ndarray:
        return lora_bit_rate_bit_per_s(self.spreading_factor, self.bandwidth_hz, self.coding_rate_index) \
            * self.code_rate

    @property
    def transmit_power_w(self) -> float | np.ndarray:
        return self.tx_power_w


# ---------------------------------------------------------------- capacity-defined channels


class _CodedLink(Link):
    """Digital rate: capacity when `ideal_coding`, else code_rate x raw bit rate (0 above capacity)."""

    ideal_coding: bool
    code_rate: float
    tx_power_w: float

    @property
    @abstractmethod
    def capacity_bit_per_s(self) -> float | np.ndarray:
        """Shannon capacity of the channel, bit/s."""

    @property
    @abstractmethod
    def raw_bit_rate_bit_per_s(self) -> float | np.ndarray:
        """Coded (channel) bits per second that an explicit code rides on."""

    @property
    def information_rate_bit_per_s(self) -> float | np.ndarray:
        if self.ideal_coding:
            return self.capacity_bit_per_s
        coded = self.code_rate * np.asarray(self.raw_bit_rate_bit_per_s)
        rate = np.where(coded <= self.capacity_bit_per_s * (1 + 1e-12), coded, 0.0)
        return float(rate) if rate.ndim == 0 else rate

    @property
    def transmit_power_w(self) -> float | np.ndarray:
        return self.tx_power_w


@dataclass(frozen=True, kw_only=True)
class AwgnLink(HardwareModel, _CodedLink):
    """Complex AWGN channel of bandwidth W (W complex uses per second) at a given SNR."""

    carries_analog = True

    bandwidth_hz: float = param_field("Hz", low=0.0, low_open=True)
    snr_db: float = param_field("dB")
    ideal_coding: bool = param_field(FLAG)
    code_rate: float = param_field("1", low=0.0, high=1.0, low_open=True)
    bits_per_symbol: float = param_field("bit", low=1.0)
    tx_power_w: float = param_field("W", low=0.0)

    @property
    def capacity_bit_per_s(self) -> float | np.ndarray:
        return _scalar(shannon_capacity_bit_per_s(self.bandwidth_hz, self.snr_db))

    @property
    def raw_bit_rate_bit_per_s(self) -> float | np.ndarray:
        return self.bits_per_symbol * self.bandwidth_hz

    def analog_time_s(self, n_real_values: ArrayLike) -> np.ndarray:
        """Two real values (I and Q) per complex use, W uses per second: n / (2 W) seconds."""
        return as_array(n_real_values) / (2.0 * self.bandwidth_hz)


@dataclass(frozen=True, kw_only=True)
class _BinaryLink(HardwareModel, _CodedLink):
    """A binary channel: `channel_use_rate_hz` binary uses per second, each carrying
    `capacity_per_use` bits of information (the subclass's formula)."""

    channel_use_rate_hz: float = param_field("Hz", low=0.0, low_open=True)
    ideal_coding: bool = param_field(FLAG)
    code_rate: float = param_field("1", low=0.0, high=1.0, low_open=True)
    tx_power_w: float = param_field("W", low=0.0)

    @property
    @abstractmethod
    def capacity_per_use(self) -> float | np.ndarray:
        """Bits of information per binary channel use."""

    @property
    def capacity_bit_per_s(self) -> float | np.ndarray:
        return _scalar(self.channel_use_rate_hz * self.capacity_per_use)

    @property
    def raw_bit_rate_bit_per_s(self) -> float | np.ndarray:
        return self.channel_use_rate_hz


@dataclass(frozen=True, kw_only=True)
class BscLink(_BinaryLink):
    """BSC with crossover probability p: 1 - H(p) bits per use."""

    crossover_probability: float = param_field("1", low=0.0, high=0.5)

    @property
    def capacity_per_use(self) -> float | np.ndarray:
        return bsc_capacity_bit_per_use(self.crossover_probability)


@dataclass(frozen=True, kw_only=True)
class BecLink(_BinaryLink):
    """BEC with erasure probability p: 1 - p bits per use."""

    erasure_probability: float = param_field("1", low=0.0, high=1.0)

    @property
    def capacity_per_use(self) -> float | np.ndarray:
        return bec_capacity_bit_per_use(self.erasure_probability)


def _scalar(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x
