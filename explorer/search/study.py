"""Opening a search's Optuna study on its storage, with its sampler and its objectives named."""
from __future__ import annotations

import warnings

import optuna
from optuna.storages import RDBStorage

from explorer.search.distinct import DistinctSampler
from explorer.search.samplers import make_sampler
from explorer.search.space import SearchGrid, search_grid
from explorer.search.storage import open_storage
from explorer.studies.search import ResolvedSearch


def search_storage(resolved: ResolvedSearch) -> RDBStorage:
    settings = resolved.study.search
    return open_storage(resolved.storage, heartbeat_s=settings.heartbeat_s, max_retry=settings.max_retry)


def open_study(resolved: ResolvedSearch, *, rank: int = 0, storage: RDBStorage | None = None,
               grid: SearchGrid | None = None) -> optuna.Study:
    """The study (created on first use); worker `rank` samples with seed + rank so that workers
    do not sample in step; every trial it samples is a new allowed point of `grid` (the study's
    pre-filtered grid when not given)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    settings = resolved.study.search
    grid = grid or search_grid(resolved)
    seed = settings.seed + rank
    base = make_sampler(resolved.sampler, grid.grid_choices(), trials=settings.trials, seed=seed)
    sampler = DistinctSampler(base, grid, seed=seed)
    study = optuna.create_study(study_name=resolved.study.name, storage=storage or search_storage(resolved),
                                sampler=sampler, directions=resolved.directions, load_if_exists=True)
    if study.metric_names is None:  # named once, so optuna-dashboard shows "latency", not "Objective 1"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(resolved.study.objectives))
    return study
