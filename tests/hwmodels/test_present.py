"""Text for `hw list` / `hw show` and the energy-share helper."""
from __future__ import annotations

import numpy as np
import pytest

from hwmodels.catalog import load_preset, preset_names
from hwmodels.present import (
    describe_preset,
    energy_shares,
    format_energy_per_action,
    format_preset_list,
    param_rows,
)


def test_preset_list_names_every_preset():
    text = format_preset_list()
    assert text.splitlines()[0].split() == ["name", "kind", "description"]
    for name in preset_names():
        assert name in text


def test_describe_engine_shows_sources_notes_and_component():
    text = describe_preset("engine-28nm-144mac")
    assert "clock_hz" in text and "MHz" in text and "Jouppi" in text
    assert "component dram:" in text and "lpddr-004" in text
    assert "note: why GB/s" in text


def test_describe_shows_overrides_and_modes():
    text = describe_preset("wifi-80211bgn-004:22mbps", overrides={"tx_power_w": 0.5})
    assert "22mbps (selected)" in text and "mode 1mbps:" in text and "mode 2mbps:" in text
    rows = {r.parameter: r for r in param_rows(load_preset("wifi-80211bgn-004:22mbps", overrides={"tx_power_w": 0.5}))}
    assert rows["tx_power_w"].provenance == "source: override" and rows["tx_power_w"].unit == "W"
    assert rows["rate_bit_per_s"].value == "22" and rows["rate_bit_per_s"].si_value == "2.2e+07"


def test_describe_calibrated_parameter():
    rows = {r.parameter: r for r in param_rows(load_preset("raspberry-pi-3"))}
    assert rows["usable_memory_fraction"].provenance.startswith("calibrated: from 001")


def test_energy_per_action_text():
    text = format_energy_per_action(load_preset("wifi-80211bgn-004"))
    assert "transmitted_bit" in text and "4.95e-08" in text


def test_energy_shares():
    shares = energy_shares({"compute": np.array([1.0, 0.0]), "radio": np.array([3.0, 0.0])})
    assert shares["compute"] == pytest.approx([0.25, 0.0])
    assert shares["radio"] == pytest.approx([0.75, 0.0])
