"""The retraining study file: base models to train and candidates to retrain, each measured.

    name: bottlenetpp_first
    dataset: {name: fashion-mnist}          # root and loader options optional
    models: [resnet18-cifar]
    baseline: {epochs: 30, lr: 0.1}         # netmodels TrainConfig fields, for the base models
    training: {epochs: 8, lr: 0.01}         # and for each stage of a candidate's method
    candidates:
      - {model: resnet18-cifar, split: [layer4.0], method: bottlenetpp,
         compression_ratio: [32, 64, 128], channel: {kind: awgn, psnr_db: 20, train_range: [10, 25]},
         channel_states: [10, 15, 20, 25], told_state: 15}

Each candidate group expands to split x compression_ratio x sparsity; each candidate, once
trained, is evaluated with its channel fixed at each of `channel_states` and, with `told_state`,
again with its encoder told that state whatever the channel's (000's case 2: channel_accuracy.csv). `source` names the paper
(a key of explorer.analysis.papers) and `paper` lists its claims, each computed from
candidates.csv for the report's "Beside the paper" table (explorer.train.paper):

    source: matsubara2022bottlefit
    paper:
      - what: "two-stage recipe over the best baseline, points (Table II, 3 channels)"
        kind: gap                           # 100 x (accuracy of `rows` - the best of `than`), per split
        value: [4.1, 5.7]                   # the paper's number, or its range
        rows: [{method: bottlefit, options: {channels: 3}}]
        than: [{method: bottlefit, options: {channels: 3, training: kd}}]
      - {what: "...", kind: drop, value: 0.6, rows: [{method: bottlefit}]}   # smallest accuracy drop

and `figures` lists figures of candidates.csv drawn beside the report (explorer.train.figures):

    figures:
      - name: qf_ratio_accuracy
        title: "JPEG at conv5_3: accuracy against ratio"
        point_label: quality                # an option shown at each point
        series: [{label: "as coded", rows: [{split: conv5_3, with_options: {codec: jpeg, retrain: false}}]}]

`resolve_train_study`
checks everything (the candidates are built untrained by explorer.train.run before training);
explorer.train.run runs it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from explorer.studies.common import (
    DatasetSpec,
    check_dataset,
    check_method,
    check_model,
    check_name,
    one_preset,
    output_folder,
    read_study,
)
from hwmodels import Link
from netmodels.candidate import CandidateSpec
from netmodels.channels import ChannelSpec
from netmodels.training.config import TrainConfig
from splitbase import ModelError, StudyError
from splitbase.schema import Bounds, Sparsity, parse


@dataclass(frozen=True)
class CandidateGroup:
    split: list[str | int]
    model: str | None = None
    method: str = "none"
    compression_ratio: list[float] = field(default_factory=list)
    sparsity: list[Sparsity] = field(default_factory=lambda: [0.0])
    channel: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    channel_states: list[float] = field(default_factory=list)
    told_state: float | None = None

    def check(self, path: str) -> None:
        check_method(self.method, self.options, f"{path}.method", f"{path}.options")
        if self.told_state is not None and not self.channel_states:
            raise StudyError(f"{path}.told_state: needs channel_states (the states the channel runs at "
                             "while the encoder is told this one)")


@dataclass(frozen=True)
class ChannelEvaluation:
    """After training, a candidate's accuracy with its channel fixed at each of `states` (PSNR
    in dB, or p); with `told`, again with the encoder told that state whatever the channel's
    (paper 000 section IV.C, case 2)."""

    states: tuple[float, ...] = ()
    told: float | None = None

    def record(self) -> dict[str, Any]:
        """What a candidate's key holds of it (`told` only when set: keys made before it stay)."""
        return {"states": list(self.states), **({"told": self.told} if self.told is not None else {})}


@dataclass(frozen=True)
class RowFilter:
    """candidates.csv rows of `method` (any when None) at `split` and `sparsity`, over the channel of
    kind `channel` (awgn, bec, ...), at the compression ratio the study asked for
    (`requested_ratio`; each any of them when None) whose options
    are exactly `options` (None: any options) and include every key and value of `with_options`
    (e.g. {codec: jpeg, retrain: false}: at every quality factor)."""

    method: str | None = None
    split: str | None = None
    sparsity: Sparsity | None = None
    channel: str | None = None
    requested_ratio: float | None = None
    options: dict[str, Any] | None = None
    with_options: dict[str, Any] = field(default_factory=dict)

    def check(self, path: str) -> None:
        if self.options is not None and self.with_options:
            raise StudyError(f"{path}: give options (exactly these) or with_options (at least these), not both")


# candidates.csv columns a study figure may plot and a claim may compare (device_macs: head_macs +
# encoder_macs; device_params: head_params + encoder_params; explorer.train.paper.DEVICE_TOTALS).
# link_s: the payload's airtime on the figure's or claim's `link` (explorer.train.paper.with_link_time).
# A figure's x may also be `evaluated_state`: each candidate's accuracy at each channel state of
# channel_accuracy.csv (000 Fig. 3), a line per candidate.
FigureColumn = Literal["compression_ratio", "accuracy", "accuracy_drop_points", "payload_bits", "head_macs",
                       "device_macs", "head_params", "encoder_params", "device_params", "link_s", "evaluated_state"]


def check_link_columns(link: str | None, columns: list[str], path: str) -> None:
    """`link_s` among `columns` needs a `link`, which must be one link preset; StudyError otherwise."""
    if link is None:
        if "link_s" in columns:
            raise StudyError(f"{path}: link_s is the airtime on a link: name the preset (link: ...)")
        return
    one_preset(f"{path}.link", link, Link)
STATE_Y = ("accuracy", "accuracy_drop_points")


@dataclass(frozen=True)
class PaperClaim:
    """A published claim and how to compute ours from candidates.csv (explorer.train.paper).

    kind `drop`: the smallest accuracy drop (points) among `rows`; agrees when at most the
    paper's value + `tolerance` points. kind `gap`: per split, 100 x (accuracy of each row of
    `rows` - that of a row of `than` at the same split with the same `same_options`: the one
    whose `nearest` column is closest, or the most accurate without `nearest`); agrees when
    every gap is within the paper's range [low, high] (a number: low = high) widened by
    `tolerance` points. kind `ratio`: per split, the highest achieved compression ratio among
    `rows` whose accuracy drop is at most `max_drop` points (004: "at the 1% accuracy loss"); with
    `than`, the gain in percent of that ratio over the same of `than` at the split; agrees when
    every split's value is within [low, high] widened by `tolerance` (in the value's unit). Our
    ratios count raw float32 features; `feature_bits` restates them against the paper's raw
    feature width (004's engine: 16 bits, so ours x 16 / 32). kind `dominance`: the rows within
    `max_drop` points that are on their own front over `objectives` (columns of candidates.csv,
    all minimised; `device_macs` is head_macs + encoder_macs), and the percentage of them that no
    row of `than` within `max_drop` dominates (001: "no point on other curves with smaller
    computational cost and communication overhead simultaneously": 100). kind `times`: per split,
    how many times `column` of each row's partner in `than` (paired as by `gap`) is the row's
    (002: the autoencoder's head "83 times" BottleFit's in parameters), partners taken at any split
    with `across_splits` (a split's bits against the input image's); agrees when the `judged`
    factor, the smallest (the paper's "in the worst case") or the largest ("up to"), is within
    [low, high] widened by `tolerance`. kind `below`: the percentage of `rows` whose `column` is
    below that of their partner in `than` (paired as by `times`; 001: "all the communication
    overheads ... smaller than the input data": 100). kind `latency`: the highest latency (s) of
    the fastest of `rows` at each rate of the latency figure `figure` up to `max_rate_bit_per_s`,
    priced as that figure prices its series (001: "about 0.1 s below 40 KB/s"). kind
    `state_spread`: per candidate of `rows`, 100 x (its highest - its lowest accuracy) over the
    channel states it was evaluated at (channel_accuracy.csv), its encoder told the actual state or,
    with `told`, its group's told_state (000: "the accuracy drops less than 1% when PSNR changes
    from 25 dB to 10 dB"); agrees when the largest is at most the paper's value + `tolerance`.
    kind `earliest`: the least on-device FLOPs (2 x device_macs) among the rows of `rows` within
    `max_drop` points whose `column` is below the smallest of `than` (000 Table I: "minimum
    on-device computation ... with the communication overhead less than transmitting PNG image",
    `than` the input image as PNG, `column` link_s or payload_bits). kind `state_times`: at each
    state of the channel figure `figure`, how many times the least airtime of `than` is that of
    `rows`, each priced and picked as the figure picks a series; judged by the smallest or the
    largest factor (`judged`; 001 Fig. 5: JSCC "slightly lower than or comparable with" learned
    source coding, the input and the original feature "by a large margin"). Columns for
    `objectives` and `column` include device_macs and device_params (head + encoder: MACs,
    weights) and, with `link` (a link preset), link_s: each row's payload airtime on it. `differs`: how the paper's set-up
    and ours differ where it bears on this claim (data set, model, budget, link), which the
    report prints under its table when ours does not agree."""

    what: str
    kind: Literal["drop", "gap", "ratio", "dominance", "times", "below", "latency", "state_spread", "earliest",
                  "state_times"]
    value: float | list[float]
    rows: list[RowFilter]
    than: list[RowFilter] = field(default_factory=list)
    nearest: str | None = None
    same_options: list[str] = field(default_factory=list)
    tolerance: float = 1.0
    max_drop: float = 1.0
    feature_bits: Annotated[float, Bounds(low=1, high=32)] = 32.0
    differs: str = ""
    objectives: list[str] = field(default_factory=lambda: ["device_macs", "payload_bits"])
    column: FigureColumn = "device_params"
    judged: Literal["smallest", "largest"] = "smallest"
    across_splits: bool = False
    figure: str | None = None
    max_rate_bit_per_s: Annotated[float, Bounds(low=1.0)] | None = None
    told: bool = False
    link: str | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """The paper's (low, high): a number is both."""
        values = self.value if isinstance(self.value, list) else [self.value]
        return float(values[0]), float(values[-1])

    @property
    def accepted(self) -> tuple[float, float]:
        """The paper's (low, high) widened by `tolerance`: where ours agrees."""
        low, high = self.bounds
        return low - self.tolerance, high + self.tolerance

    def check(self, path: str) -> None:
        values = self.value if isinstance(self.value, list) else [self.value]
        if not 1 <= len(values) <= 2 or sorted(values) != list(values):
            raise StudyError(f"{path}.value: a number or [low, high], got {self.value!r}")
        if self.kind in ("gap", "dominance", "times", "below", "earliest") and not self.than or self.kind == "drop" and self.than:
            raise StudyError(f"{path}.than: {'not taken by' if self.kind == 'drop' else 'needed by'} kind {self.kind!r}")
        if self.kind == "dominance" and len(self.objectives) < 2:
            raise StudyError(f"{path}.objectives: at least two columns, got {self.objectives}")
        if not self.rows:
            raise StudyError(f"{path}.rows: at least one filter")
        check_link_columns(self.link, [self.column, *self.objectives], path)
        if (self.max_rate_bit_per_s is not None) != (self.kind == "latency"):
            raise StudyError(f"{path}: kind 'latency' takes max_rate_bit_per_s, and only it")
        if (self.figure is not None) != (self.kind in ("latency", "state_times")):
            raise StudyError(f"{path}: kinds 'latency' and 'state_times' take figure, and only they")
        if self.kind == "state_times" and not self.than:
            raise StudyError(f"{path}.than: needed by kind 'state_times'")




@dataclass(frozen=True)
class FigureSeries:
    """One line of a study figure: the rows of candidates.csv matching `rows`, named `label`;
    with `level`, a dashed horizontal line at each row's y (001's grey line of the input image's
    size), its x not drawn; in a figure over `evaluated_state`, with `told`, the evaluations with
    the encoder told the group's `told_state` (000's case 2) instead of the actual state."""

    label: str
    rows: list[RowFilter]
    level: bool = False
    told: bool = False


@dataclass(frozen=True)
class StudyFigure:
    """A figure of candidates.csv drawn beside the report as `name`.png (explorer.train.figures):
    `y` against `x`, one line per series through its rows in the order of x, each point marked
    with the value of the option `point_label` (e.g. quality) when given; x on a log axis unless
    `log_x` is false, y on one when `log_y` is true; markers alone when `lines` is false; `link`:
    the link preset whose airtime `link_s` is (000 Fig. 2: the BEC with rate-1/2 LDPC for the
    digital baselines, the AWGN channel at its Shannon capacity)."""

    name: str
    title: str
    series: list[FigureSeries]
    x: FigureColumn = "compression_ratio"
    y: FigureColumn = "accuracy"
    point_label: str | None = None
    log_x: bool = True
    log_y: bool = False
    lines: bool = True
    link: str | None = None

    def check(self, path: str) -> None:
        check_name(self.name, f"{path}.name")
        check_link_columns(self.link, [self.x, self.y], path)
        if not self.series:
            raise StudyError(f"{path}.series: at least one series")
        if self.y == "evaluated_state" or (self.x == "evaluated_state" and self.y not in STATE_Y):
            raise StudyError(f"{path}: evaluated_state is an x, against y {' or '.join(STATE_Y)}")
        if self.x != "evaluated_state" and any(s.told for s in self.series):
            raise StudyError(f"{path}.series: told is of figures over x: evaluated_state")


@dataclass(frozen=True)
class LatencyFigure:
    """Latency against link rate (001 Fig. 4), as `name`.csv and `name`.png beside the report
    (explorer.train.latency): every row of each series priced as built on the presets `device`
    and `server`, its measured payload sent over `link` with the link's rate set to each of
    `link_rates_bit_per_s` (its power stays the mode's); per series and rate the fastest row
    within `max_drop` points of the base model whose head fits the device's memory."""

    name: str
    title: str
    device: str
    link: str
    server: str
    link_rates_bit_per_s: list[Annotated[float, Bounds(low=1.0)]]
    series: list[FigureSeries]
    max_drop: float = 2.0

    def check(self, path: str) -> None:
        from explorer.train.latency import hardware  # a bad preset or link is refused before any training

        check_name(self.name, f"{path}.name")
        hardware(self, path)


@dataclass(frozen=True)
class ChannelFigure:
    """The airtime against the channel's state (001 Fig. 5), as `name`.csv and `name`.png beside
    the report (explorer.train.channel_figures): at each of `states`, the link preset `link`
    with its parameter `setting` set to the state (snr_db, crossover_probability, ...), and per
    series the row with the least payload airtime on it among those within `max_drop` points of
    the base model at that state: a row evaluated over channel states (channel_states, the
    encoder told the actual one) by its accuracy at the state, which must be among them, any
    other row (a digital payload the link's channel code carries) by its accuracy. A noisy
    channel's state is its own (an AWGN channel's PSNR, a BSC's p): on AWGN the digital rows get
    that number as the link's SNR, at least the average SNR of the analog values, whose peak is 1."""

    name: str
    title: str
    link: str
    setting: str
    states: list[float]
    series: list[FigureSeries]
    max_drop: float = 2.0

    def check(self, path: str) -> None:
        from explorer.train.channel_figures import state_links  # a bad preset or setting is refused before training

        check_name(self.name, f"{path}.name")
        if not self.states:
            raise StudyError(f"{path}.states: at least one state")
        state_links(self, path)


@dataclass(frozen=True)
class TrainStudy:
    name: str
    dataset: DatasetSpec
    models: list[str]
    baseline: TrainConfig
    training: TrainConfig
    candidates: list[CandidateGroup] = field(default_factory=list)
    description: str = ""
    output: str | None = None
    source: str = ""
    paper: list[PaperClaim] = field(default_factory=list)
    figures: list[StudyFigure] = field(default_factory=list)
    latency: list[LatencyFigure] = field(default_factory=list)
    channel_figures: list[ChannelFigure] = field(default_factory=list)

    def check(self, path: str) -> None:
        check_name(self.name)
        names = [f.name for f in [*self.figures, *self.latency, *self.channel_figures]]
        if len(set(names)) != len(names):
            raise StudyError(f"figures, latency, channel_figures: two figures of one name in {names}")
        for i, claim in enumerate(self.paper):
            kind, figures = (("latency", self.latency) if claim.kind == "latency" else
                             ("channel", self.channel_figures))
            known = {f.name for f in figures}
            if claim.figure is not None and claim.figure not in known:
                raise StudyError(f"paper[{i}].figure: no {kind} figure {claim.figure!r} (the study has "
                                 f"{', '.join(sorted(known)) or 'none'})")
        if self.paper and not self.source:
            raise StudyError("source: the paper whose claims `paper` lists (a key of explorer.analysis.papers)")
        check_dataset(self.dataset.name, "dataset.name")
        for i, model in enumerate(self.models):
            check_model(model, f"models[{i}]")


@dataclass(frozen=True)
class ResolvedTrainStudy:
    study: TrainStudy
    specs: list[tuple[CandidateSpec, ChannelEvaluation]]
    output: Path

    @property
    def baseline(self) -> TrainConfig:
        return self.study.baseline

    @property
    def training(self) -> TrainConfig:
        return self.study.training


def _group_specs(study: TrainStudy, group: CandidateGroup, where: str) -> list[tuple[CandidateSpec, ChannelEvaluation]]:
    model = group.model or study.models[0]
    if model not in study.models:
        raise StudyError(f"{where}.model: {model!r} is not one of the study's models")
    try:
        channel = ChannelSpec.from_mapping(group.channel)
        return [(CandidateSpec(model=model, dataset=study.dataset.name, split=split, sparsity=sparsity,
                               compression_ratio=ratio, method=group.method, channel=channel, options=group.options),
                 ChannelEvaluation(tuple(group.channel_states), group.told_state))
                for split, ratio, sparsity in itertools.product(group.split, group.compression_ratio or [None],
                                                                group.sparsity)]
    except ModelError as exc:
        raise StudyError(f"{where}: {exc}") from None


def resolve_train_study(path: str | Path, *, output: str | Path | None = None) -> ResolvedTrainStudy:
    """Parse and check a retraining study; StudyError naming the field."""
    study = parse(TrainStudy, read_study(path), "")
    specs = [spec for g, group in enumerate(study.candidates) for spec in _group_specs(study, group, f"candidates[{g}]")]
    return ResolvedTrainStudy(study, specs, output_folder(study.name, output or study.output))
