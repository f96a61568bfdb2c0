"""Links and channels against hand computations."""
from __future__ import annotations

import math

import numpy as np
import pytest

from hwmodels.catalog import load_preset
from hwmodels.links import (
    bec_capacity_bit_per_use,
    binary_entropy,
    bsc_capacity_bit_per_use,
    lora_bit_rate_bit_per_s,
    shannon_capacity_bit_per_s,
)
from splitbase import HardwareModelError


@pytest.mark.parametrize("mode, rate, power, nj_per_bit", [
    ("1mbps", 1e6, 62.7e-3, 62.7), ("2mbps", 2e6, 99e-3, 49.5), ("22mbps", 22e6, 660e-3, 30.0)])
def test_80211_transmitter_modes(mode, rate, power, nj_per_bit):
    radio = load_preset(f"wifi-80211bgn-004:{mode}")
    assert radio.information_rate_bit_per_s == rate
    assert radio.transmit_power_w == pytest.approx(power)
    assert radio.energy_per_action_j() == {"airtime_second": pytest.approx(power)}
    assert radio.send_bits(1.0).energy_j["radio"] == pytest.approx(nj_per_bit * 1e-9)  # one payload bit


def test_80211_2mbps_one_megabit():
    # 1 Mbit at 2 Mbps: 0.5 s; at 99 mW: 49.5 mJ
    cost = load_preset("wifi-80211bgn-004").send_bits(1e6)
    assert cost.time_s == pytest.approx(0.5)
    assert cost.energy_j["radio"] == pytest.approx(0.0495)
    assert load_preset("wifi-80211bgn-004").send_bits(0).energy_j["radio"] == 0.0


def test_shannon_awgn_1mhz_14_5db():
    expected = 1e6 * math.log2(1 + 10 ** 1.45)          # 4.867e6 bit/s
    assert shannon_capacity_bit_per_s(1e6, 14.5) == pytest.approx(expected)
    awgn = load_preset("awgn-1mhz-14.5db")
    assert awgn.information_rate_bit_per_s == pytest.approx(expected)
    assert awgn.digital_time_s(expected) == pytest.approx(1.0)


def test_awgn_analog_two_reals_per_complex_use():
    awgn = load_preset("awgn-1mhz-14.5db")
    # 64 real values = 32 complex uses at 1e6 uses/s = 32 us; energy 0.1 W x 32 us
    cost = awgn.send_analog(64)
    assert cost.time_s == pytest.approx(32e-6)
    assert cost.energy_j["radio"] == pytest.approx(0.1 * 32e-6)


def test_awgn_explicit_code():
    # QPSK with rate-1/2 code: 0.5 x 2 bit x 1e6 uses/s = 1 Mbit/s (below capacity 4.87 Mbit/s)
    awgn = load_preset("awgn-1mhz-14.5db", overrides={"ideal_coding": False})
    assert awgn.information_rate_bit_per_s == pytest.approx(1e6)
    # at -5 dB capacity is 1e6 log2(1.316) = 0.396 Mbit/s < 1 Mbit/s: the code cannot be decoded
    bad = load_preset("awgn-1mhz-14.5db", overrides={"ideal_coding": False, "snr_db": -5.0})
    assert bad.information_rate_bit_per_s == 0.0 and np.isinf(bad.digital_time_s(1.0))


def test_binary_entropy_and_capacities():
    assert binary_entropy(0.5) == pytest.approx(1.0)
    assert binary_entropy([0.0, 1.0]).tolist() == [0.0, 0.0]
    h = -0.11 * math.log2(0.11) - 0.89 * math.log2(0.89)
    assert bsc_capacity_bit_per_use(0.11) == pytest.approx(1 - h)
    assert bsc_capacity_bit_per_use(0.11) == pytest.approx(0.5, abs=1e-3)
    assert bec_capacity_bit_per_use(0.01) == pytest.approx(0.99)


def test_bsc_preset_ideal_coding():
    bsc = load_preset("bsc-p0.11")
    assert bsc.information_rate_bit_per_s == pytest.approx(0.5e6, rel=1e-3)


def test_bec_ldpc_and_ideal():
    bec = load_preset("bec-p0.01-ldpc")
    assert bec.information_rate_bit_per_s == pytest.approx(0.5e6)   # rate-1/2 LDPC: 2 uses per bit
    assert bec.digital_time_s(1e6) == pytest.approx(2.0)
    ideal = load_preset("bec-p0.01-ldpc", overrides={"ideal_coding": True})
    assert ideal.information_rate_bit_per_s == pytest.approx(0.99e6)
    dead = load_preset("bec-p0.01-ldpc", overrides={"erasure_probability": 0.6})   # C = 0.4 < 0.5
    assert dead.information_rate_bit_per_s == 0.0
    assert np.isinf(dead.send_bits(10.0).energy_j["radio"])


@pytest.mark.parametrize("sf, kbps", [(7, 5.47), (8, 3.13), (9, 1.76), (10, 0.98), (11, 0.54), (12, 0.29)])
def test_lora_table(sf, kbps):
    # Rb = SF x 125e3 / 2^SF x 4/5
    exact = sf * 125e3 / 2**sf * 0.8
    assert lora_bit_rate_bit_per_s(sf, 125e3, 1) == pytest.approx(exact)
    link = load_preset("lora-sf7-125k", overrides={"spreading_factor": sf})
    assert link.information_rate_bit_per_s / 1e3 == pytest.approx(kbps, abs=0.006)


def test_lora_presets():
    assert load_preset("lora-sf7-125k").information_rate_bit_per_s == pytest.approx(5468.75)
    assert load_preset("lora-sf6-125k").information_rate_bit_per_s == pytest.approx(9375.0)
    assert load_preset("lora-sf7-125k", overrides={"coding_rate_index": 4}).information_rate_bit_per_s == \
        pytest.approx(7 * 125e3 / 128 * 0.5)
    with pytest.raises(HardwareModelError, match="spreading_factor"):
        load_preset("lora-sf7-125k", overrides={"spreading_factor": 13})


def test_lte_huang_power_model():
    cat1 = load_preset("lte-cat1")
    assert cat1.information_rate_bit_per_s == pytest.approx(5.16e6)
    # P = beta + alpha_u x rate = 1.28804 W + 438.39 nJ/bit x 5.16e6 bit/s = 3.5501 W
    assert cat1.transmit_power_w == pytest.approx(1.28804 + 438.39e-9 * 5.16e6)
    assert load_preset("lte-cat4").information_rate_bit_per_s == pytest.approx(51.024e6)
    assert load_preset("lte-catm1").information_rate_bit_per_s == pytest.approx(1e6)


def test_wifi_80211n_modes():
    assert load_preset("wifi-80211n-1x1-20mhz").information_rate_bit_per_s == 65e6
    assert load_preset("wifi-80211n-1x1-20mhz:mcs0").information_rate_bit_per_s == 6.5e6


def test_outer_code_rate_on_a_radio():
    radio = load_preset("wifi-80211bgn-004", overrides={"code_rate": 0.5})
    assert radio.digital_time_s(1e6) == pytest.approx(1.0)


def test_analog_needs_an_awgn_link():
    with pytest.raises(HardwareModelError, match="carries bits only"):
        load_preset("lte-cat1").send_analog(10)


def test_uncoded_bits_take_the_raw_channel_uses_and_a_radio_has_no_code_to_skip():
    """A payload trained through the channel's errors goes without a channel code (000 IV.B):
    over the BEC at 1 M uses/s, 1 Mbit takes 1 s uncoded and 2 s through rate-1/2 LDPC; a radio's
    rate is already net of its own code, so both take the same."""
    bec = load_preset("bec-p0.01-ldpc")
    assert bec.uncoded_time_s(1e6) == pytest.approx(1.0) and bec.send_uncoded(1e6).time_s == pytest.approx(1.0)
    assert bec.send_uncoded(1e6).energy_j["radio"] == pytest.approx(0.1)  # 0.1 W for 1 s
    wifi = load_preset("wifi-80211bgn-004:2mbps")
    assert wifi.uncoded_time_s(2e6) == pytest.approx(wifi.digital_time_s(2e6)) == pytest.approx(1.0)
