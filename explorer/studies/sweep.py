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
from typing import Annotated, Literal

from explorer.cost.codecs import CodecChoice
from explorer.cost.hardware import Hardware
from explorer.cost.points import DesignPoints
from explorer.profile.bits import BitWidths
from explorer.profile.table import SplitProfile, profile_zoo_model
from explorer.studies.common import (
    PresetRef,
    build_presets,
    check_analog_link,
    check_model,
    check_name,
    output_folder,
    read_study,
    split_index,
)
from hwmodels import Device, Link
from netmodels.codecs import CODECS
from splitbase import ModelError, StudyError
from splitbase.schema import Bounds, Sparsity, parse


@dataclass(frozen=True)
class CodecSpec:
    """A codec of the grid: `kind` a CODECS name, with a ratio (a list sweeps it; a mapping gives
    one ratio per split point, e.g. {conv5: 28}) for codecs priced by a ratio, bits per value, the
    learned encoder's kernel, and a `name` labelling it in results."""

    kind: str
    name: str | None = None
    ratio: dict[str, float] | list[float] | None = None
    bits: Annotated[int, Bounds(low=1, high=32)] | None = None
    kernel: Annotated[int, Bounds(low=1)] = 2

    def check(self, path: str) -> None:
        if self.kind not in CODECS:
            raise StudyError(f"{path}.kind: unknown codec {self.kind!r} (known: {', '.join(CODECS.names())})")
        problem = CODECS.get(self.kind).pricing.problem(ratio_given=self.ratio is not None, bits=self.bits)
        if problem:
            raise StudyError(f"{path}: codec {self.kind} {problem}")
        ratios = self.ratio.values() if isinstance(self.ratio, dict) else (self.ratio or [])
        if any(r < 1 for r in ratios):
            raise StudyError(f"{path}.ratio: compression ratios must be >= 1")

    @property
    def label(self) -> str:
        return self.name or CodecChoice(self.kind, bits=self.bits).label

    def choice(self, ratio: float = 1.0) -> CodecChoice:
        return CodecChoice(self.kind, ratio=ratio, bits=self.bits, kernel=self.kernel, name=self.label)


@dataclass(frozen=True)
class SweepGrid:
    split: list[str | int] = field(default_factory=lambda: ["all"])
    sparsity: list[Sparsity] = field(default_factory=lambda: [0.0])
    codec: list[CodecSpec | str] = field(default_factory=lambda: ["none"])

    @property
    def codecs(self) -> list[CodecSpec]:
        return [CodecSpec(c) if isinstance(c, str) else c for c in self.codec]


@dataclass(frozen=True)
class Scenario:
    """A named design point of the grid (on the first hardware combination unless named)."""

    split: str | int
    codec: str = "none"
    sparsity: float = 0.0
    device: str | None = None
    link: str | None = None


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class CalibratedParameter:
    """A preset parameter to fit to the paper's ratios: `role.name` (role: device, link, server;
    a component's parameter as `device.dram.efficiency`), searched in [low, high] (SI)."""

    param: str
    low: float
    high: float

    def check(self, path: str) -> None:
        if not 0 < self.low < self.high:
            raise StudyError(f"{path}: needs 0 < low < high, got {self.low}, {self.high}")


@dataclass(frozen=True)
class SweepStudy:
    name: str
    model: str
    device: list[PresetRef | str]
    link: list[PresetRef | str]
    server: list[PresetRef | str]
    description: str = ""
    input: str | None = None
    classes: int | None = None
    bits: BitWidths = field(default_factory=BitWidths)
    grid: SweepGrid = field(default_factory=SweepGrid)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    paper: list[PaperNumber] = field(default_factory=list)
    calibrate: list[CalibratedParameter] = field(default_factory=list)
    source: str = ""
    notes: str = ""
    output: str | None = None

    def check(self, path: str) -> None:
        check_name(self.name)
        check_model(self.model, "model")


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
    return parse(SweepStudy, read_study(path), "")


def resolve_sweep(path: str | Path, *, output: str | Path | None = None) -> ResolvedSweep:
    """Parse and check everything a sweep needs; raises StudyError naming the field."""
    study = read_sweep(path)
    try:
        profile = profile_zoo_model(study.model, input_shape=_shape(study.input),
                                    num_classes=study.classes, bits=study.bits)
    except ModelError as exc:
        raise StudyError(f"model: {exc}") from None
    devices = build_presets("device", study.device, Device)
    links = build_presets("link", study.link, Link)
    servers = build_presets("server", study.server, Device)
    hardware = [Hardware(d, dm, l, lm, s, sm) for (d, dm), (l, lm), (s, sm)
                in itertools.product(devices, links, servers)]
    points = _points(study, profile, links)
    _check_scenarios(study, profile)
    return ResolvedSweep(study, Path(path), profile, points, hardware, output_folder(study.name, output or study.output))


def _shape(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    parts = text.split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise StudyError(f"input: expected CxHxW such as 3x224x224, got {text!r}")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


def _points(study: SweepStudy, profile: SplitProfile, links: list[tuple[str, Link]]) -> DesignPoints:
    grid = study.grid
    if grid.split == ["all"]:
        splits = list(range(-1, len(profile.names) - 1))
    else:
        splits = [split_index(profile.names, s, f"grid.split[{i}]") for i, s in enumerate(grid.split)]
    parts, labels = [], set()
    for i, spec in enumerate(grid.codecs):
        path = f"grid.codec[{i}]"
        spec.check(path)
        if spec.label in labels:
            raise StudyError(f"{path}: codec name {spec.label!r} is used twice; give each a name")
        labels.add(spec.label)
        if spec.choice().analog:
            check_analog_link(links, f"{path} (learned without bits)")
        if isinstance(spec.ratio, dict):  # a ratio per split point: only those points
            parts += [DesignPoints.product(splits=[split_index(profile.names, unit, f"{path}.ratio.{unit}")],
                                           sparsities=grid.sparsity, codecs=(spec.choice(ratio),))
                      for unit, ratio in spec.ratio.items()]
        else:
            parts.append(DesignPoints.product(splits=splits, sparsities=grid.sparsity,
                                              codecs=tuple(spec.choice(r) for r in spec.ratio or [1.0])))
    points = parts[0]
    for part in parts[1:]:
        points = points.concat(part)
    return points


def codec_labels(study: SweepStudy) -> list[str]:
    return [spec.label for spec in study.grid.codecs]


def _check_scenarios(study: SweepStudy, profile: SplitProfile) -> None:
    labels = codec_labels(study)
    for name, scenario in study.scenarios.items():
        path = f"scenarios.{name}"
        split_index(profile.names, scenario.split, f"{path}.split")
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
