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
    objectives: [accuracy, latency]        # explorer.search.objectives: accuracy, latency, energy, throughput
    constraints: {max_accuracy_drop: 2.0, max_latency_s: 0.5, fits_device: true}
    training: {baseline: {epochs: 2}, candidate: {epochs: 1}}
    search: {sampler: nsga2, trials: 12, seed: 0}

Two steps, both before a storage file is created or anything trains. `read_search` parses the
file and checks what it says on its own (names, objectives, limits, settings, presets, output,
storage): no model, no torch, what a search's readers (pareto, report) need. `resolve_search`
checks it against the model too (model, data set, methods, the model's profile and split
points, channels, limits the space can reach): what search, export and tabulate need; it imports
netmodels (torch) where it uses it. Either result is immutable (a --trials or --storage given on
the command line is applied here, not written into it later). Neither imports the training loop
nor the recipes.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from explorer.cost.hardware import Hardware
from explorer.profile.bits import BitWidths
from explorer.search.objectives import OBJECTIVES, Objective
from explorer.search.samplers import AUTO, SAMPLERS, sampler_name
from explorer.search.storage import check_storage_url
from explorer.studies.common import (
    DatasetSpec,
    PresetRef,
    build_presets,
    check_analog_link,
    check_dataset,
    check_method,
    check_model,
    check_name,
    one_preset,
    output_folder,
    read_study,
    split_index,
)
from hwmodels import Device, Link
from netmodels.training.config import TrainConfig
from splitbase import ModelError, StudyError
from splitbase.schema import Positive, PositiveInt, Sparsity, parse

if TYPE_CHECKING:
    from explorer.profile.table import SplitProfile
    from netmodels.candidate import CandidateSpec
    from netmodels.channels import ChannelSpec


@dataclass(frozen=True)
class SearchSpace:
    split: list[str | int]
    sparsity: list[Sparsity] = field(default_factory=lambda: [0.0])
    compression_ratio: list[Positive] = field(default_factory=lambda: [1.0])
    method: list[str] = field(default_factory=lambda: ["bottlenetpp"])
    channel: list[dict[str, Any]] = field(default_factory=lambda: [{"kind": "none"}])
    options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def check(self, path: str) -> None:
        for method in self.options:
            if method not in self.method:
                raise StudyError(f"{path}.options.{method}: not a method of the space")

    def check_methods(self, path: str) -> None:
        """Every method a registered one, its options its Options (netmodels.methods: torch)."""
        for i, method in enumerate(self.method):
            check_method(method, self.options.get(method, {}), f"{path}.method[{i}]", f"{path}.options.{method}")


@dataclass(frozen=True)
class Constraints:
    """Limits a candidate must meet. Analytic ones (memory, latency, energy, throughput) prune
    a trial before any training; the accuracy drop (points against the cached base model) is
    known after retraining and marks the trial infeasible."""

    max_accuracy_drop: Positive | None = None
    max_latency_s: Positive | None = None
    max_energy_j: Positive | None = None
    min_throughput_fps: Positive | None = None
    fits_device: bool = True

    def check(self, path: str) -> None:
        if self.max_accuracy_drop is not None and self.max_accuracy_drop > 100:
            raise StudyError(f"{path}.max_accuracy_drop: is in points (0..100), got {self.max_accuracy_drop}")


@dataclass(frozen=True)
class TrainingSpec:
    baseline: TrainConfig
    candidate: TrainConfig


MODES = ("train", "oracle")
POLICIES = ("sampler", "halving")


@dataclass(frozen=True)
class SearchSettings:
    """trials: distinct candidates to evaluate (a twin or a pruned trial does not count); mode:
    "train" (retrain every candidate) or "oracle" (a benchmark mode: read each candidate's
    measurements from `table`, a tabular benchmark CSV, explorer.search.oracle); policy:
    "sampler" (every candidate at the candidate budget) or "halving" (successive halving,
    explorer.search.halving: the `trials` candidates are rung 0, the best 1/eta of each rung is
    retrained at eta x its budget, `rungs` rungs in all; in oracle mode two rungs, the second
    at the table's long budget)."""

    sampler: str = AUTO
    trials: PositiveInt = 20
    seed: int = 0
    storage: str | None = None
    heartbeat_s: PositiveInt = 30
    max_retry: int = 2
    mode: str = "train"
    table: str | None = None
    policy: str = "sampler"
    eta: PositiveInt = 3
    rungs: PositiveInt = 2

    def check(self, path: str) -> None:
        if self.mode not in MODES:
            raise StudyError(f"{path}.mode: unknown mode {self.mode!r} (known: {', '.join(MODES)})")
        if self.policy not in POLICIES:
            raise StudyError(f"{path}.policy: unknown policy {self.policy!r} (known: {', '.join(POLICIES)})")
        if self.policy == "halving" and self.eta < 2:
            raise StudyError(f"{path}.eta: successive halving keeps 1/eta of a rung: eta must be >= 2, got {self.eta}")
        if self.policy == "halving" and self.mode == "oracle" and self.rungs != 2:
            raise StudyError(f"{path}.rungs: a tabular benchmark has two budgets, so halving on it has 2 rungs, "
                             f"got {self.rungs}")
        if (self.mode == "oracle") != (self.table is not None):
            raise StudyError(f"{path}.table: " + ("oracle mode reads a table: name it" if self.mode == "oracle"
                                                  else "only oracle mode reads a table"))


@dataclass(frozen=True)
class SearchStudy:
    name: str
    model: str
    dataset: DatasetSpec
    device: PresetRef | str
    link: PresetRef | str
    server: PresetRef | str
    space: SearchSpace
    objectives: list[str]
    training: TrainingSpec
    description: str = ""
    bits: BitWidths = field(default_factory=BitWidths)
    constraints: Constraints = field(default_factory=Constraints)
    search: SearchSettings = field(default_factory=SearchSettings)
    also_price_on: list[PresetRef | str] = field(default_factory=list)
    output: str | None = None

    def check(self, path: str) -> None:
        check_name(self.name)
        for i, name in enumerate(self.objectives):
            if name not in OBJECTIVES:
                raise StudyError(f"objectives[{i}]: unknown objective {name!r} (known: {', '.join(OBJECTIVES.names())})")
        if len(set(self.objectives)) != len(self.objectives):
            raise StudyError("objectives: name each objective once")
        if self.search.mode == "oracle" and "throughput" in self.objectives:
            raise StudyError("objectives: a tabular benchmark has no throughput; oracle mode cannot search it")
        if self.search.sampler != AUTO and self.search.sampler not in SAMPLERS:
            raise StudyError(f"search.sampler: unknown sampler {self.search.sampler!r} "
                             f"(known: {', '.join([AUTO, *SAMPLERS.names()])})")


@dataclass(frozen=True)
class SearchFile:
    """A search study file checked on its own and against the hardware catalog: what its
    storage, results and reports need (no model; torch not imported)."""

    study: SearchStudy
    path: Path
    hardware: Hardware
    also: tuple[Hardware, ...]
    output: Path
    storage: str

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return tuple(OBJECTIVES.get(name) for name in self.study.objectives)

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def sampler(self) -> str:
        return sampler_name(self.study.search.sampler, len(self.study.objectives))

    @property
    def bits(self) -> BitWidths:
        return self.study.bits

    @property
    def baseline(self) -> TrainConfig:
        return self.study.training.baseline

    @property
    def training(self) -> TrainConfig:
        return self.study.training.candidate


@dataclass(frozen=True)
class ResolvedSearch(SearchFile):
    """A search study checked against the zoo, the hardware catalog, its space and its limits."""

    profile: SplitProfile
    channels: tuple[ChannelSpec, ...]

    def split_index(self, split: str | int) -> int:
        return split_index(self.profile.names, split, "split")


def read_search(path: str | Path, *, storage: str | None = None, trials: int | None = None) -> SearchFile:
    """Parse a search study and check what needs no model (with a command line's --storage and
    --trials applied); raises StudyError naming the field. A user model (`model: {path: ...}`)
    is still imported and traced here (explorer.studies.common.read_study: torch)."""
    study = parse(SearchStudy, read_study(path), "")
    if trials is not None:
        study = dataclasses.replace(study, search=dataclasses.replace(study.search, trials=trials))
    device, link, server = (one_preset("device", study.device, Device), one_preset("link", study.link, Link),
                            one_preset("server", study.server, Device))
    also = tuple(Hardware(name, model, *link, *server)
                 for name, model in build_presets("also_price_on", study.also_price_on, Device))
    output = output_folder(study.name, study.output)
    url = storage or study.search.storage or f"sqlite:///{output / 'study.db'}"
    check_storage_url(url, "--storage" if storage else "search.storage")
    return SearchFile(study, Path(path), Hardware(*device, *link, *server), also, output, url)


def resolve_search(path: str | Path, *, storage: str | None = None, trials: int | None = None) -> ResolvedSearch:
    """`read_search`, then the study checked against netmodels: the model's name, the data set,
    the methods and their options, the model's profile (a trace: torch) and the space's split
    points, the channels, the limits the space can reach; raises StudyError naming the field."""
    from explorer.profile.table import profile_zoo_model

    file = read_search(path, storage=storage, trials=trials)
    study = file.study
    check_model(study.model, "model")
    check_dataset(study.dataset.name, "dataset.name")
    study.space.check_methods("space")
    profile = profile_zoo_model(study.model, bits=study.bits)
    for i, split in enumerate(study.space.split):
        split_index(profile.names, split, f"space.split[{i}]")
    channels = _channels(study, file.hardware)
    _check_reachable(study, profile, file.hardware)
    return ResolvedSearch(**{f.name: getattr(file, f.name) for f in dataclasses.fields(file)},
                          profile=profile, channels=channels)


def _channels(study: SearchStudy, hardware: Hardware) -> tuple[ChannelSpec, ...]:
    from netmodels.channels import ChannelSpec

    channels = []
    for i, settings in enumerate(study.space.channel):
        try:
            channel = ChannelSpec.from_mapping(settings)
        except ModelError as exc:
            raise StudyError(f"space.channel[{i}]: {exc}") from None
        if channel.channel_class.unit == "real":
            check_analog_link([(hardware.link_name, hardware.link)], f"space.channel[{i}]")
        channels.append(channel)
    return tuple(channels)


def _check_reachable(study: SearchStudy, profile: SplitProfile, hardware: Hardware) -> None:
    """A contradiction between constraints and space, found analytically before any training:
    no split of the space fits the device, or none can meet the latency / energy / throughput
    limits even at the largest sparsity and compression of the space (encoder cost ignored)."""
    import numpy as np

    from explorer.cost.codecs import CodecChoice
    from explorer.cost.points import DesignPoints
    from explorer.cost.price import price_points

    limits = study.constraints
    splits = [split_index(profile.names, s, "space.split") for s in study.space.split]
    best = max(study.space.compression_ratio)
    points = DesignPoints.product(splits=splits, sparsities=[max(study.space.sparsity)],
                                  codecs=(CodecChoice("jpeg", ratio=max(best, 1.0)),))
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


def space_choices(resolved: ResolvedSearch) -> dict[str, list]:
    """Each searched parameter and its choices (Optuna categorical distributions); a channel is
    chosen by its index in the space."""
    space = resolved.study.space
    return {"split": list(space.split), "sparsity": list(space.sparsity),
            "compression_ratio": list(space.compression_ratio), "method": list(space.method),
            "channel": list(range(len(space.channel)))}


def candidate_spec(resolved: ResolvedSearch, params: dict[str, Any]) -> CandidateSpec:
    """The CandidateSpec of a trial's sampled parameters."""
    from netmodels.candidate import CandidateSpec

    study = resolved.study
    method = params["method"]
    ratio = params["compression_ratio"] if method != "none" else None
    return CandidateSpec(model=study.model, dataset=study.dataset.name, split=params["split"],
                         sparsity=params["sparsity"], compression_ratio=ratio, method=method,
                         channel=resolved.channels[params["channel"]], options=study.space.options.get(method, {}))
