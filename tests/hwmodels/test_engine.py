"""The 004 engine against hand computations (preset numbers written out here)."""
from __future__ import annotations

import numpy as np
import pytest

from hwmodels.catalog import load_preset

CLOCK = 700e6          # Hz, engine-28nm-144mac
N_MACS = 144
E_MAC = 0.59e-12       # J
E_BUF = 7.8e-12        # J per byte
E_DRAM_BIT = 640e-12 / 32   # J per bit: 640 pJ per 32-bit access
DRAM_BW = 12.8e9       # byte/s


@pytest.fixture(scope="module")
def engine():
    return load_preset("engine-28nm-144mac")


def test_preset_values(engine):
    assert (engine.n_macs, engine.clock_hz, engine.utilisation, engine.data_bits) == (N_MACS, CLOCK, 1.0, 16)
    assert engine.mac_energy_j == pytest.approx(E_MAC)
    assert engine.dram.energy_j_per_bit == pytest.approx(E_DRAM_BIT)
    assert engine.dram.bandwidth_byte_per_s == pytest.approx(DRAM_BW)
    assert engine.buffer_capacity_byte == 24 * 2**20


def test_compute_bound(engine):
    # 1e9 MACs on 144 MACs at 700 MHz: 1e9 / 1.008e11 = 9.92 ms; weights tiny
    cost = engine.inference(1e9, 1e3, 0.0)
    assert cost.time_s == pytest.approx(1e9 / (144 * 700e6))
    assert cost.energy_j["compute"] == pytest.approx(1e9 * 0.59e-12)   # 0.59 mJ


def test_dram_bound_and_energy(engine):
    # 128 MB of 16-bit weights at 12.8 GB/s = 10 ms > 1e6 MACs (9.9 us)
    cost = engine.inference(1e6, 128e6, 0.0)
    assert cost.time_s == pytest.approx(0.010)
    # 640 pJ per 32-bit access: 128e6 B = 32e6 accesses -> 20.48 mJ
    assert cost.energy_j["dram"] == pytest.approx(32e6 * 640e-12)


def test_weight_compression_divides_dram_traffic(engine):
    squeezed = load_preset("engine-28nm-144mac", overrides={"weight_compression_ratio": 4.0})
    base, comp = engine.inference(1e6, 128e6, 0.0), squeezed.inference(1e6, 128e6, 0.0)
    assert comp.time_s == pytest.approx(base.time_s / 4)
    assert comp.energy_j["dram"] == pytest.approx(base.energy_j["dram"] / 4)


def test_buffer_energy_and_total(engine):
    cost = engine.inference(2e6, 1e3, 1e6)
    assert cost.energy_j["buffer"] == pytest.approx(1e6 * 7.8e-12)
    assert cost.total_energy_j == pytest.approx(2e6 * E_MAC + 1e6 * E_BUF + 8e3 * E_DRAM_BIT)


def test_utilisation_and_clock_overrides(engine):
    slow = load_preset("engine-28nm-144mac", overrides={"clock_hz": 5e8, "utilisation": 0.5})
    assert slow.compute_time_s(1e9) == pytest.approx(1e9 / (144 * 5e8 * 0.5))


def test_jpeg_encoder(engine):
    # 13x13x256 conv5 feature = 43264 pixels at 1.02 pixel/cycle x 700 MHz, 1.5 pJ each
    cost = engine.encode(43264)
    assert cost.time_s == pytest.approx(43264 / (1.02 * 700e6))
    assert cost.energy_j["encoder"] == pytest.approx(43264 * 1.5e-12)
    assert engine.encode(0).time_s == 0.0


def test_memory_check(engine):
    check = engine.memory_check(weight_bytes=[1e6, 2e9, 1e6], peak_activation_bytes=[1e6, 1e6, 30e6])
    assert check.feasible.tolist() == [True, False, False]
    reasons = [check.reason((i,)) for i in range(3)]
    assert reasons[0] == ""
    assert "DRAM for compressed weights" in reasons[1] and "2 GB" in reasons[1]
    assert "on-chip feature buffer" in reasons[2] and "30 MB" in reasons[2]


def test_energy_per_action_table(engine):
    table = engine.energy_per_action_j()
    assert table["mac"] == pytest.approx(E_MAC)
    assert table["dram_bit"] * 32 == pytest.approx(640e-12)
    assert set(table) == {"mac", "buffer_byte", "dram_bit", "encoded_pixel"}
    # every energy the engine reports is its action counts times this table
    cost = engine.inference(macs=1e6, weight_bytes=4e3, activation_bytes=2e3)
    assert cost.energy_j["compute"] == pytest.approx(1e6 * table["mac"])
    assert cost.energy_j["buffer"] == pytest.approx(2e3 * table["buffer_byte"])
    assert cost.energy_j["dram"] == pytest.approx(8 * 4e3 / engine.weight_compression_ratio * table["dram_bit"])


def test_literal_12_8_mb_per_s_reading(engine):
    # the reason the preset reads GB/s: AlexNet's 4.6 MB of conv weights would take 0.36 s a frame
    literal = load_preset("engine-28nm-144mac", overrides={"dram.bandwidth_byte_per_s": 12.8e6})
    assert literal.dram_time_s(4.6e6) == pytest.approx(0.359, rel=1e-2)
    assert engine.dram_time_s(4.6e6) == pytest.approx(0.359e-3, rel=1e-2)
    assert np.isclose(12.8e6 * 8 / 22e6, 4.65, rtol=1e-2)   # DRAM only 4.6x the 22 Mbps radio
