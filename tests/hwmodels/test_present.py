"""Text for `hw list` / `hw show`."""
from __future__ import annotations


from hwmodels.catalog import load_preset, preset_names
from hwmodels.present import describe_preset, format_preset_list, param_rows


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


def test_energy_per_action_is_shown():
    text = describe_preset("wifi-80211bgn-004")
    assert "energy per action (J):" in text and "airtime_second" in text and "0.099" in text
    assert "dram_bit" in describe_preset("engine-28nm-144mac")
