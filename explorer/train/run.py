"""Running a retraining study: base models (cached), then every candidate, each row written as it ends.

Results: `baselines.csv` (one row per model), `candidates.csv` (one row per candidate: achieved
compression, bits sent, head and encoder MACs and parameters, accuracy and its drop against the
cached base model, the `baseline_digest` of that base model's weights, and the `candidate_key` a
later call resumes by), `channel_accuracy.csv`, REPORT.md and provenance.json. A study of many candidates
runs over several calls (`--time-limit`): each call trains the candidates not yet written, and
trains again the rows another base model was trained from (a fresh cache trained it anew, and on
CUDA without TrainConfig.deterministic that is another model), so every row of a study starts
from one base model.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from explorer.analysis.provenance import Provenance, earlier_calls, write_calls
from explorer.resumable import Deadline, ResultRows
from explorer.studies.train import ChannelEvaluation, ResolvedTrainStudy
from explorer.train.report import write_report
from netmodels.baseline import Baseline, get_baseline
from netmodels.candidate import CandidateProfile, CandidateSpec, build_candidate
from netmodels.data import ImageDataset
from netmodels.recipes import CandidateResult, retrain
from splitbase import SplitExplorerError, StudyError
from splitbase.files import write_text

CANDIDATE_COLUMNS = ("candidate", "model", "method", "options", "split", "channel", "channel_state", "sparsity",
                     "pruned_channels", "head_macs", "head_params", "requested_ratio", "compression_ratio",
                     "sent_shape", "payload_bits", "raw_feature_bits", "channel_uses", "uncoded", "encoder_macs",
                     "encoder_params", "decoder_macs", "accuracy", "baseline_accuracy", "accuracy_drop_points", "wall_time_s",
                     "baseline_digest", "candidate_key")
# Columns a candidates.csv written before them lacks: what the architecture alone fixes, so they
# are filled from the candidate built untrained (`fill_added`), without training it again.
ADDED_COLUMNS = {"encoder_params": lambda profile: profile.encoder_params, "uncoded": lambda profile: profile.uncoded}
# told_state: the state the encoder was told (empty: the channel's own), a column added after files were written
CHANNEL_COLUMNS = ("candidate", "state", "accuracy", "candidate_key", "candidate_state", "told_state")


def check_candidates(resolved: ResolvedTrainStudy, data: ImageDataset) -> list[CandidateProfile]:
    """Build every candidate untrained, in the study's order: a method that does not apply fails
    here, before training. Returns their profiles (payloads not yet measured)."""
    profiles = []
    for i, (spec, _) in enumerate(resolved.specs):
        try:
            profiles.append(build_candidate(spec, input_shape=data.input_shape, num_classes=data.num_classes).profile)
        except SplitExplorerError as exc:
            raise StudyError(f"candidate {i} ({spec.method} at {spec.split}): {exc}") from None
    return profiles


def candidate_rows(path: Path, keys: list[str]) -> ResultRows:
    """candidates.csv of a study whose candidates have `keys` (its order)."""
    return ResultRows(path, "candidate_key", CANDIDATE_COLUMNS, order=keys, added=tuple(ADDED_COLUMNS))


def fill_added(rows: ResultRows, keys: list[str], profiles: list[CandidateProfile]) -> None:
    """The cells of ADDED_COLUMNS a row written before them lacks, from its candidate's untrained
    profile (`profiles` in the order of `keys`); rows of candidates no longer listed stay as they are."""
    if not rows.lacking:
        return
    by_key = dict(zip(keys, profiles))

    def filled(row: dict[str, str]) -> dict[str, Any]:
        profile = by_key.get(row["candidate_key"])
        if profile is None:
            return row
        return {**row, **{name: ADDED_COLUMNS[name](profile) for name in rows.lacking if row[name] == ""}}

    rows.keep(filled)


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
        "uncoded": profile.uncoded,
        "encoder_macs": profile.encoder_macs, "encoder_params": profile.encoder_params,
        "decoder_macs": profile.decoder_macs,
        "accuracy": result.test_accuracy, "baseline_accuracy": base.test_accuracy,
        "accuracy_drop_points": 100 * (base.test_accuracy - result.test_accuracy),
        "wall_time_s": result.wall_time_s, "baseline_digest": base.digest,
    }


def candidate_key(spec: CandidateSpec, evaluation: ChannelEvaluation, resolved: ResolvedTrainStudy) -> str:
    """What a finished row of candidates.csv was trained from: the candidate, the channel states it
    was evaluated on, and both training configs (a changed budget retrains)."""
    what = {"spec": spec.record(), **evaluation.record(), "training": asdict(resolved.training),
            "baseline": asdict(resolved.baseline)}
    return hashlib.sha1(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _baselines(resolved: ResolvedTrainStudy, data: ImageDataset, out: Path, *, cache_dir: str | None,
               progress: bool) -> dict[str, Baseline]:
    baselines, rows = {}, []
    for model in resolved.study.models:
        base = get_baseline(model, data, resolved.baseline, cache_dir=cache_dir, progress=progress)
        baselines[model] = base
        rows.append({"model": model, "dataset": data.name, "test_accuracy": base.test_accuracy,
                     "wall_time_s": base.wall_time_s, "trained_now": base.trained_now,
                     "weights_digest": base.digest,
                     "epochs": resolved.baseline.epochs, "steps": resolved.baseline.steps})
    write_text(out / "baselines.csv", pd.DataFrame(rows).to_csv(index=False))
    return baselines


@dataclass(frozen=True)
class TrainRun:
    """What one call of a retraining study did: the folder, candidates trained now and still left,
    and the finished rows it found trained from another base model (trained again)."""

    output: Path
    trained: int
    remaining: int
    rebased: int = 0


def run_train_study(resolved: ResolvedTrainStudy, *, data_root: str | None = None, cache_dir: str | None = None,
                    progress: bool = True, time_limit_s: float | None = None) -> TrainRun:
    """Train the base models and the candidates of a resolved study not yet in its candidates.csv.

    Resumable: each candidate's row (and its channel-state rows) is written as it ends, keyed by
    `candidate_key`, and a later call skips the keys it finds; with `time_limit_s` a call starts no
    candidate that would not end in time. REPORT.md is written once every candidate has its row;
    provenance.json after every call, its wall time summed over the calls.
    """
    provenance, deadline = Provenance(seed=resolved.baseline.seed), Deadline(time_limit_s)
    data = resolved.study.dataset.load(data_root)
    profiles = check_candidates(resolved, data)
    out = resolved.output
    out.mkdir(parents=True, exist_ok=True)
    baselines = _baselines(resolved, data, out, cache_dir=cache_dir, progress=progress)
    keys = [candidate_key(spec, evaluation, resolved) for spec, evaluation in resolved.specs]
    rows = candidate_rows(out / "candidates.csv", keys)
    fill_added(rows, keys, profiles)
    states_rows = ResultRows(out / "channel_accuracy.csv", "candidate_state", CHANNEL_COLUMNS, added=("told_state",))
    rebased = _match_study(rows, states_rows, keys, {m: b.digest for m, b in baselines.items()})
    trained = 0
    for index, ((spec, evaluation), key) in enumerate(zip(resolved.specs, keys)):
        if key in rows:
            continue
        if not deadline.fits(rows.column("wall_time_s")):
            break
        base = baselines[spec.model]
        _, result = retrain(spec, base, data, resolved.training, channel_states=evaluation.states,
                            told_state=evaluation.told, progress=progress)
        for state, accuracy in result.channel_accuracy:
            states_rows.put({"candidate_state": f"{key}@{state:g}", "candidate": index, "state": state,
                             "accuracy": accuracy, "candidate_key": key})
        for state, accuracy in result.told_accuracy:
            states_rows.put({"candidate_state": f"{key}@{state:g}told{evaluation.told:g}", "candidate": index,
                             "state": state, "accuracy": accuracy, "candidate_key": key, "told_state": evaluation.told})
        rows.put({"candidate_key": key, **candidate_row(index, spec, result, base)})
        trained += 1
    remaining = sum(key not in rows for key in keys)
    _write_provenance(resolved, out, provenance, trained=trained, remaining=remaining)
    if not remaining:
        write_report(resolved, out, dict(zip(keys, profiles)))
    return TrainRun(out, trained, remaining, rebased)


def rewrite_report(resolved: ResolvedTrainStudy, *, data_root: str | None = None) -> Path:
    """REPORT.md (and the figures) written again from the finished CSV files of the study's folder,
    training nothing: for a study whose claims, figures or description changed since it ran.
    StudyError unless every candidate of the study has its row and no row is of another candidate
    (a changed candidate needs training: run the study). A candidates.csv written before one of
    ADDED_COLUMNS gets it from the candidates built untrained, and so do the latency figures (the data
    set is read for its shape)."""
    out = resolved.output
    if not (out / "candidates.csv").is_file() or not (out / "baselines.csv").is_file():
        raise StudyError(f"{out}: no finished run of this study to report on (run it first)")
    keys = [candidate_key(spec, evaluation, resolved) for spec, evaluation in resolved.specs]
    rows = candidate_rows(out / "candidates.csv", keys)
    if set(keys) != set(rows.rows):
        missing, extra = len(set(keys) - set(rows.rows)), len(set(rows.rows) - set(keys))
        raise StudyError(f"{out}: {missing} candidates of the study have no row and {extra} "
                         "rows are of candidates it no longer lists: run the study to bring them in step")
    profiles = None
    if rows.lacking or resolved.study.latency:
        profiles = check_candidates(resolved, resolved.study.dataset.load(data_root))
        fill_added(rows, keys, profiles)
    return write_report(resolved, out, dict(zip(keys, profiles)) if profiles is not None else None)


def _match_study(rows: ResultRows, states_rows: ResultRows, keys: list[str], digests: dict[str, str]) -> int:
    """Drop the rows of candidates the study no longer lists (changed or removed since they ran)
    and those trained from another base model than `digests` (model -> weights digest) names;
    number the others by their place in the study now. Returns how many rows of listed candidates
    were dropped for their base model."""
    index = {key: i for i, key in enumerate(keys)}
    rebased = {key for key, row in rows.rows.items() if key in index and row["baseline_digest"] != digests[row["model"]]}

    def renumber(row: dict[str, str]) -> dict[str, Any] | None:
        key = row["candidate_key"]
        return {**row, "candidate": index[key]} if key in index and key not in rebased else None

    rows.keep(renumber)
    states_rows.keep(renumber)
    return len(rebased)


def _write_provenance(resolved: ResolvedTrainStudy, out: Path, provenance: Provenance, *, trained: int,
                      remaining: int) -> None:
    """provenance.json of the study so far: this call's record, every call under `calls`, and
    `wall_time_s` summed over them (explorer.analysis.provenance.write_calls)."""
    path = out / "provenance.json"
    _, before = earlier_calls(path)
    write_calls(path, provenance, before, this_call={"trained": trained},
                fields={"remaining": remaining, "baseline_config": asdict(resolved.baseline),
                        "training_config": asdict(resolved.training)})
