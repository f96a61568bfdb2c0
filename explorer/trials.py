"""A search study's trials as a table, its Pareto front and hypervolume (shared by pareto,
export and report)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from splitbase import StudyError
from explorer.pareto import hypervolume, non_dominated
from explorer.search_study import ATTRIBUTE, DIRECTIONS, ResolvedSearch

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
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "ok"])
    return frame


@dataclass(frozen=True)
class Front:
    trials: pd.DataFrame      # the non-dominated feasible trials, best first objective first
    hypervolume: float
    reference: dict[str, float]


def front(frame: pd.DataFrame, objectives: list[str]) -> Front:
    """Non-dominated feasible complete trials (duplicates of a reused candidate dropped)."""
    ok = frame[frame["ok"] & frame["reused_from"].isna()]
    if ok.empty:
        return Front(ok, 0.0, {})
    columns = [ATTRIBUTE[o] for o in objectives]
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
