"""What every study file shares: reading it, its name and results folder, presets, data set, the
model and split point checks, and the analog-link rule. Each check is stated here once; the
sweep, search and train studies call it.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwmodels import HardwareModel, Link, load_preset
from netmodels.data import ImageDataset, load_dataset
from netmodels.zoo import MODELS
from splitbase import HardwareModelError, StudyError
from splitbase.yamlfile import read_yaml

RESULTS = Path("results")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def read_study(path: str | Path) -> dict:
    """A study file as a mapping; a missing, unreadable or malformed file is one StudyError."""
    data = read_yaml(path, "study file", StudyError)
    if not isinstance(data, dict):
        raise StudyError(f"{path}: a study file is a mapping of keys, got "
                         f"{'an empty file' if data is None else type(data).__name__}")
    return data


def check_name(name: str, path: str = "name") -> None:
    """A study name is a folder and file name: letters, digits, '.', '_', '-', not starting with
    a dot, so that results/<name>/ and the caches never leave their folders."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise StudyError(f"{path}: {name!r} is not a safe study name (letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit)")


def output_folder(name: str, output: str | Path | None) -> Path:
    """Where a study's results go: `output` when given (the user's own folder), else results/<name>."""
    return Path(output) if output is not None else RESULTS / name


def check_model(name: str, path: str) -> None:
    if name not in MODELS:
        raise StudyError(f"{path}: unknown model {name!r} (known: {', '.join(MODELS.names())})")


def split_index(names: tuple[str, ...], split: str | int, path: str) -> int:
    """Split point k (-1..last) of a unit name or an index, `names` a profile's ('input' first)."""
    last = len(names) - 2
    if isinstance(split, int):
        if not -1 <= split <= last:
            raise StudyError(f"{path}: split {split} is outside -1..{last}")
        return split
    if split not in names:
        raise StudyError(f"{path}: {split!r} is not a unit of the model (units: {', '.join(names)})")
    return names.index(split) - 1


@dataclass(frozen=True)
class PresetRef:
    """A hardware preset, optionally in several modes and with parameters overridden (SI values;
    a list of values sweeps that parameter)."""

    preset: str
    modes: list[str] = field(default_factory=list)
    overrides: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetSpec:
    """A data set of netmodels.data.DATASETS, its files' folder and the loader's options."""

    name: str
    root: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def load(self, data_root: str | None = None) -> ImageDataset:
        """The data set, from `data_root` (a --data-root) or the study's root."""
        return load_dataset(self.name, root=data_root or self.root, **self.options)


def build_presets(role: str, refs: list[PresetRef | str], expected: type) -> list[tuple[str, HardwareModel]]:
    """Every (label, model) a role's preset references expand to (modes x override values)."""
    built = []
    for i, ref in enumerate(refs):
        ref = PresetRef(ref) if isinstance(ref, str) else ref
        names = [f"{ref.preset}:{m}" for m in ref.modes] or [ref.preset]
        keys = list(ref.overrides)
        for name, values in itertools.product(names, itertools.product(*(ref.overrides[k] for k in keys))):
            overrides = dict(zip(keys, values))
            try:
                model = load_preset(name, overrides=overrides)
            except HardwareModelError as exc:
                raise StudyError(f"{role}[{i}]: {exc}") from None
            if not isinstance(model, expected):
                raise StudyError(f"{role}[{i}]: preset {ref.preset!r} is a {type(model).__name__}, not a {role}")
            built.append((name + "".join(f" {k}={v:g}" for k, v in overrides.items()), model))
    return built


def one_preset(role: str, ref: PresetRef | str, expected: type) -> tuple[str, HardwareModel]:
    """The one (label, model) of a role that takes a single preset (one mode, no swept overrides)."""
    built = build_presets(role, [ref], expected)
    if len(built) != 1:
        raise StudyError(f"{role}: takes one preset (one mode, no swept overrides)")
    return built[0]


def check_analog_link(links: list[tuple[str, Link]], path: str) -> None:
    """Analog values (a learned encoder without bits, an analog channel) need links that carry them."""
    digital = [name for name, link in links if not link.carries_analog]
    if digital:
        raise StudyError(f"{path}: analog values need a link that carries them (an awgn link), "
                         f"not {', '.join(map(repr, digital))}")


__all__ = ["DatasetSpec", "PresetRef", "build_presets", "check_analog_link", "check_model",
           "check_name", "one_preset", "output_folder", "read_study", "split_index"]
