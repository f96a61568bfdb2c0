"""A sampler that spends every trial on a new candidate: Optuna's sampler proposes a point, and
a point already taken (trained, being trained, pruned) or out of the pre-filtered grid is
replaced by the nearest allowed point not yet taken (explorer.search.space.SearchGrid.nearest).

The wrapped sampler samples every parameter (its relative ones, then the rest independently),
so NSGA-II, TPE, GP and grid order all keep their own logic; the repaired point is returned as
the trial's relative parameters. The chosen candidate's key is stored on the trial at once, so
that a second worker sampling at the same moment sees it taken.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState

from explorer.search import record
from explorer.search.space import SearchGrid


def taken_keys(study: optuna.Study, *, but: int | None = None) -> set[str]:
    """The candidate keys of the study's trials (any state), trial number `but` left out."""
    return {t.user_attrs["candidate_key"] for t in study.get_trials(deepcopy=False)
            if t.number != but and "candidate_key" in t.user_attrs}


class DistinctSampler(optuna.samplers.BaseSampler):
    """`base` with every proposal moved to an allowed, untaken point of `grid`."""

    def __init__(self, base: optuna.samplers.BaseSampler, grid: SearchGrid, *, seed: int) -> None:
        self.base, self.grid = base, grid
        self._rng = np.random.default_rng(seed)

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.grid.distributions()

    def sample_relative(self, study: optuna.Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space or "fixed_params" in trial.system_attrs:  # a retry keeps its parameters
            return {}
        trial = study._storage.get_trial(trial._trial_id)  # with what before_trial wrote (GridSampler's grid id)
        inner = self.base.infer_relative_search_space(study, trial)
        params = dict(self.base.sample_relative(study, trial, inner)) if inner else {}
        for name, distribution in search_space.items():
            if name not in params:
                params[name] = self.base.sample_independent(study, trial, name, distribution)
        row = self.grid.row(params)
        moved = self.grid.nearest(row, taken_keys(study, but=trial.number), self._rng)
        chosen = row if moved is None else moved  # None: every allowed point is taken (the run stops)
        record.mark_sampled(study, trial, self.grid.keys[chosen])
        return self.grid.params(chosen)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        return self.base.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(self, study: optuna.Study, trial: FrozenTrial, state: TrialState,
                    values: Sequence[float] | None) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
        self._rng = np.random.default_rng()
