"""The hardware catalog: preset files in `hwmodels/presets/`, the kinds that build them, loading.

Adding a preset is adding one YAML file to the presets folder; adding a kind is one line in
`KINDS` below (kind name -> model class built by `params.build`).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, NamedTuple

from hwmodels.engine import Dram, MacArrayEngine
from hwmodels.links import AwgnLink, BecLink, BscLink, LoRaLink, RadioLink
from hwmodels.params import Preset, build, component_fields, parse_preset
from hwmodels.roofline import RooflineDevice
from splitbase import HardwareModelError, Registry

PRESET_DIR = Path(__file__).resolve().parent / "presets"

KINDS: Registry[type] = Registry("hardware kind", error=HardwareModelError)
KINDS.add("engine", MacArrayEngine)
KINDS.add("dram", Dram)
KINDS.add("roofline", RooflineDevice)
KINDS.add("radio", RadioLink)
KINDS.add("lora", LoRaLink)
KINDS.add("awgn", AwgnLink)
KINDS.add("bsc", BscLink)
KINDS.add("bec", BecLink)


class PresetInfo(NamedTuple):
    name: str
    kind: str
    description: str


#: folders of the user's own presets (a calibrated device), searched after the built-in ones
USER_PRESETS_ENV = "SPLIT_EXPLORER_PRESETS"


def preset_dirs(preset_dir: Path = PRESET_DIR) -> list[Path]:
    """Where presets are looked up: `preset_dir`, then (for the built-in catalog) every folder in
    $SPLIT_EXPLORER_PRESETS (os.pathsep-separated)."""
    extra = [Path(p) for p in os.environ.get(USER_PRESETS_ENV, "").split(os.pathsep) if p]
    return [Path(preset_dir), *(extra if Path(preset_dir) == PRESET_DIR else [])]


def preset_names(preset_dir: Path = PRESET_DIR) -> list[str]:
    """Names of the presets in `preset_dir` (file names without .yaml; with the user's folders
    for the built-in catalog), sorted."""
    return sorted({p.stem for folder in preset_dirs(preset_dir) for p in folder.glob("*.yaml")})


def preset_path(name: str, preset_dir: Path = PRESET_DIR) -> Path:
    """The file of preset `name`: the first folder of `preset_dirs` that has it."""
    for folder in preset_dirs(preset_dir):
        path = folder / f"{name}.yaml"
        if path.is_file():
            return path
    known = ", ".join(preset_names(preset_dir)) or "none"
    raise HardwareModelError(f"unknown hardware preset {name!r} (known: {known})")


def read_preset_file(path: str | Path) -> Preset:
    """Validated Preset of one file; parsing is cached on the file's text (presets are immutable
    records), so an edited file is always re-read."""
    path = Path(path).resolve()
    try:
        text = path.read_text()
    except OSError as exc:
        raise HardwareModelError(f"preset file {path}: cannot read ({exc.strerror})") from None
    return _parse_cached(text, path)


@lru_cache(maxsize=256)
def _parse_cached(text: str, path: Path) -> Preset:
    return parse_preset(text, path)


def list_presets(preset_dir: Path = PRESET_DIR) -> list[PresetInfo]:
    """(name, kind, description) of every preset, sorted by name."""
    infos = []
    for name in preset_names(preset_dir):
        p = read_preset_file(preset_path(name, preset_dir))
        infos.append(PresetInfo(p.name, p.kind, p.description))
    return infos


def split_mode(name: str, mode: str | None) -> tuple[str, str | None]:
    """`"wifi-80211bgn-004:22mbps"` -> ("wifi-80211bgn-004", "22mbps"); a mode given twice must agree."""
    base, sep, named = name.partition(":")
    if not sep:
        return name, mode
    if mode is not None and mode != named:
        raise HardwareModelError(f"preset {base!r}: mode given twice ({named!r} in the name, {mode!r} as argument)")
    return base, named


def load_preset(name: str, *, overrides: Mapping[str, Any] | None = None, mode: str | None = None,
                preset_dir: Path = PRESET_DIR) -> Any:
    """Build the model of preset `name` (optionally `name:mode`).

    overrides: SI values keyed by parameter name (`{"clock_hz": 5e8}`), or `role.name` for a
    sub-component (`{"dram.bandwidth_byte_per_s": 6.4e9}`); arrays allowed. Recorded as source "override".
    """
    base, mode = split_mode(name, mode)
    return load_preset_file(preset_path(base, preset_dir), overrides=overrides, mode=mode)


def load_preset_file(path: str | Path, *, overrides: Mapping[str, Any] | None = None,
                     mode: str | None = None, _parents: tuple[str, ...] = ()) -> Any:
    """Like `load_preset` for a file anywhere; its components are looked up next to it, then in
    the built-in catalog."""
    preset = read_preset_file(path)
    if preset.name in _parents:
        raise HardwareModelError(f"preset {preset.name!r}: components form a cycle "
                                 f"({' -> '.join((*_parents, preset.name))})")
    cls = KINDS.get(preset.kind)
    own, by_role = _split_overrides(preset, overrides or {})
    wanted = component_fields(cls)
    missing = sorted(set(wanted) - set(preset.components))
    extra = sorted(set(preset.components) - set(wanted))
    if missing or extra:
        raise HardwareModelError(f"preset {preset.name!r}: components: kind {preset.kind!r} needs "
                                 f"{sorted(wanted) or 'none'}, got {sorted(preset.components) or 'none'}")
    components = {}
    for role, child in preset.components.items():
        model = load_preset_file(_component_path(child, Path(path).parent), overrides=by_role.get(role),
                                 _parents=(*_parents, preset.name))
        expected = KINDS.get(wanted[role].metadata["component"])
        if not isinstance(model, expected):
            raise HardwareModelError(f"preset {preset.name!r}: components.{role}: {child!r} is not a "
                                     f"{wanted[role].metadata['component']!r} preset")
        components[role] = model
    return build(cls, preset, mode=mode, overrides=own, components=components)


def _split_overrides(preset: Preset, overrides: Mapping[str, Any]) -> tuple[dict, dict[str, dict]]:
    own: dict[str, Any] = {}
    by_role: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        role, dot, param = key.partition(".")
        if not dot:
            own[key] = value
        elif role in preset.components:
            by_role.setdefault(role, {})[param] = value
        else:
            roles = ", ".join(sorted(preset.components)) or "none"
            raise HardwareModelError(f"preset {preset.name!r}: override {key!r}: unknown component "
                                     f"{role!r} (components: {roles})")
    return own, by_role


def _component_path(name: str, folder: Path) -> Path:
    local = folder / f"{name}.yaml"
    return local if local.is_file() else preset_path(name)
