"""Contract over the whole catalog, and the catalog's own behaviour (names, modes, kinds)."""
from __future__ import annotations

import dataclasses

import pytest

from hwmodels.catalog import KINDS, PRESET_DIR, list_presets, load_preset, preset_names, read_preset_file
from hwmodels.costs import Device
from hwmodels.engine import Dram
from hwmodels.links import Link
from hwmodels.params import HardwareModel, parameter_fields
from hwmodels.units import DIMENSIONS
from splitbase import HardwareModelError

ALL = preset_names()

EXPECTED = {"engine-28nm-144mac", "lpddr-004", "wifi-80211bgn-004", "wifi-80211n-1x1-20mhz", "awgn-1mhz-14.5db",
            "bsc-p0.11", "bec-p0.01-ldpc", "lora-sf7-125k", "lora-sf6-125k", "lte-cat1", "lte-cat4", "lte-catm1",
            "raspberry-pi-3", "raspberry-pi-4", "jetson-nano", "rtx-2080ti"}


def test_catalog_holds_the_expected_presets():
    assert EXPECTED <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_every_preset_loads_with_full_provenance(name):
    preset = read_preset_file(PRESET_DIR / f"{name}.yaml")
    assert preset.name == name and preset.kind in KINDS and preset.version >= 1 and preset.description
    for mode in [None, *preset.modes]:
        model = load_preset(name, mode=mode)
        assert isinstance(model, HardwareModel) and model.name == name
        assert set(model.params) == set(parameter_fields(type(model)))
        for p in model.params.values():
            assert p.unit == "bool" or any(p.unit in units for units in DIMENSIONS.values()), (name, p.name)
            assert (p.source is None) != (p.calibrated is None), (name, p.name)
            assert (p.source or p.calibrated).strip()
        assert isinstance(model, (Device, Link, Dram)), name


@pytest.mark.parametrize("name", ALL)
def test_models_are_frozen(name):
    model = load_preset(name)
    field = next(iter(parameter_fields(type(model))))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(model, field, 0.0)


def test_list_presets_rows():
    rows = {r.name: r for r in list_presets()}
    assert rows["engine-28nm-144mac"].kind == "engine"
    assert rows["rtx-2080ti"].kind == "roofline"
    assert all(r.description for r in rows.values())


def test_unknown_preset_lists_known_ones():
    with pytest.raises(HardwareModelError, match=r"unknown hardware preset 'pi-5'.*raspberry-pi-3"):
        load_preset("pi-5")


def test_modes_by_argument_or_name_suffix():
    assert load_preset("wifi-80211bgn-004").mode == "2mbps"
    assert load_preset("wifi-80211bgn-004", mode="22mbps").rate_bit_per_s == 22e6
    assert load_preset("wifi-80211bgn-004:1mbps").tx_power_w == pytest.approx(62.7e-3)
    with pytest.raises(HardwareModelError, match="mode given twice"):
        load_preset("wifi-80211bgn-004:1mbps", mode="2mbps")
    with pytest.raises(HardwareModelError, match=r"unknown mode '5mbps'.*1mbps, 22mbps, 2mbps"):
        load_preset("wifi-80211bgn-004:5mbps")


def test_mode_parameters_can_be_overridden():
    radio = load_preset("wifi-80211bgn-004:22mbps", overrides={"tx_power_w": 0.5})
    assert radio.tx_power_w == 0.5 and radio.rate_bit_per_s == 22e6


def test_adding_a_preset_is_one_file(tmp_path):
    (tmp_path / "my-radio.yaml").write_text(
        (PRESET_DIR / "lte-cat1.yaml").read_text().replace("name: lte-cat1", "name: my-radio"))
    assert [r.name for r in list_presets(tmp_path)] == ["my-radio"]
    assert load_preset("my-radio", preset_dir=tmp_path).rate_bit_per_s == pytest.approx(5.16e6)
