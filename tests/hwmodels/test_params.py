"""Preset file validation and building: every bad file names the preset and the field."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from hwmodels.catalog import PRESET_DIR, load_preset, load_preset_file, read_preset_file

from hwmodels.units import dimension_of, factor_to_si
from splitbase import HardwareModelError

GOOD = """\
name: {name}
kind: bsc
version: 1
description: test channel
params:
  channel_use_rate_hz: {{value: 2, unit: MHz, source: "test"}}
  crossover_probability: {{value: 0.11, unit: "1", source: "test"}}
  ideal_coding: {{value: true, unit: bool, source: "test"}}
  code_rate: {{value: 0.5, unit: "1", calibrated: "test study, by hand"}}
  tx_power_w: {{value: 100, unit: mW, source: "test", note: "a note"}}
"""

def write(tmp_path, text, name="tp"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return path

def good(tmp_path, name="tp", **replace):
    text = GOOD.format(name=name)
    for old, new in replace.items():
        text = text.replace(old, new)
    return write(tmp_path, text, name)

def test_good_file_converts_to_si_and_keeps_provenance(tmp_path):
    link = load_preset_file(good(tmp_path))
    assert link.channel_use_rate_hz == 2e6
    assert link.tx_power_w == pytest.approx(0.1)
    p = link.params["tx_power_w"]
    assert (p.written_value, p.unit, p.source, p.note) == (100, "mW", "test", "a note")
    assert link.params["code_rate"].calibrated == "test study, by hand"
    assert link.params["code_rate"].provenance.startswith("calibrated:")

@pytest.mark.parametrize("old, new, field", [
    ("version: 1", "version: 1\ncolour: red", "colour"),                      # unknown top-level key
    ('unit: MHz, source: "test"', 'unit: MHz, source: "test", units: x', "channel_use_rate_hz"),  # unknown record key
    ('{value: 2, unit: MHz, source: "test"}', '{unit: MHz, source: "test"}', "channel_use_rate_hz"),  # no value
    ('{value: 2, unit: MHz, source: "test"}', '{value: 2, source: "test"}', "channel_use_rate_hz"),   # no unit
    ('unit: MHz, source: "test"', "unit: MHz", "channel_use_rate_hz"),         # neither source nor calibrated
    ('unit: MHz, source: "test"', 'unit: MHz, source: "a", calibrated: "b"', "channel_use_rate_hz"),  # both
    ("value: 2, unit: MHz", "value: fast, unit: MHz", "channel_use_rate_hz.value"),  # non-numeric
    ("value: 2, unit: MHz", "value: .nan, unit: MHz", "channel_use_rate_hz.value"),  # not finite
    ("value: 2, unit: MHz", "value: 2, unit: furlongs", "channel_use_rate_hz.unit"),  # unknown unit
    ("value: 2, unit: MHz", "value: 2, unit: GB/s", "channel_use_rate_hz"),    # known unit, wrong dimension
    ("value: true, unit: bool", "value: 1, unit: bool", "ideal_coding"),       # bool unit needs a bool
    ("value: 100, unit: mW", "value: true, unit: bool", "tx_power_w"),        # bool where a number belongs
    ("  tx_power_w:", "  tx_power_kw:", "tx_power_kw"),                        # unknown parameter for the kind
    ("kind: bsc", "kind: warp-drive", "warp-drive"),                          # unknown kind
    ("version: 1", "version: one", "version"),
    ("description: test channel", "description: ''", "description"),
    ("value: 0.11, unit", "value: 0.7, unit", "crossover_probability"),        # out of bounds
])
def test_bad_file_names_the_field(tmp_path, old, new, field):
    path = good(tmp_path, **{old: new})
    with pytest.raises(HardwareModelError) as err:
        load_preset_file(path)
    message = str(err.value)
    assert field in message and "\n" not in message

def test_missing_parameter_and_name_mismatch(tmp_path):
    text = GOOD.format(name="tp").replace('  tx_power_w: {value: 100, unit: mW, source: "test", note: "a note"}\n', "")
    with pytest.raises(HardwareModelError, match="missing parameter.*tx_power_w"):
        load_preset_file(write(tmp_path, text))
    with pytest.raises(HardwareModelError, match="must equal the file name"):
        read_preset_file(write(tmp_path, GOOD.format(name="other"), name="tp2"))

def test_unreadable_yaml(tmp_path):
    with pytest.raises(HardwareModelError, match=r"preset file .*: line 2: not valid YAML \(expected ','"):
        read_preset_file(write(tmp_path, "name: [unclosed\n"))

def test_mode_errors(tmp_path):
    text = GOOD.format(name="tp").replace("version: 1", "version: 1\nmodes: {a: {}}\ndefault_mode: b")
    with pytest.raises(HardwareModelError, match="default_mode"):
        read_preset_file(write(tmp_path, text))
    with pytest.raises(HardwareModelError, match="unknown mode 'fast'.*none"):
        load_preset_file(good(tmp_path), mode="fast")

def test_overrides_record_source_and_check_names_values_bounds(tmp_path):
    path = good(tmp_path)
    link = load_preset_file(path, overrides={"crossover_probability": 0.01, "ideal_coding": False})
    assert link.crossover_probability == 0.01 and link.ideal_coding is False
    assert link.params["crossover_probability"].source == "override"
    assert link.params["crossover_probability"].unit == "1"
    with pytest.raises(HardwareModelError, match=r"unknown parameter 'p'.*known: channel_use_rate_hz"):
        load_preset_file(path, overrides={"p": 0.1})
    with pytest.raises(HardwareModelError, match="override tx_power_w: expected a finite number"):
        load_preset_file(path, overrides={"tx_power_w": "loud"})
    with pytest.raises(HardwareModelError, match=r"crossover_probability: expected a value in \[0, 0.5\]"):
        load_preset_file(path, overrides={"crossover_probability": np.array([0.1, 0.9])})
    with pytest.raises(HardwareModelError, match="expected true or false"):
        load_preset_file(path, overrides={"ideal_coding": 1})

def test_component_override_and_errors():
    engine = load_preset("engine-28nm-144mac", overrides={"dram.bandwidth_byte_per_s": 12.8e6, "clock_hz": 5e8})
    assert engine.dram.bandwidth_byte_per_s == 12.8e6 and engine.clock_hz == 5e8
    assert engine.dram.params["bandwidth_byte_per_s"].source == "override"
    with pytest.raises(HardwareModelError, match="unknown component 'sram'"):
        load_preset("engine-28nm-144mac", overrides={"sram.energy_j_per_bit": 1e-12})
    with pytest.raises(HardwareModelError, match="lpddr-004.*cannot override unknown parameter 'speed'"):
        load_preset("engine-28nm-144mac", overrides={"dram.speed": 1.0})

def test_component_cycle_is_an_error(tmp_path):
    engine = (PRESET_DIR / "engine-28nm-144mac.yaml").read_text()
    write(tmp_path, engine.replace("name: engine-28nm-144mac", "name: loop").replace("dram: lpddr-004", "dram: loop"),
          name="loop")
    with pytest.raises(HardwareModelError, match="cycle"):
        load_preset_file(tmp_path / "loop.yaml")

def test_units_table():
    assert factor_to_si("pJ", "J") == 1e-12
    assert factor_to_si("GiB", "byte") == 2**30
    assert factor_to_si("Mbit/s", "bit/s") == 1e6
    assert factor_to_si("%", "1") == 0.01
    assert factor_to_si("MB/s", "bit/s") is None
    assert dimension_of("GFLOP/s") == "FLOP/s" and dimension_of("parsec") is None

def test_key_written_twice_is_an_error(tmp_path):
    text = GOOD.format(name="tp") + '  tx_power_w: {value: 1, unit: W, source: "again"}\n'
    with pytest.raises(HardwareModelError, match="'tx_power_w' appears twice"):
        read_preset_file(write(tmp_path, text))

def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(HardwareModelError, match="cannot read"):
        load_preset_file(tmp_path / "nothing.yaml")
