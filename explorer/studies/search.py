"""The search study file: what to search, on which hardware, for which objectives and limits.

    name: quickstart
    model: small-cnn
    dataset: {name: fashion-mnist}
    device: raspberry-pi-3
    link: wifi-80211bgn-004:2mbps
    server: rtx-2080ti
    space:
      split: [conv2, pool2, conv3]
      sparsity: [0.0, 0.25, 0.5]
      compression_ratio: [4, 16, 64]
      method: [bottlenetpp]
      channel: [{kind: bec, p: 0.01, bits: 8, train_range: [0, 0.05]}]
    objectives: [accuracy, latency]        # any of accuracy, latency, energy, throughput
    constraints: {max_accuracy_drop: 2.0, max_latency_s: 0.5, fits_device: true}
    training: {baseline: {epochs: 2}, candidate: {epochs: 1}}
    search: {sampler: nsga2, trials: 12, seed: 0}

Everything is checked by `resolve_search` before a storage file is created or anything trains.
"""
from __future__ import annotations


from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import sqlalchemy
import sqlalchemy.exc

from splitbase import ModelError, StudyError
from explorer.cost.evaluate import Codec, DesignPoints, Hardware, price_points
from explorer.profile.table import BitWidths, SplitProfile, profile_zoo_model
from splitbase.schema import load_yaml, parse
from explorer.studies.sweep import BitsSpec, PresetRef, build_presets
from explorer.studies.train import DatasetSpec, train_config
from hwmodels import AwgnChannel, EdgeDevice, Link
from netmodels.candidate.build import CandidateSpec, ChannelSpec
from netmodels.methods import METHODS
from netmodels.training import TrainConfig
from netmodels.zoo import MODELS

Objective = Literal["accuracy", "latency", "energy", "throughput"]
DIRECTIONS = {"accuracy": "maximize", "latency": "minimize", "energy": "minimize",
              "throughput": "maximize"}
ATTRIBUTE = {"accuracy": "accuracy", "latency": "latency_s", "energy": "energy_j",
             "throughput": "throughput_fps"}


@dataclass
class SearchSpace:
    split: list[str | int]
    sparsity: list[float] = field(default_factory=lambda: [0.0])
    compression_ratio: list[float] = field(default_factory=lambda: [1.0])
    method: list[str] = field(default_factory=lambda: ["bottlenetpp"])
    channel: list[dict[str, Any]] = field(default_factory=lambda: [{"kind": "none"}])
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def check(self, path: str) -> None:
        for i, s in enumerate(self.sparsity):
            if not 0 <= s < 1:
                raise StudyError(f"{path}.sparsity[{i}]: must be in [0, 1), got {s}")
        for i, r in enumerate(self.compression_ratio):
            if r <= 0:
                raise StudyError(f"{path}.compression_ratio[{i}]: must be positive, got {r}")
        for i, method in enumerate(self.method):
            if method not in METHODS:
                raise StudyError(f"{path}.method[{i}]: unknown method {method!r} "
                                 f"(known: {', '.join(METHODS.names())})")
        for method in self.options:
            if method not in self.method:
                raise StudyError(f"{path}.options.{method}: not a method of the space")


@dataclass
class Constraints:
    """Limits a candidate must meet. Analytic ones (memory, latency, energy, throughput) prune
    a trial before any training; the accuracy drop (points against the cached base model) is
    known after retraining and marks the trial infeasible."""

    max_accuracy_drop: float | None = None
    max_latency_s: float | None = None
    max_energy_j: float | None = None
    min_throughput_fps: float | None = None
    fits_device: bool = True

    def check(self, path: str) -> None:
        for name in ("max_accuracy_drop", "max_latency_s", "max_energy_j", "min_throughput_fps"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise StudyError(f"{path}.{name}: must be positive, got {value}")
        if self.max_accuracy_drop is not None and self.max_accuracy_drop > 100:
            raise StudyError(f"{path}.max_accuracy_drop: is in points (0..100), got "
                             f"{self.max_accuracy_drop}")


@dataclass
class TrainingSpec:
    baseline: dict[str, Any]
    candidate: dict[str, Any]


@dataclass
class SearchSettings:
    sampler: Literal["auto", "nsga2", "tpe", "random", "grid"] = "auto"
    trials: int = 20
    seed: int = 0
    storage: str | None = None
    heartbeat_s: int = 30
    max_retry: int = 2

    def check(self, path: str) -> None:
        if self.trials < 1:
            raise StudyError(f"{path}.trials: must be at least 1, got {self.trials}")
        if self.heartbeat_s < 1:
            raise StudyError(f"{path}.heartbeat_s: must be at least 1, got {self.heartbeat_s}")


@dataclass
class SearchStudy:
    name: str
    model: str
    dataset: DatasetSpec
    device: PresetRef | str
    link: PresetRef | str
    server: PresetRef | str
    space: SearchSpace
    objectives: list[Objective]
    training: TrainingSpec
    description: str = ""
    bits: BitsSpec = field(default_factory=BitsSpec)
    constraints: Constraints = field(default_factory=Constraints)
    search: SearchSettings = field(default_factory=SearchSettings)
    also_price_on: list[PresetRef | str] = field(default_factory=list)
    output: str | None = None


@dataclass(frozen=True)
class ResolvedSearch:
    study: SearchStudy
    path: Path
    profile: SplitProfile
    bits: BitWidths
    hardware: Hardware
    baseline: TrainConfig
    training: TrainConfig
    channels: list[ChannelSpec]
    output: Path
    storage: str
    also: list[Hardware]

    @property
    def directions(self) -> list[str]:
        return [DIRECTIONS[o] for o in self.study.objectives]

    @property
    def sampler(self) -> str:
        chosen = self.study.search.sampler
        if chosen == "auto":
            return "nsga2" if len(self.study.objectives) > 1 else "tpe"
        return chosen


def _one(role: str, ref: PresetRef | str, expected: type) -> tuple[str, object]:
    built = build_presets(role, [ref], expected)
    if len(built) != 1:
        raise StudyError(f"{role}: a search takes one preset (one mode, no swept overrides)")
    return built[0]


def resolve_search(path: str | Path, *, storage: str | None = None) -> ResolvedSearch:
    """Parse and check a search study; raises StudyError naming the field."""
    study = parse(SearchStudy, load_yaml(path), "")
    if study.model not in MODELS:
        raise StudyError(f"model: unknown model {study.model!r} (known: {', '.join(MODELS.names())})")
    if len(set(study.objectives)) != len(study.objectives) or not study.objectives:
        raise StudyError("objectives: name each objective once, at least one")
    try:
        bits = BitWidths(weight=study.bits.weight, activation=study.bits.activation,
                         input=study.bits.input)
    except StudyError as exc:
        raise StudyError(f"bits: {exc}") from None
    device = _one("device", study.device, EdgeDevice)
    link = _one("link", study.link, Link)
    server = _one("server", study.server, EdgeDevice)
    hardware = Hardware(device[0], device[1], link[0], link[1], server[0], server[1])
    profile = profile_zoo_model(study.model, bits=bits)
    for i, split in enumerate(study.space.split):
        if isinstance(split, str) and split not in profile.names:
            raise StudyError(f"space.split[{i}]: {split!r} is not a unit of {study.model} "
                             f"(units: {', '.join(profile.names)})")
    channels = []
    for i, settings in enumerate(study.space.channel):
        try:
            channel = ChannelSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()})
        except (ModelError, TypeError) as exc:
            raise StudyError(f"space.channel[{i}]: {exc}") from None
        if channel.kind == "awgn" and not isinstance(hardware.link, AwgnChannel):
            raise StudyError(f"space.channel[{i}]: analog AWGN values need an awgn link, "
                             f"not {hardware.link_name!r}")
        channels.append(channel)
    also = [Hardware(name, model, link[0], link[1], server[0], server[1])
            for name, model in build_presets("also_price_on", study.also_price_on, EdgeDevice)]
    baseline = train_config(study.training.baseline, "training.baseline")
    training = train_config(study.training.candidate, "training.candidate")
    _check_reachable(study, profile, hardware)
    output = Path(study.output or Path("results") / study.name)
    url = storage or study.search.storage or f"sqlite:///{output / 'study.db'}"
    _check_storage_url(url, "--storage" if storage else "search.storage")
    return ResolvedSearch(study, Path(path), profile, bits, hardware, baseline, training, channels,
                          output, url, also)


def _check_storage_url(url: str, where: str) -> None:
    """A URL SQLAlchemy can parse, for a database whose driver is installed (not yet connected)."""
    try:
        sqlalchemy.engine.make_url(url).get_dialect().import_dbapi()
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as exc:
        raise StudyError(f"{where}: {url!r} is not a SQLAlchemy database URL ({exc})") from None
    except ImportError as exc:
        hint = ' (pip install -e ".[postgres]")' if url.startswith("postgresql") else ""
        raise StudyError(f"{where}: the driver for {url!r} is not installed: {exc}{hint}") from None


def _check_reachable(study: SearchStudy, profile: SplitProfile, hardware: Hardware) -> None:
    """A contradiction between constraints and space, found analytically before any training:
    no split of the space fits the device, or none can meet the latency / energy / throughput
    limits even at the largest sparsity and compression of the space (encoder cost ignored)."""
    limits = study.constraints
    splits = [s if isinstance(s, int) else profile.names.index(s) - 1 for s in study.space.split]
    best = max(study.space.compression_ratio)
    points = DesignPoints.product(splits=splits, sparsities=[max(study.space.sparsity)],
                                  codecs=(Codec("jpeg", ratio=max(best, 1.0)),))
    priced = price_points(profile, points, hardware)
    fits = priced["feasible"] if limits.fits_device else np.ones(len(points), dtype=bool)
    if not fits.any():
        raise StudyError(f"constraints.fits_device: no split of the space fits {hardware.device_name} "
                         f"({priced['infeasible_reason'][0]})")
    checks = (("max_latency_s", "latency_s", min, "s"), ("max_energy_j", "energy_j", min, "J"),
              ("min_throughput_fps", "throughput_fps", max, "frames/s"))
    for name, column, best_of, unit in checks:
        limit = getattr(limits, name)
        if limit is None:
            continue
        reachable = best_of(priced[column][fits])
        if (name.startswith("max") and reachable > limit) or (name.startswith("min") and reachable < limit):
            raise StudyError(f"constraints.{name}: {limit:g} {unit} cannot be met by any candidate "
                             f"of the space (the best reaches {reachable:.3g} {unit})")


def candidate_spec(resolved: ResolvedSearch, params: dict[str, Any]) -> CandidateSpec:
    """The CandidateSpec of a trial's sampled parameters."""
    study = resolved.study
    method = params["method"]
    channel = resolved.channels[params["channel"]]
    ratio = params["compression_ratio"] if method != "none" else None
    return CandidateSpec(model=study.model, dataset=study.dataset.name, split=params["split"],
                         sparsity=params["sparsity"], compression_ratio=ratio, method=method,
                         channel=channel, options=study.space.options.get(method, {}))


def space_choices(resolved: ResolvedSearch) -> dict[str, list]:
    """Each searched parameter and its choices (Optuna categorical distributions)."""
    space = resolved.study.space
    return {"split": list(space.split), "sparsity": list(space.sparsity),
            "compression_ratio": list(space.compression_ratio), "method": list(space.method),
            "channel": list(range(len(space.channel)))}


def spec_record(spec: CandidateSpec) -> dict[str, Any]:
    record = asdict(spec)
    record["channel"] = {k: list(v) if isinstance(v, tuple) else v for k, v in record["channel"].items()}
    return record


__all__ = ["ATTRIBUTE", "DIRECTIONS", "ResolvedSearch", "SearchStudy", "candidate_spec",
           "resolve_search", "space_choices", "spec_record"]
