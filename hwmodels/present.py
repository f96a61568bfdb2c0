"""Text for the CLI's `hw list` / `hw show` and report helpers; formatting only, no modelling.

The CLI (explorer) prints these strings; models never format anything but error messages.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, NamedTuple

import numpy as np

from hwmodels.catalog import PRESET_DIR, list_presets, load_preset, preset_path, read_preset_file, split_mode
from hwmodels.params import HardwareModel, Param, component_fields
from splitbase import HardwareModelError


class ParamRow(NamedTuple):
    """One parameter as shown: written value and unit, SI value, provenance, note."""

    parameter: str
    value: str
    unit: str
    si_value: str
    provenance: str
    note: str


def param_rows(model: HardwareModel) -> list[ParamRow]:
    """Rows of a built model's parameters (overrides included), in field order."""
    return [_row(p) for p in model.params.values()]


def describe_preset(name: str, *, overrides: Mapping[str, Any] | None = None, mode: str | None = None,
                    preset_dir: Path = PRESET_DIR) -> str:
    """A readable description of a preset: header, one row per parameter with its source or
    calibration and note underneath, sub-components, the other modes."""
    base, mode = split_mode(name, mode)
    model = load_preset(base, overrides=overrides, mode=mode, preset_dir=preset_dir)
    return "\n".join(_describe(model, preset_dir=preset_dir, indent=""))


def format_preset_list(preset_dir: Path = PRESET_DIR) -> str:
    """The catalog as an aligned table: name, kind, description."""
    return format_table([tuple(info) for info in list_presets(preset_dir)], ("name", "kind", "description"))


def format_table(rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> str:
    """Left-aligned columns separated by two spaces, with a header and a rule."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _describe(model: HardwareModel, *, preset_dir: Path, indent: str) -> list[str]:
    preset = read_preset_file(_path_of(model.name, preset_dir))
    lines = [f"{indent}{preset.name}  (kind {preset.kind}, version {preset.version})",
             f"{indent}{preset.description}"]
    if preset.modes:
        modes = ", ".join(f"{m} (selected)" if m == model.mode else m for m in preset.modes)
        lines.append(f"{indent}modes: {modes}; select with NAME:MODE")
    rows = param_rows(model)
    lines += _param_block(rows, indent)
    table = [(action, _num(joules)) for action, joules in model.energy_per_action_j().items()]
    lines += [f"{indent}energy per action (J):"] + [indent + "  " + row
                                                   for row in format_table(table, ("action", "J")).splitlines()]
    for mode, params in preset.modes.items():
        if mode != model.mode:
            lines.append(f"{indent}mode {mode}:")
            lines += _param_block([_row(p, si=None) for p in params.values()], indent + "  ")
    for role in component_fields(type(model)):
        lines.append(f"{indent}component {role}:")
        lines += _describe(getattr(model, role), preset_dir=preset_dir, indent=indent + "  ")
    return lines


def _param_block(rows: list[ParamRow], indent: str) -> list[str]:
    table = format_table([r[:4] for r in rows], ("parameter", "value", "unit", "SI value")).splitlines()
    out = [indent + table[0], indent + table[1]]
    for text, row in zip(table[2:], rows):
        out.append(indent + text)
        out.append(f"{indent}    {row.provenance}")
        if row.note:
            out.append(f"{indent}    note: {row.note}")
    return out


def _row(p: Param, si: Any = True) -> ParamRow:
    si_text = ""
    if si is not None and p.unit != "bool":
        si_text = _num(p.value)
    return ParamRow(p.name, _num(p.written_value), p.unit, si_text, p.provenance, p.note or "")


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return str(x).lower()
    if np.ndim(x):
        arr = np.asarray(x)
        return f"array{arr.shape} {arr.min():.4g}..{arr.max():.4g}"
    return f"{float(x):.6g}"


def _path_of(name: str, preset_dir: Path) -> Path:
    try:
        return preset_path(name, preset_dir)
    except HardwareModelError:
        return preset_path(name)

