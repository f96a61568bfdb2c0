"""Successive halving, the multi-fidelity policy of a search (`search: {policy: halving, eta, rungs}`).

Rung 0 is the study's ordinary search: `search.trials` distinct candidates, each trained at the
candidate budget by the study's sampler. Rung r + 1 retrains the best max(1, n_r // eta) of the
n_r candidates rung r evaluated at eta x rung r's budget (`budget_factor`), ranked again at that
budget; `rungs` rungs in all. "Best" is the study's own ordering (`rank`): feasible candidates
(every constraint met) before infeasible ones (smaller total violation first), then by
non-dominated level of the study's objectives, then by the first objective. A promoted trial is
an enqueued trial with the candidate's parameters and its rung (explorer.search.record); it is
trained once (its twins at the same rung reuse it, explorer.search.trial). The front and the
report use each candidate's longest budget (explorer.search.trials.front).

In oracle mode the table holds two budgets (the candidate budget and `long_factor` x it), so the
policy has two rungs and rung 1 reads `accuracy_long` / `train_seconds_long`; only candidates the
table has a long-budget value for are promoted (the next in rank takes the place of one without),
so an oracle study and the search-efficiency benchmark spend rung 1 on rows that exist.

Later rungs run in the calling process, after every worker has finished rung 0: they are a
1/eta fraction of it, and one process deciding the promotion means it is decided once.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import optuna
from optuna.trial import FrozenTrial, TrialState

from explorer.analysis.pareto import non_dominated
from explorer.search import record
from explorer.search.oracle import OracleTable
from explorer.search.space import SearchGrid
from explorer.studies.search import ResolvedSearch, SearchSettings


def budget_factor(settings: SearchSettings, rung: int, oracle: OracleTable | None) -> float:
    """Rung `rung`'s training budget over the candidate budget: eta ** rung, or in oracle mode the
    table's long factor for rung 1 (NaN when the table's provenance does not say it)."""
    if rung == 0:
        return 1.0
    if oracle is not None:
        return float(oracle.long_factor) if oracle.long_factor is not None else float("nan")
    return float(settings.eta ** rung)


def promoted_count(evaluated: int, eta: int) -> int:
    """How many of a rung's `evaluated` candidates the next rung retrains: max(1, n // eta)."""
    return max(1, evaluated // eta) if evaluated else 0


def rank(values: np.ndarray, violation: np.ndarray) -> np.ndarray:
    """Row indices best first. values: (n, m) objectives, every one minimised; violation: (n,)
    the total by which a row breaks the constraints (0 when feasible). Feasible rows come before
    infeasible ones (smaller violation first), then by non-dominated level, then by column 0."""
    values = np.asarray(values, dtype=float)
    level = np.full(len(values), len(values), dtype=np.int64)
    left = np.arange(len(values))
    for depth in range(len(values)):
        if not len(left):
            break
        front = non_dominated(values[left])
        if not front.any():  # rows with NaN: last
            break
        level[left[front]] = depth
        left = left[~front]
    return np.lexsort((values[:, 0] if values.size else np.zeros(0), level, violation, violation > 0))


def promote(values: np.ndarray, violation: np.ndarray, count: int, promotable: np.ndarray) -> np.ndarray:
    """The first `count` rows in `rank` order among the `promotable` ones (a boolean mask)."""
    order = rank(values, violation)
    return order[np.asarray(promotable, dtype=bool)[order]][:count]


def _violation(trial: FrozenTrial) -> float:
    """How far a trial is from feasible: its positive constraint values summed (1 when it is
    infeasible for another reason, e.g. the device's memory)."""
    total = sum(max(0.0, value) for value in trial.constraints.values())
    return total if total > 0 or not record.verdict(trial) else 1.0


def rung_trials(study: optuna.Study, rung: int) -> list[FrozenTrial]:
    """The trials of `rung` that evaluated their own candidate (complete, not reusing a twin)."""
    return [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE
            and "reused_from" not in t.user_attrs and record.rung(t) == rung]


def to_promote(study: optuna.Study, resolved: ResolvedSearch, rung: int,
               promotable: Callable[[str], bool]) -> list[str]:
    """The candidate keys rung `rung` retrains: the best of rung - 1 (module docstring)."""
    done = {t.user_attrs["candidate_key"]: t for t in rung_trials(study, rung - 1)}
    if not done:
        return []
    trials = list(done.values())
    signs = np.array([o.sign for o in resolved.objectives])
    values = np.array([t.values for t in trials], dtype=float) * signs
    violation = np.array([_violation(t) for t in trials])
    mask = np.array([promotable(t.user_attrs["candidate_key"]) for t in trials])
    chosen = promote(values, violation, promoted_count(len(trials), resolved.study.search.eta), mask)
    return [trials[i].user_attrs["candidate_key"] for i in chosen]


def run_rungs(study: optuna.Study, runner: Callable[[optuna.Trial], tuple[float, ...]], resolved: ResolvedSearch,
              grid: SearchGrid, oracle: OracleTable | None, *,
              callbacks: list[Callable[[optuna.Study, FrozenTrial], None]], catch: tuple[type[Exception], ...]) -> None:
    """Rungs 1 .. rungs - 1 after rung 0: enqueue each rung's promoted candidates not yet asked for
    (so that a resumed study asks for none twice), then run its waiting trials; a rung left
    unfinished (the time limit) ends the call, to be resumed."""
    promotable = (lambda key: True) if oracle is None else oracle.has_long
    row = {key: i for i, key in enumerate(grid.keys)}
    for rung in range(1, resolved.study.search.rungs):
        asked = {t.user_attrs.get("candidate_key") for t in study.get_trials(deepcopy=False) if record.rung(t) == rung}
        for key in to_promote(study, resolved, rung, promotable):
            if key not in asked:
                study.enqueue_trial(grid.params(row[key]), user_attrs={record.RUNG: rung})
        waiting = [t for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)) if record.rung(t) == rung]
        if waiting:
            study.optimize(runner, n_trials=len(waiting), callbacks=callbacks, catch=catch)
        if any(record.rung(t) == rung for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,))):
            return  # stopped (a callback's study.stop): the next rung promotes from this one only once it is done
