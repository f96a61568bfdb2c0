"""Retraining studies: train the base models and a list of candidates, record what was measured.

    name: bottlenetpp_first
    dataset: {name: fashion-mnist}          # root and loader options optional
    models: [resnet18-cifar]
    baseline: {epochs: 30, lr: 0.1}         # netmodels TrainConfig fields, for the base models
    training: {epochs: 8, lr: 0.01}         # and for each stage of a candidate's method
    candidates:
      - {model: resnet18-cifar, split: [layer4.0], method: bottlenetpp,
         compression_ratio: [32, 64, 128], channel: {kind: awgn, psnr_db: 20, train_range: [10, 25]},
         channel_states: [10, 15, 20, 25]}

Each candidate group expands to split x compression_ratio. Results: `baselines.csv` (one row per
model), `candidates.csv` (one row per candidate: achieved compression, bits sent, encoder MACs,
accuracy and its drop against the cached baseline), `channel_accuracy.csv` and provenance.json.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from splitbase import ModelError, SplitExplorerError, StudyError
from explorer.analysis.provenance import Provenance
from splitbase.schema import load_yaml, parse
from netmodels.baseline import get_baseline
from netmodels.candidate.build import CandidateSpec, ChannelSpec, build_candidate
from netmodels.data import ImageDataset, load_dataset
from netmodels.recipes import train_candidate
from netmodels.training import TrainConfig
from netmodels.zoo import MODELS


@dataclass
class DatasetSpec:
    name: str
    root: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class CandidateGroup:
    split: list[str | int]
    model: str | None = None
    method: str = "none"
    compression_ratio: list[float] = field(default_factory=list)
    sparsity: list[float] = field(default_factory=lambda: [0.0])
    channel: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    channel_states: list[float] = field(default_factory=list)


@dataclass
class TrainStudy:
    name: str
    dataset: DatasetSpec
    models: list[str]
    baseline: dict[str, Any]
    training: dict[str, Any]
    candidates: list[CandidateGroup] = field(default_factory=list)
    description: str = ""
    output: str | None = None


@dataclass(frozen=True)
class ResolvedTrainStudy:
    study: TrainStudy
    baseline: TrainConfig
    training: TrainConfig
    specs: list[tuple[CandidateSpec, tuple[float, ...]]]
    output: Path


def train_config(values: dict[str, Any], path: str) -> TrainConfig:
    unknown = sorted(set(values) - set(TrainConfig.field_names()))
    if unknown:
        raise StudyError(f"{path}.{unknown[0]}: unknown training field "
                         f"(known: {', '.join(TrainConfig.field_names())})")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        return TrainConfig(**values)
    except StudyError as exc:
        raise StudyError(f"{path}: {exc}") from None


def resolve_train_study(path: str | Path, *, output: str | Path | None = None) -> ResolvedTrainStudy:
    """Parse and check a retraining study; every candidate is built once (on the CPU, untrained)
    so that a bad split, ratio or channel is reported before any training."""
    study = parse(TrainStudy, load_yaml(path), "")
    for i, model in enumerate(study.models):
        if model not in MODELS:
            raise StudyError(f"models[{i}]: unknown model {model!r} (known: {', '.join(MODELS.names())})")
    baseline = train_config(study.baseline, "baseline")
    training = train_config(study.training, "training")
    specs = []
    for g, group in enumerate(study.candidates):
        where = f"candidates[{g}]"
        model = group.model or study.models[0]
        if model not in study.models:
            raise StudyError(f"{where}.model: {model!r} is not one of the study's models")
        for split, ratio, sparsity in itertools.product(group.split, group.compression_ratio or [None],
                                                        group.sparsity):
            try:
                spec = CandidateSpec(model=model, dataset=study.dataset.name, split=split,
                                     sparsity=sparsity, compression_ratio=ratio, method=group.method,
                                     channel=ChannelSpec(**{k: tuple(v) if isinstance(v, list) else v
                                                            for k, v in group.channel.items()}),
                                     options=group.options)
            except (ModelError, TypeError) as exc:
                raise StudyError(f"{where}: {exc}") from None
            specs.append((spec, tuple(group.channel_states)))
    target = Path(output or study.output or Path("results") / study.name)
    return ResolvedTrainStudy(study, baseline, training, specs, target)


def check_candidates(resolved: ResolvedTrainStudy, data: ImageDataset) -> None:
    """Build every candidate untrained: a method that does not apply fails here, before training."""
    for i, (spec, _) in enumerate(resolved.specs):
        try:
            build_candidate(spec, input_shape=data.input_shape, num_classes=data.num_classes)
        except SplitExplorerError as exc:
            raise StudyError(f"candidate {i} ({spec.method} at {spec.split}): {exc}") from None


def run_train_study(resolved: ResolvedTrainStudy, *, data_root: str | None = None,
                    cache_dir: str | None = None, progress: bool = True) -> Path:
    provenance = Provenance(seed=resolved.baseline.seed)
    study = resolved.study
    data = load_dataset(study.dataset.name, root=data_root or study.dataset.root,
                        **study.dataset.options)
    check_candidates(resolved, data)
    baselines = {}
    rows = []
    for model in study.models:
        base = get_baseline(model, data, resolved.baseline, cache_dir=cache_dir, progress=progress)
        baselines[model] = base
        rows.append({"model": model, "dataset": data.name, "test_accuracy": base.test_accuracy,
                     "wall_time_s": base.wall_time_s, "trained_now": base.trained_now,
                     "epochs": resolved.baseline.epochs, "steps": resolved.baseline.steps})
    out = resolved.output
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "baselines.csv", index=False)
    candidate_rows, channel_rows = [], []
    for index, (spec, states) in enumerate(resolved.specs):
        base = baselines[spec.model]
        candidate = build_candidate(spec, input_shape=data.input_shape, num_classes=data.num_classes,
                                    base_model=base.model)
        result = train_candidate(candidate, data, resolved.training, channel_states=states,
                                 progress=progress)
        profile = result.profile
        candidate_rows.append({
            "candidate": index, "model": spec.model, "method": spec.method,
            "options": json.dumps(dict(spec.options), sort_keys=True) if spec.options else "",
            "split": profile.split_name, "channel": spec.channel.kind,
            "channel_state": spec.channel.psnr_db if spec.channel.kind == "awgn" else spec.channel.p,
            "sparsity": spec.sparsity, "pruned_channels": profile.pruned_channels,
            "head_macs": profile.head_macs, "head_params": profile.head_params,
            "requested_ratio": spec.compression_ratio, "compression_ratio": profile.compression_ratio,
            "sent_shape": "x".join(map(str, profile.sent_shape)), "payload_bits": profile.payload_bits,
            "raw_feature_bits": profile.raw_feature_bits, "channel_uses": profile.channel_uses,
            "encoder_macs": profile.encoder_macs, "decoder_macs": profile.decoder_macs,
            "accuracy": result.test_accuracy, "baseline_accuracy": base.test_accuracy,
            "accuracy_drop_points": 100 * (base.test_accuracy - result.test_accuracy),
            "wall_time_s": result.wall_time_s,
        })
        channel_rows += [{"candidate": index, "state": state, "accuracy": accuracy}
                         for state, accuracy in result.channel_accuracy]
        pd.DataFrame(candidate_rows).to_csv(out / "candidates.csv", index=False)
    if channel_rows:
        pd.DataFrame(channel_rows).to_csv(out / "channel_accuracy.csv", index=False)
    provenance.extra["baseline_config"] = asdict(resolved.baseline)
    provenance.extra["training_config"] = asdict(resolved.training)
    provenance.write(out)
    write_report(resolved, out)
    return out


def _markdown(frame: pd.DataFrame) -> list[str]:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    return ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns),
            *("| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False))]


def write_report(resolved: ResolvedTrainStudy, out: Path) -> Path:
    """REPORT.md from the CSVs in `out` (so it can be rebuilt from a run's files alone)."""
    study = resolved.study
    lines = [f"# {study.name}", "", study.description.strip(), "",
             "Tables from the CSV files beside this report; how they were made is in "
             "provenance.json.", "", "## Base models", ""]
    baselines = pd.read_csv(out / "baselines.csv")
    lines += _markdown(baselines[["model", "dataset", "test_accuracy", "epochs", "wall_time_s"]].astype(object).fillna(""))
    if (out / "candidates.csv").exists():
        candidates = pd.read_csv(out / "candidates.csv")
        candidates["sent_bits"] = candidates["payload_bits"]
        columns = ["candidate", "method", "options", "split", "sparsity", "head_macs", "channel",
                   "channel_state", "compression_ratio", "sent_shape", "sent_bits", "channel_uses",
                   "encoder_macs", "decoder_macs", "accuracy", "accuracy_drop_points"]
        shown = candidates[[c for c in columns if c in candidates.columns]]
        lines += ["", "## Candidates", "",
                  "`compression_ratio`: raw float32 feature bits / bits sent, as achieved "
                  "(analog AWGN values count 32 bits each, so it is the reduction in real values; "
                  "`channel_uses` = values / 2, I and Q). `sent_bits` per frame; "
                  "`accuracy_drop_points`: base model accuracy minus the candidate's, in points.",
                  "", *_markdown(shown.astype(object).fillna(""))]
    if (out / "channel_accuracy.csv").exists():
        states = pd.read_csv(out / "channel_accuracy.csv")
        table = states.pivot(index="candidate", columns="state", values="accuracy").reset_index()
        table.columns = ["candidate", *(f"state {c:g}" for c in table.columns[1:])]
        lines += ["", "## Accuracy over channel states", "",
                  "Each candidate evaluated with its channel fixed at each state (PSNR in dB for "
                  "AWGN, erasure probability for BEC); empty where a state is not of its channel.",
                  "", *_markdown(table.astype(object).fillna(""))]
    path = out / "REPORT.md"
    path.write_text("\n".join(lines) + "\n")
    return path
