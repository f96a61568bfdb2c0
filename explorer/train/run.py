"""Running a retraining study: base models (cached), then every candidate, each row written as it ends.

Results: `baselines.csv` (one row per model), `candidates.csv` (one row per candidate: achieved
compression, bits sent, head and encoder MACs, accuracy and its drop against the cached base
model), `channel_accuracy.csv`, REPORT.md and provenance.json.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from explorer.analysis.provenance import Provenance
from explorer.studies.train import ResolvedTrainStudy
from explorer.train.report import write_report
from netmodels.baseline import Baseline, get_baseline
from netmodels.candidate import CandidateSpec, build_candidate
from netmodels.data import ImageDataset
from netmodels.recipes import CandidateResult, retrain
from splitbase import SplitExplorerError, StudyError


def check_candidates(resolved: ResolvedTrainStudy, data: ImageDataset) -> None:
    """Build every candidate untrained: a method that does not apply fails here, before training."""
    for i, (spec, _) in enumerate(resolved.specs):
        try:
            build_candidate(spec, input_shape=data.input_shape, num_classes=data.num_classes)
        except SplitExplorerError as exc:
            raise StudyError(f"candidate {i} ({spec.method} at {spec.split}): {exc}") from None


def candidate_row(index: int, spec: CandidateSpec, result: CandidateResult, base: Baseline) -> dict[str, Any]:
    """One row of candidates.csv."""
    profile = result.profile
    return {
        "candidate": index, "model": spec.model, "method": spec.method,
        "options": json.dumps(dict(spec.options), sort_keys=True) if spec.options else "",
        "split": profile.split_name, "channel": spec.channel.kind, "channel_state": spec.channel.state,
        "sparsity": spec.sparsity, "pruned_channels": profile.pruned_channels,
        "head_macs": profile.head_macs, "head_params": profile.head_params,
        "requested_ratio": spec.compression_ratio, "compression_ratio": profile.compression_ratio,
        "sent_shape": "x".join(map(str, profile.sent_shape)), "payload_bits": profile.payload_bits,
        "raw_feature_bits": profile.raw_feature_bits, "channel_uses": profile.channel_uses,
        "encoder_macs": profile.encoder_macs, "decoder_macs": profile.decoder_macs,
        "accuracy": result.test_accuracy, "baseline_accuracy": base.test_accuracy,
        "accuracy_drop_points": 100 * (base.test_accuracy - result.test_accuracy),
        "wall_time_s": result.wall_time_s,
    }


def _baselines(resolved: ResolvedTrainStudy, data: ImageDataset, out: Path, *, cache_dir: str | None,
               progress: bool) -> dict[str, Baseline]:
    baselines, rows = {}, []
    for model in resolved.study.models:
        base = get_baseline(model, data, resolved.baseline, cache_dir=cache_dir, progress=progress)
        baselines[model] = base
        rows.append({"model": model, "dataset": data.name, "test_accuracy": base.test_accuracy,
                     "wall_time_s": base.wall_time_s, "trained_now": base.trained_now,
                     "epochs": resolved.baseline.epochs, "steps": resolved.baseline.steps})
    pd.DataFrame(rows).to_csv(out / "baselines.csv", index=False)
    return baselines


def run_train_study(resolved: ResolvedTrainStudy, *, data_root: str | None = None,
                    cache_dir: str | None = None, progress: bool = True) -> Path:
    """Train the base models and candidates of a resolved study; the results folder."""
    provenance = Provenance(seed=resolved.baseline.seed)
    data = resolved.study.dataset.load(data_root)
    check_candidates(resolved, data)
    out = resolved.output
    out.mkdir(parents=True, exist_ok=True)
    baselines = _baselines(resolved, data, out, cache_dir=cache_dir, progress=progress)
    candidate_rows, channel_rows = [], []
    for index, (spec, states) in enumerate(resolved.specs):
        base = baselines[spec.model]
        _, result = retrain(spec, base, data, resolved.training, channel_states=states, progress=progress)
        candidate_rows.append(candidate_row(index, spec, result, base))
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
