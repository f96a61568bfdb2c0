"""A search study's trials as a table, its Pareto front and hypervolume (shared by pareto,
export and report)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from splitbase import StudyError
from explorer.analysis.pareto import hypervolume, non_dominated
from explorer.studies.search import ATTRIBUTE, DIRECTIONS, ResolvedSearch

COLUMNS = ("number", "state", "split", "sparsity", "compression_ratio", "method", "channel",
           "accuracy", "accuracy_drop_points", "latency_s", "energy_j", "throughput_fps",
           "sent_bits", "head_macs", "feasible", "reused_from", "pruned_reason", "baseline_accuracy")


def load_trials(resolved: ResolvedSearch) -> pd.DataFrame:
    """One row per trial; `ok` marks complete trials meeting every constraint."""
    try:
        study = optuna.load_study(study_name=resolved.study.name, storage=resolved.storage)
    except KeyError:
        raise StudyError(f"no study {resolved.study.name!r} in {resolved.storage}: run "
                         "`split-explorer search` first") from None
    rows = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        row = {"number": trial.number, "state": trial.state.name, **trial.params}
        for name in COLUMNS[7:]:
            row[name] = attrs.get(name)
        channel = attrs.get("candidate", {}).get("channel", {})
        row["channel"] = channel.get("kind", trial.params.get("channel"))
        row["ok"] = (trial.state == TrialState.COMPLETE and bool(attrs.get("feasible", True))
                     and all(v <= 0 for v in trial.constraints.values()))
        row.update({name: value for name, value in attrs.items() if "@" in name})
        rows.append(row)
    extra = sorted({name for row in rows for name in row if "@" in name})
    return pd.DataFrame(rows, columns=[*COLUMNS, "ok", *extra])


@dataclass(frozen=True)
class Front:
    trials: pd.DataFrame      # the non-dominated feasible trials, best first objective first
    hypervolume: float
    reference: dict[str, float]


def front(frame: pd.DataFrame, objectives: list[str], *, device: str | None = None) -> Front:
    """Non-dominated feasible complete trials (duplicates of a reused candidate dropped);
    with `device`, the hardware objectives as priced on that extra device (`also_price_on`)."""
    ok = frame[frame["ok"] & frame["reused_from"].isna()]
    columns = [ATTRIBUTE[o] if o == "accuracy" or device is None else f"{ATTRIBUTE[o]}@{device}"
               for o in objectives]
    if device is not None and len(ok):
        ok = ok[ok[f"feasible@{device}"].astype(bool)]
    if ok.empty:
        return Front(ok, 0.0, {})
    signs = np.array([-1.0 if DIRECTIONS[o] == "maximize" else 1.0 for o in objectives])
    values = ok[columns].to_numpy(dtype=float) * signs
    mask = non_dominated(values)
    # reference: accuracy 0 for a maximised accuracy, else 10 % beyond the worst value seen
    worst = values.max(axis=0)
    span = np.maximum(values.max(axis=0) - values.min(axis=0), np.abs(worst) * 0.1 + 1e-12)
    reference = np.where([o == "accuracy" for o in objectives], 0.0, worst + 0.1 * span)
    chosen = ok[mask].sort_values(columns[0], ascending=DIRECTIONS[objectives[0]] == "minimize")
    return Front(chosen, hypervolume(values, reference),
                 {o: float(r * s) + 0.0 for o, r, s in zip(objectives, reference, signs)})
