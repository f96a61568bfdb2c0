"""What every study file shares: reading it, its name and results folder, presets, data set, the
model and split point checks, and the analog-link rule. Each check is stated here once; the
sweep, search and train studies call it.

The checks against netmodels' registries (model, data set, method) import netmodels, hence
torch, when they run; the rest of this module, and a study file's schema, do not (a search's
readers, pareto and report, parse the file without torch).

A study names a zoo model by its name, or a user's own network by a mapping
`model: {path, factory, kwargs, input, classes, cuts, leaf_modules}` (netmodels.graph.user.ModelRef;
`path` relative to the study file's folder, or absolute: it may lie outside the study's folder,
a user's code, but must exist). Reading the study imports that file, which runs the user's own
code, traces the model and registers it; the study then carries the registered name.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwmodels import HardwareModel, Link, load_preset
from splitbase import HardwareModelError, ModelError, StudyError
from splitbase.files import check_folder
from splitbase.schema import parse
from splitbase.yamlfile import read_yaml

if TYPE_CHECKING:
    from netmodels.data import ImageDataset

RESULTS = Path("results")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def read_study(path: str | Path) -> dict:
    """A study file as a mapping, its model references (`model`, `models`) resolved to registered
    names (user_model); a missing, unreadable or malformed file is one StudyError."""
    data = read_yaml(path, "study file", StudyError)
    if not isinstance(data, dict):
        raise StudyError(f"{path}: a study file is a mapping of keys, got "
                         f"{'an empty file' if data is None else type(data).__name__}")
    folder = Path(path).parent
    if isinstance(data.get("model"), dict):
        data["model"] = user_model(data["model"], folder, "model")
    if isinstance(data.get("models"), list):
        data["models"] = [user_model(m, folder, f"models[{i}]") if isinstance(m, dict) else m
                          for i, m in enumerate(data["models"])]
    return data


def user_model(reference: dict, folder: Path, path: str) -> str:
    """The registered name of a user model reference (a study's `model:` mapping), its file
    relative to `folder` unless absolute; StudyError naming `path` and what is wrong (file or
    factory missing, not an nn.Module, kwargs not JSON, an operation that cannot be traced)."""
    from netmodels.graph.user import ModelRef, register_user_model  # imports torch.fx: only for user models

    ref = parse(ModelRef, reference, path)
    try:
        json.dumps(ref.kwargs)
    except (TypeError, ValueError) as exc:
        raise StudyError(f"{path}.kwargs: not JSON data ({exc})") from None
    file = Path(ref.path).expanduser()
    file = file if file.is_absolute() else folder / file
    if not file.is_file():
        raise StudyError(f"{path}.path: {file} does not exist")
    try:
        return register_user_model(dataclasses.replace(ref, path=str(file)))
    except ModelError as exc:
        raise StudyError(f"{path}: {exc}") from None


def check_name(name: str, path: str = "name") -> None:
    """A study name is a folder and file name: letters, digits, '.', '_', '-', not starting with
    a dot, so that results/<name>/ and the caches never leave their folders."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise StudyError(f"{path}: {name!r} is not a safe study name (letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit)")


def output_folder(name: str, output: str | Path | None) -> Path:
    """Where a study's results go: `output` when given (the user's own folder), else results/<name>;
    StudyError if it, or its nearest existing parent, is a file."""
    return check_folder(Path(output) if output is not None else RESULTS / name, "output")


def check_model(name: str, path: str) -> None:
    """A zoo model's name, or a user model's name registered when its study was read."""
    from netmodels.zoo import MODELS, USER_MODELS

    if name not in MODELS and name not in USER_MODELS:
        raise StudyError(f"{path}: unknown model {name!r} (known: {', '.join(MODELS.names())})")


def check_dataset(name: str, path: str) -> None:
    """A data set of netmodels.data.DATASETS."""
    from netmodels.data import DATASETS

    if name not in DATASETS:
        raise StudyError(f"{path}: unknown data set {name!r} (known: {', '.join(DATASETS.names())})")


def check_method(name: str, options: dict[str, Any], path: str, options_path: str) -> None:
    """A method of netmodels.methods.METHODS and its options (its Options dataclass)."""
    from netmodels.methods import METHODS

    if name not in METHODS:
        raise StudyError(f"{path}: unknown method {name!r} (known: {', '.join(METHODS.names())})")
    try:
        METHODS.get(name)().parse_options(options, path=options_path)
    except ModelError as exc:
        raise StudyError(str(exc)) from None


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
    """A data set of netmodels.data.DATASETS (its name checked by `check_dataset` where a study
    is resolved), its files' folder and the loader's options."""

    name: str
    root: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def load(self, data_root: str | None = None) -> ImageDataset:
        """The data set, from `data_root` (a --data-root) or the study's root."""
        from netmodels.data import load_dataset

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


__all__ = ["DatasetSpec", "PresetRef", "build_presets", "check_analog_link", "check_dataset", "check_method",
           "check_model", "check_name", "one_preset", "output_folder", "read_study", "split_index", "user_model"]
