"""Arrays in, arrays out: 1e5 design points at once equal a scalar loop, and shapes broadcast."""
from __future__ import annotations

import numpy as np
import pytest

from hwmodels.catalog import load_preset
from hwmodels.pipeline import split_cost

N = 100_000
RNG = np.random.default_rng(0)
MACS = RNG.uniform(1e6, 1e9, N)
WEIGHTS = RNG.uniform(1e3, 2e8, N)
ACTS = RNG.uniform(1e3, 1e7, N)
PIXELS = RNG.uniform(0, 1e5, N)
BITS = RNG.uniform(0, 1e6, N)


@pytest.mark.parametrize("device", ["engine-28nm-144mac", "raspberry-pi-3", "jetson-nano"])
def test_device_methods_match_scalar_loop(device):
    model = load_preset(device)
    inf, enc = model.inference(MACS, WEIGHTS, ACTS), model.encode(PIXELS)
    check = model.memory_check(WEIGHTS, ACTS)
    assert inf.time_s.shape == enc.time_s.shape == check.feasible.shape == (N,)
    for i in range(5):
        one = model.inference(MACS[i], WEIGHTS[i], ACTS[i])
        assert inf.time_s[i] == pytest.approx(float(one.time_s))
        assert inf.total_energy_j[i] == pytest.approx(float(one.total_energy_j))
        assert enc.time_s[i] == pytest.approx(float(model.encode(PIXELS[i]).time_s))
        assert check.feasible[i] == bool(model.memory_check(WEIGHTS[i], ACTS[i]).feasible)


@pytest.mark.parametrize("link", ["wifi-80211bgn-004", "awgn-1mhz-14.5db", "lora-sf7-125k", "bec-p0.01-ldpc"])
def test_links_match_scalar_loop(link):
    model = load_preset(link)
    cost = model.send_bits(BITS)
    assert cost.time_s.shape == cost.energy_j["radio"].shape == (N,)
    for i in range(5):
        assert cost.time_s[i] == pytest.approx(float(model.send_bits(BITS[i]).time_s))


def test_pipeline_broadcasts_over_a_grid():
    engine, radio, server = (load_preset(n) for n in ("engine-28nm-144mac", "wifi-80211bgn-004", "rtx-2080ti"))
    splits = 8
    macs = np.linspace(1e8, 7e8, splits)[:, None]          # split points along axis 0
    bits = np.linspace(1e4, 1e6, 50)[None, :]               # compression ratios along axis 1
    cost = split_cost(device=engine, link=radio, server=server, head_macs=macs, head_weight_bytes=4.6e6,
                      head_activation_bytes=5e6, tail_macs=1e8, tail_weight_bytes=1e8, tail_activation_bytes=1e5,
                      encoded_pixels=4e4, sent_bits=bits)
    assert cost.latency_s.shape == cost.energy_j.shape == cost.throughput_fps.shape == (splits, 50)
    single = split_cost(device=engine, link=radio, server=server, head_macs=macs[3, 0], head_weight_bytes=4.6e6,
                        head_activation_bytes=5e6, tail_macs=1e8, tail_weight_bytes=1e8,
                        tail_activation_bytes=1e5, encoded_pixels=4e4, sent_bits=bits[0, 7])
    assert cost.latency_s[3, 7] == pytest.approx(float(single.latency_s))
    assert cost.energy_j[3, 7] == pytest.approx(float(single.energy_j))


def test_array_overrides_sweep_a_hardware_parameter():
    clocks = np.array([2e8, 5e8, 1e9])
    engine = load_preset("engine-28nm-144mac", overrides={"clock_hz": clocks})
    assert engine.compute_time_s(1e9) == pytest.approx(1e9 / (144 * clocks))
    lora = load_preset("lora-sf7-125k", overrides={"spreading_factor": np.arange(7, 13)})
    assert lora.information_rate_bit_per_s.shape == (6,)
