"""Preset files as data: the parameter record, YAML reading and validation, building a model.

A preset file (`hwmodels/presets/<name>.yaml`) looks like::

    name: engine-28nm-144mac        # must equal the file name
    kind: engine                    # which model class builds it (catalog.KINDS)
    version: 1
    description: one line
    params:                         # every number with its unit and where it comes from
      clock_hz: {value: 700, unit: MHz, source: "...", note: "..."}
      weight_compression_ratio: {value: 1.0, unit: "1", calibrated: "<study and how>"}
    modes:                          # optional: named alternatives (radio data-rate modes)
      2mbps: {rate_bit_per_s: {...}, tx_power_w: {...}}
    default_mode: 2mbps             # required with modes
    components: {dram: lpddr-004}   # optional: sub-components, by preset name

A parameter's name is the model field it fills and says its SI unit (`clock_hz`, `tx_power_w`);
the YAML value is written in the source's own unit and converted on load (see `units`). Every
record has exactly one of `source` (where the number is printed) or `calibrated` (which study set
it, and how). Overrides are SI values keyed by field name and are recorded with source "override".
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

from hwmodels.units import DIMENSIONS, SI_UNIT, dimension_of, factor_to_si, known_units
from splitbase import HardwareModelError
from splitbase.yamlfile import parse_yaml

FLAG = "flag"  # dimension of on/off switches, written `{value: true, unit: bool}`
_TOP_KEYS = {"name", "kind", "version", "description", "params", "modes", "default_mode", "components"}
_REQUIRED_TOP = ("name", "kind", "version", "description", "params")
_RECORD_KEYS = {"value", "unit", "source", "calibrated", "note"}


@dataclass(frozen=True)
class Param:
    """One number of a preset: SI value plus the provenance that `hw show` prints.

    `value` is in the SI unit of the field (a numpy array when an override sweeps it);
    `written_value` and `unit` are as the preset (or override) wrote them.
    """

    name: str
    value: Any
    unit: str
    written_value: Any
    source: str | None = None
    calibrated: str | None = None
    note: str | None = None

    @property
    def provenance(self) -> str:
        return f"source: {self.source}" if self.source is not None else f"calibrated: {self.calibrated}"


@dataclass(frozen=True)
class Preset:
    """A validated preset file, before it is checked against its kind and built."""

    name: str
    kind: str
    version: int
    description: str
    params: Mapping[str, Param]
    modes: Mapping[str, Mapping[str, Param]]
    default_mode: str | None
    components: Mapping[str, str]
    path: Path


@dataclass(frozen=True, kw_only=True)
class HardwareModel:
    """Base of every built model: which preset, which mode, and the parameters with provenance."""

    name: str
    mode: str | None = None
    params: Mapping[str, Param] = field(default_factory=dict, compare=False, repr=False)


def param_field(dimension: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, default: Any = dataclasses.MISSING, why: str | None = None) -> Any:
    """A model field filled from a preset parameter of `dimension` (a key of `units.DIMENSIONS`
    or FLAG), valid in [low, high] (or (low, high] with `low_open`).

    With `default` (SI) the preset may leave it out: the model then takes the default, recorded
    with source "default: <why>" (`why` says why the default changes nothing)."""
    if dimension not in DIMENSIONS and dimension != FLAG:
        raise ValueError(f"unknown dimension {dimension!r}")
    if (default is dataclasses.MISSING) != (why is None):
        raise ValueError("a parameter with a default says why (`why`), and only then")
    return field(default=default, metadata={"dimension": dimension, "low": low, "high": high,
                                            "low_open": low_open, "why": why})


def component_field(kind: str) -> Any:
    """A model field filled by another preset of `kind`, named under the preset's `components`."""
    return field(metadata={"component": kind})


def parameter_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if "dimension" in f.metadata}


def component_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if "component" in f.metadata}


# ---------------------------------------------------------------- reading and validating a file


def parse_preset(text: str, path: Path) -> Preset:
    """Validate the YAML `text` of the preset file at `path` (structure, records, units); raise
    HardwareModelError naming the preset and the field on anything wrong. Kind-specific checks
    happen in `build`."""
    label = path.stem
    data = parse_yaml(text, f"preset file {path}", HardwareModelError)
    if not isinstance(data, dict):
        raise HardwareModelError(f"preset {label!r}: expected a mapping at the top of {path}")
    _check_keys(label, "top level", data, allowed=_TOP_KEYS, required=_REQUIRED_TOP)
    if data["name"] != label:
        raise HardwareModelError(f"preset {label!r}: name {data['name']!r} must equal the file name {label!r}")
    for key in ("kind", "description"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise HardwareModelError(f"preset {label!r}: {key}: expected a non-empty string")
    if not isinstance(data["version"], int) or isinstance(data["version"], bool) or data["version"] < 1:
        raise HardwareModelError(f"preset {label!r}: version: expected a positive integer, got {data['version']!r}")
    params = _read_records(label, "params", data["params"])
    modes_raw = data.get("modes") or {}
    if not isinstance(modes_raw, dict):
        raise HardwareModelError(f"preset {label!r}: modes: expected a mapping of mode name to parameters")
    modes = {str(m): _read_records(label, f"modes.{m}", recs) for m, recs in modes_raw.items()}
    default_mode = data.get("default_mode")
    if modes and default_mode not in modes:
        raise HardwareModelError(
            f"preset {label!r}: default_mode: expected one of {sorted(modes)}, got {default_mode!r}")
    if not modes and default_mode is not None:
        raise HardwareModelError(f"preset {label!r}: default_mode: given but the preset has no modes")
    for mode, recs in modes.items():
        shared = sorted(set(recs) & set(params))
        if shared:
            raise HardwareModelError(f"preset {label!r}: modes.{mode}: {shared} already set under params")
    components = data.get("components") or {}
    if not isinstance(components, dict) or not all(isinstance(v, str) for v in components.values()):
        raise HardwareModelError(f"preset {label!r}: components: expected a mapping of role to preset name")
    return Preset(name=label, kind=data["kind"], version=data["version"], description=data["description"].strip(),
                  params=MappingProxyType(params), modes=MappingProxyType(modes),
                  default_mode=default_mode, components=MappingProxyType(dict(components)), path=path)


def _read_records(label: str, where: str, records: Any) -> dict[str, Param]:
    if not isinstance(records, dict):
        raise HardwareModelError(f"preset {label!r}: {where}: expected a mapping of parameter name to record")
    return {str(name): _read_record(label, f"{where}.{name}", str(name), rec) for name, rec in records.items()}


def _read_record(label: str, where: str, name: str, rec: Any) -> Param:
    if not isinstance(rec, dict):
        raise HardwareModelError(
            f"preset {label!r}: {where}: expected {{value, unit, source | calibrated, note}}, got {rec!r}")
    _check_keys(label, where, rec, allowed=_RECORD_KEYS, required=("value", "unit"))
    if ("source" in rec) == ("calibrated" in rec):
        raise HardwareModelError(f"preset {label!r}: {where}: expected exactly one of 'source' or 'calibrated'")
    for key in ("source", "calibrated", "note"):
        if key in rec and (not isinstance(rec[key], str) or not rec[key].strip()):
            raise HardwareModelError(f"preset {label!r}: {where}.{key}: expected a non-empty string")
    unit, value = rec["unit"], rec["value"]
    if unit == "bool":
        if not isinstance(value, bool):
            raise HardwareModelError(f"preset {label!r}: {where}.value: expected true or false for unit bool")
    else:
        if dimension_of(str(unit)) is None:
            raise HardwareModelError(
                f"preset {label!r}: {where}.unit: unknown unit {unit!r} (known: {', '.join(known_units())}, bool)")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise HardwareModelError(f"preset {label!r}: {where}.value: expected a finite number, got {value!r}")
    return Param(name=name, value=value, unit=str(unit), written_value=value, source=rec.get("source"),
                 calibrated=rec.get("calibrated"), note=rec.get("note"))


def _check_keys(label: str, where: str, data: dict, *, allowed: set[str], required: tuple[str, ...]) -> None:
    unknown = sorted(set(map(str, data)) - allowed)
    if unknown:
        raise HardwareModelError(
            f"preset {label!r}: {where}: unknown key(s) {unknown} (allowed: {', '.join(sorted(allowed))})")
    missing = [k for k in required if k not in data]
    if missing:
        raise HardwareModelError(f"preset {label!r}: {where}: missing key(s) {missing}")


# ---------------------------------------------------------------- building a model from a preset


def build(cls: type, preset: Preset, *, mode: str | None = None, overrides: Mapping[str, Any] | None = None,
          components: Mapping[str, HardwareModel] | None = None) -> Any:
    """Build `cls` from `preset`: pick the mode, check names and units against the class's fields,
    convert to SI, apply overrides (SI values; arrays allowed, they broadcast in the formulas),
    check bounds. `components` are the already built sub-components, by role."""
    spec = parameter_fields(cls)
    if mode is not None and mode not in preset.modes:
        known = ", ".join(sorted(preset.modes)) or "none: this preset has no modes"
        raise HardwareModelError(f"preset {preset.name!r}: unknown mode {mode!r} (known: {known})")
    mode = mode if mode is not None else preset.default_mode
    written = {**preset.params, **(preset.modes[mode] if mode else {})}
    unknown = sorted(set(written) - set(spec))
    if unknown:
        raise HardwareModelError(f"preset {preset.name!r}: unknown parameter(s) {unknown} for kind "
                                 f"{preset.kind!r} (known: {', '.join(sorted(spec))})")
    missing = sorted(name for name in set(spec) - set(written) if spec[name].metadata["why"] is None)
    if missing:
        raise HardwareModelError(f"preset {preset.name!r}: missing parameter(s) {missing} for kind {preset.kind!r}")
    params = {name: (_to_si(preset.name, spec[name].metadata["dimension"], written[name]) if name in written
                     else _default(spec[name])) for name in spec if name in written or spec[name].metadata["why"]}
    for name, value in (overrides or {}).items():
        if name not in spec:
            raise HardwareModelError(f"preset {preset.name!r}: cannot override unknown parameter {name!r} "
                                     f"(known: {', '.join(sorted(spec))})")
        params[name] = _override(preset.name, name, spec[name].metadata["dimension"], value)
    for name, p in params.items():
        _check_bounds(preset.name, name, spec[name].metadata, p.value)
    return cls(name=preset.name, mode=mode, params=MappingProxyType(params),
               **{name: p.value for name, p in params.items()}, **dict(components or {}))


def _default(spec: dataclasses.Field) -> Param:
    dimension = spec.metadata["dimension"]
    unit = "bool" if dimension == FLAG else SI_UNIT[dimension]
    return Param(name=spec.name, value=spec.default, unit=unit, written_value=spec.default,
                 source=f"default (not in the preset): {spec.metadata['why']}")


def _to_si(label: str, dimension: str, p: Param) -> Param:
    if dimension == FLAG or p.unit == "bool":
        if dimension != FLAG or p.unit != "bool":
            expected = "bool" if dimension == FLAG else ", ".join(DIMENSIONS[dimension])
            raise HardwareModelError(f"preset {label!r}: {p.name}: unit {p.unit!r} does not fit (expected {expected})")
        return p
    factor = factor_to_si(p.unit, dimension)
    if factor is None:
        raise HardwareModelError(f"preset {label!r}: {p.name}: unit {p.unit!r} is not a unit of {dimension} "
                                 f"(expected one of {', '.join(DIMENSIONS[dimension])})")
    return dataclasses.replace(p, value=float(p.written_value) * factor)


def _override(label: str, name: str, dimension: str, value: Any) -> Param:
    if dimension == FLAG:
        if not isinstance(value, (bool, np.bool_)):
            raise HardwareModelError(f"preset {label!r}: override {name}: expected true or false, got {value!r}")
        return Param(name=name, value=bool(value), unit="bool", written_value=value, source="override")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or isinstance(value, bool) or not np.all(np.isfinite(arr)):
        raise HardwareModelError(f"preset {label!r}: override {name}: expected a finite number "
                                 f"(SI, {SI_UNIT[dimension]}) or array of them, got {value!r}")
    si = float(arr) if arr.ndim == 0 else arr
    return Param(name=name, value=si, unit=SI_UNIT[dimension], written_value=si, source="override")


def _check_bounds(label: str, name: str, meta: Mapping[str, Any], value: Any) -> None:
    if meta["dimension"] == FLAG:
        return
    low, high, low_open = meta["low"], meta["high"], meta["low_open"]
    arr = np.asarray(value, dtype=float)
    too_low = low is not None and bool(np.any(arr <= low if low_open else arr < low))
    too_high = high is not None and bool(np.any(arr > high))
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open else '['}{lo}, {hi}]"
        raise HardwareModelError(f"preset {label!r}: {name}: expected a value in {interval} "
                                 f"({SI_UNIT[meta['dimension']]}), got {value!r}")
