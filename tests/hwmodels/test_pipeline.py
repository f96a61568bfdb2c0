"""The two-stage pipeline against hand computations."""
from __future__ import annotations

import numpy as np
import pytest

from hwmodels.catalog import load_preset
from hwmodels.costs import StageCost
from hwmodels.pipeline import split_cost, two_stage_pipeline
from splitbase import HardwareModelError


def stage(t, **energy):
    return StageCost(time_s=np.asarray(t, dtype=float), energy_j={k: np.asarray(v) for k, v in energy.items()})


def test_throughput_set_by_the_slower_stage():
    cost = two_stage_pipeline(head=stage([0.010, 0.030], compute=[1.0, 3.0]),
                              encode=stage(0.001, encoder=0.1), transmit=stage(0.020, radio=2.0),
                              tail=stage(0.001, inference=50.0))
    # stage 2 = 1 + 20 ms; throughput 1/21 ms, then 1/30 ms when the head is slower
    assert cost.throughput_fps == pytest.approx([1 / 0.021, 1 / 0.030])
    assert cost.inference_bound.tolist() == [False, True]
    assert cost.latency_s == pytest.approx([0.032, 0.052])
    assert cost.energy_j == pytest.approx([3.1, 5.1])
    assert cost.energy_breakdown_j["radio"] == pytest.approx([2.0, 2.0])
    assert cost.server_energy_j == pytest.approx([50.0, 50.0])


def test_nothing_to_do_is_infinite_throughput():
    zero = stage(0.0)
    assert np.isinf(two_stage_pipeline(head=zero, encode=zero, transmit=zero, tail=zero).throughput_fps)


def test_split_cost_004_engine_2mbps():
    engine, radio, server = (load_preset(n) for n in ("engine-28nm-144mac", "wifi-80211bgn-004", "rtx-2080ti"))
    # a conv5-like head: 0.67 GMAC, 4.6 MB weights, 5 MB features; 43264-pixel feature -> 40 kbit sent
    cost = split_cost(device=engine, link=radio, server=server,
                      head_macs=0.67e9, head_weight_bytes=4.6e6, head_activation_bytes=5e6,
                      tail_macs=58.6e6, tail_weight_bytes=117e6, tail_activation_bytes=0.1e6,
                      encoded_pixels=43264, sent_bits=40e3)
    head = 0.67e9 / (144 * 700e6)                       # 6.65 ms, compute bound (DRAM 0.36 ms)
    encode = 43264 / (1.02 * 700e6)                     # 61 us
    link = 40e3 / 2e6                                   # 20 ms
    tail = max(2 * 58.6e6 / 13.45e12, 117.1e6 / 616e9)  # 0.19 ms, memory bound
    assert cost.head_s == pytest.approx(head)
    assert cost.stage2_s == pytest.approx(encode + link)
    assert cost.throughput_fps == pytest.approx(1 / (encode + link))
    assert cost.latency_s == pytest.approx(head + encode + link + tail)
    parts = {"compute": 0.67e9 * 0.59e-12, "buffer": 5e6 * 7.8e-12, "dram": 4.6e6 * 8 * 20e-12,
             "encoder": 43264 * 1.5e-12, "radio": 0.099 * link}
    for name, joules in parts.items():
        assert cost.energy_breakdown_j[name] == pytest.approx(joules), name
    assert cost.energy_j == pytest.approx(sum(parts.values()))


def test_split_cost_analog():
    pi3, awgn, server = (load_preset(n) for n in ("raspberry-pi-3", "awgn-1mhz-14.5db", "rtx-2080ti"))
    cost = split_cost(device=pi3, link=awgn, server=server, head_macs=1e8, head_weight_bytes=1e6,
                      head_activation_bytes=1e6, tail_macs=1e8, tail_weight_bytes=1e6, tail_activation_bytes=1e6,
                      sent_real_values=64)
    assert cost.link_s == pytest.approx(32e-6)
    assert set(cost.energy_breakdown_j) == {"inference", "encoder", "radio"}


def test_split_cost_digital_or_analog_not_both():
    pi3, awgn = load_preset("raspberry-pi-3"), load_preset("awgn-1mhz-14.5db")
    with pytest.raises(HardwareModelError, match="not both"):
        split_cost(device=pi3, link=awgn, server=pi3, head_macs=1, head_weight_bytes=1, head_activation_bytes=1,
                   tail_macs=1, tail_weight_bytes=1, tail_activation_bytes=1, sent_bits=8, sent_real_values=4)
