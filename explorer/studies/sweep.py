"""The sweep study file: what to profile, on which hardware, over which grid, against which paper.

    name: edge_host_alexnet            # results go to results/<name>/ unless `output` is given
    model: alexnet
    bits: {weight: 16, activation: 16}
    device: engine-28nm-144mac         # a preset name, NAME:MODE, or {preset, modes, overrides}
    link: {preset: wifi-80211bgn-004, modes: [1mbps, 2mbps, 22mbps]}
    server: rtx-2080ti
    grid:
      split: all                       # or a list of unit names / indices ('input' is -1)
      sparsity: [0.0]                  # a list, a scalar or {start, stop, step}
      codec:
        - none
        - {name: jpeg-input, kind: jpeg, ratio: {input: 15}}
    scenarios: {host-only: {split: input, codec: jpeg-input}}
    paper: [...]                       # published numbers the report sets ours beside

Everything is checked by `resolve_sweep` before anything runs or is written.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from splitbase import HardwareModelError, ModelError, StudyError
from explorer.cost.evaluate import RATIO_CODECS, Codec, DesignPoints, Hardware
from explorer.profile.table import BitWidths, SplitProfile, profile_zoo_model
from splitbase.schema import load_yaml, parse
from hwmodels import AwgnChannel, EdgeDevice, Link, load_preset
from netmodels.zoo import INPUT_NAME, MODELS


@dataclass
class PresetRef:
    """A hardware preset, optionally in several modes and with parameters overridden (SI values;
    a list of values sweeps that parameter)."""

    preset: str
    modes: list[str] = field(default_factory=list)
    overrides: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class BitsSpec:
    weight: int = 32
    activation: int | None = None
    input: int | None = None


@dataclass
class CodecSpec:
    kind: Literal["none", "quant", "rle-huffman", "jpeg", "learned"]
    name: str | None = None
    ratio: dict[str, float] | list[float] | None = None
    bits: int | None = None
    kernel: int = 2

    def check(self, path: str) -> None:
        if self.kind in RATIO_CODECS and self.ratio is None:
            raise StudyError(f"{path}.ratio: codec {self.kind} needs a compression ratio")
        if self.kind not in RATIO_CODECS and self.ratio is not None:
            raise StudyError(f"{path}.ratio: codec {self.kind} has no free ratio")
        ratios = self.ratio.values() if isinstance(self.ratio, dict) else (self.ratio or [])
        if any(r < 1 for r in ratios):
            raise StudyError(f"{path}.ratio: compression ratios must be >= 1")
        if self.kind == "quant" and self.bits is None:
            raise StudyError(f"{path}.bits: codec quant needs bits per element")
        if self.bits is not None and not 1 <= self.bits <= 32:
            raise StudyError(f"{path}.bits: must be in 1..32, got {self.bits}")
        if self.kernel < 1:
            raise StudyError(f"{path}.kernel: must be >= 1, got {self.kernel}")

    @property
    def label(self) -> str:
        return self.name or Codec(self.kind, bits=self.bits).label


@dataclass
class SweepGrid:
    split: list[str | int] = field(default_factory=lambda: ["all"])
    sparsity: list[float] = field(default_factory=lambda: [0.0])
    codec: list[CodecSpec | str] = field(default_factory=lambda: ["none"])

    def check(self, path: str) -> None:
        for i, s in enumerate(self.sparsity):
            if not 0 <= s < 1:
                raise StudyError(f"{path}.sparsity[{i}]: must be in [0, 1), got {s}")


@dataclass
class Scenario:
    """A named design point of the grid (on the first hardware combination unless named)."""

    split: str | int
    codec: str = "none"
    sparsity: float = 0.0
    device: str | None = None
    link: str | None = None


@dataclass
class PaperNumber:
    """A published number and how to compute ours.

    kind `ratio`: metric of `point` over metric of `baseline` (energy: frames/J, so the
    baseline's joules over the point's). kind `best_split`: the split that maximises `metric`
    among the scenarios' rows filtered by codec (value: the unit name)."""

    what: str
    kind: Literal["ratio", "best_split"]
    metric: Literal["throughput", "energy", "latency"]
    value: float | str
    point: str | None = None
    baseline: str | None = None
    codec: list[str] = field(default_factory=list)
    link: str | None = None
    tolerance: float = 0.25


@dataclass
class CalibratedParameter:
    """A preset parameter to fit to the paper's ratios: `role.name` (role: device, link, server;
    a component's parameter as `device.dram.efficiency`), searched in [low, high] (SI)."""

    param: str
    low: float
    high: float

    def check(self, path: str) -> None:
        if not 0 < self.low < self.high:
            raise StudyError(f"{path}: needs 0 < low < high, got {self.low}, {self.high}")


@dataclass
class SweepStudy:
    name: str
    model: str
    device: list[PresetRef | str]
    link: list[PresetRef | str]
    server: list[PresetRef | str]
    description: str = ""
    input: str | None = None
    classes: int | None = None
    bits: BitsSpec = field(default_factory=BitsSpec)
    grid: SweepGrid = field(default_factory=SweepGrid)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    paper: list[PaperNumber] = field(default_factory=list)
    calibrate: list[CalibratedParameter] = field(default_factory=list)
    source: str = ""
    notes: str = ""
    output: str | None = None


@dataclass(frozen=True)
class ResolvedSweep:
    """A study checked against the zoo, the hardware catalog and itself: ready to run."""

    study: SweepStudy
    path: Path
    profile: SplitProfile
    points: DesignPoints
    hardware: list[Hardware]
    output: Path


def read_sweep(path: str | Path) -> SweepStudy:
    return parse(SweepStudy, load_yaml(path), "")


def resolve_sweep(path: str | Path, *, output: str | Path | None = None) -> ResolvedSweep:
    """Parse and check everything a sweep needs; raises StudyError naming the field."""
    study = read_sweep(path)
    if study.model not in MODELS:
        raise StudyError(f"model: unknown model {study.model!r} (known: {', '.join(MODELS.names())})")
    try:
        bits = BitWidths(weight=study.bits.weight, activation=study.bits.activation,
                         input=study.bits.input)
    except StudyError as exc:
        raise StudyError(f"bits: {exc}") from None
    try:
        profile = profile_zoo_model(study.model, input_shape=_shape(study.input),
                                    num_classes=study.classes, bits=bits)
    except ModelError as exc:
        raise StudyError(f"model: {exc}") from None
    devices = build_presets("device", study.device, EdgeDevice)
    links = build_presets("link", study.link, Link)
    servers = build_presets("server", study.server, EdgeDevice)
    hardware = [Hardware(d, dm, l, lm, s, sm) for (d, dm), (l, lm), (s, sm)
                in itertools.product(devices, links, servers)]
    points = _points(study, profile, links)
    _check_scenarios(study, profile)
    target = Path(output or study.output or Path("results") / study.name)
    return ResolvedSweep(study, Path(path), profile, points, hardware, target)


def _shape(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    parts = text.split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise StudyError(f"input: expected CxHxW such as 3x224x224, got {text!r}")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


def build_presets(role: str, refs: list[PresetRef | str], expected: type) -> list[tuple[str, object]]:
    """Every (label, model) a role's preset references expand to (modes x override values)."""
    built = []
    for i, ref in enumerate(refs):
        ref = PresetRef(ref) if isinstance(ref, str) else ref
        names = [f"{ref.preset}:{m}" for m in ref.modes] or [ref.preset]
        keys = list(ref.overrides)
        for name in names:
            for values in itertools.product(*(ref.overrides[k] for k in keys)):
                overrides = dict(zip(keys, values))
                try:
                    model = load_preset(name, overrides=overrides)
                except HardwareModelError as exc:
                    raise StudyError(f"{role}[{i}]: {exc}") from None
                if not isinstance(model, expected):
                    raise StudyError(f"{role}[{i}]: preset {ref.preset!r} is a "
                                     f"{type(model).__name__}, not a {role}")
                label = name + "".join(f" {k}={v:g}" for k, v in overrides.items())
                built.append((label, model))
    return built


def _split_index(profile: SplitProfile, split: str | int, path: str) -> int:
    if isinstance(split, int):
        if not -1 <= split <= len(profile.names) - 2:
            raise StudyError(f"{path}: split {split} is outside -1..{len(profile.names) - 2}")
        return split
    if split not in profile.names:
        raise StudyError(f"{path}: {split!r} is not a unit of {profile.model} "
                         f"(units: {', '.join(profile.names)})")
    return profile.names.index(split) - 1


def _points(study: SweepStudy, profile: SplitProfile, links: list[tuple[str, object]]) -> DesignPoints:
    grid = study.grid
    if grid.split == ["all"]:
        splits = list(range(-1, len(profile.names) - 1))
    else:
        splits = [_split_index(profile, s, f"grid.split[{i}]") for i, s in enumerate(grid.split)]
    points = None
    labels = set()
    for i, entry in enumerate(grid.codec):
        path = f"grid.codec[{i}]"
        spec = CodecSpec(entry) if isinstance(entry, str) else entry
        spec.check(path)
        if spec.label in labels:
            raise StudyError(f"{path}: codec name {spec.label!r} is used twice; give each a name")
        labels.add(spec.label)
        if spec.kind == "learned" and spec.bits is None and not all(
                isinstance(model, AwgnChannel) for _, model in links):
            raise StudyError(f"{path}: analog values (learned without bits) need awgn links")
        if isinstance(spec.ratio, dict):  # a ratio per split point: only those points
            for unit, ratio in spec.ratio.items():
                k = _split_index(profile, unit, f"{path}.ratio.{unit}")
                part = DesignPoints.product(splits=[k], sparsities=grid.sparsity, codecs=(
                    Codec(spec.kind, ratio=ratio, bits=spec.bits, kernel=spec.kernel,
                          name=spec.label),))
                points = part if points is None else points.concat(part)
            continue
        ratios = spec.ratio or [1.0]
        codecs = tuple(Codec(spec.kind, ratio=r, bits=spec.bits, kernel=spec.kernel, name=spec.label)
                       for r in ratios)
        part = DesignPoints.product(splits=splits, sparsities=grid.sparsity, codecs=codecs)
        points = part if points is None else points.concat(part)
    return points


def codec_labels(study: SweepStudy) -> list[str]:
    return [CodecSpec(e).label if isinstance(e, str) else e.label for e in study.grid.codec]


def _check_scenarios(study: SweepStudy, profile: SplitProfile) -> None:
    labels = codec_labels(study)
    for name, scenario in study.scenarios.items():
        path = f"scenarios.{name}"
        _split_index(profile, scenario.split, f"{path}.split")
        if scenario.codec not in labels:
            raise StudyError(f"{path}.codec: {scenario.codec!r} is not a codec of the grid "
                             f"(codecs: {', '.join(labels)})")
    for i, number in enumerate(study.paper):
        path = f"paper[{i}]"
        if number.kind == "ratio":
            for role in ("point", "baseline"):
                ref = getattr(number, role)
                if ref not in study.scenarios:
                    raise StudyError(f"{path}.{role}: {ref!r} is not a scenario "
                                     f"(scenarios: {', '.join(study.scenarios) or 'none'})")
        for codec in number.codec:
            if codec not in labels:
                raise StudyError(f"{path}.codec: {codec!r} is not a codec of the grid")
