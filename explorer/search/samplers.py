"""The samplers a search study may name: name -> a factory of Optuna's own sampler.

Optuna's samplers are used as they are; this table only says how a study's settings make one.
A new sampler is one line in `_FACTORIES`. "auto" (the default) takes random sampling for several
objectives and TPE for one (`AUTO_CHOICE`, the one line to change when the search-efficiency
benchmark measures a better one). Every sampler is wrapped by explorer.search.distinct so that
each trial is a new candidate of the pre-filtered grid.
"""
from __future__ import annotations

from typing import Any, Callable

import optuna

from splitbase import Registry, StudyError

# (grid choices: Optuna parameter -> its values, trials, seed) -> a sampler
SamplerFactory = Callable[[dict[str, list[Any]], int, int], optuna.samplers.BaseSampler]

_FACTORIES: dict[str, SamplerFactory] = {
    "nsga2": lambda choices, trials, seed: optuna.samplers.NSGAIISampler(
        seed=seed, population_size=max(4, min(50, trials // 3))),
    "tpe": lambda choices, trials, seed: optuna.samplers.TPESampler(seed=seed),
    "random": lambda choices, trials, seed: optuna.samplers.RandomSampler(seed=seed),
    "grid": lambda choices, trials, seed: optuna.samplers.GridSampler(choices, seed=seed),
    "gp": lambda choices, trials, seed: _small_grid_gp(optuna.samplers.GPSampler(
        seed=seed, n_startup_trials=max(2, min(10, trials // 4)), warn_independent_sampling=False)),
}
# GPSampler's acquisition search (Optuna 5.0: 2048 quasi-random candidates, then 10 local
# searches; read from its constructor) is sized for continuous spaces. A search grid has a few
# hundred points, so 256 candidates and 2 local searches find its maximum at an eighth of the
# cost (0.08 s instead of 0.56 s a trial after 20 trials, 3 objectives, one constraint).
GP_ACQUISITION = {"_n_preliminary_samples": 256, "_n_local_search": 2}


def _small_grid_gp(sampler: optuna.samplers.GPSampler) -> optuna.samplers.GPSampler:
    """`sampler` with GP_ACQUISITION's settings; an Optuna without them is refused (StudyError)."""
    for name, value in GP_ACQUISITION.items():
        if not hasattr(sampler, name):
            raise StudyError(f"search.sampler: gp: this Optuna ({optuna.__version__}) has no GPSampler.{name}; "
                             "explorer/search/samplers.py GP_ACQUISITION needs updating")
        setattr(sampler, name, value)
    return sampler
# "auto": (several objectives, one objective). Several: the best measured by
# benchmarks/search_efficiency.py on the tabular benchmark (results/search_efficiency/
# tabular_resnet18_fmnist/, 20 seeds: random reached 95 % of the exhaustive hypervolume in a
# median 54.5 distinct evaluations, in 19 of the 20 seeds; NSGA-II 72.5, reaching it in 13, and
# no population size from 8 to 50 did better than random; TPE 132.5; GP reached it in 4). One
# objective: TPE, not measured here.
AUTO_CHOICE = ("random", "tpe")

SAMPLERS: Registry[SamplerFactory] = Registry("sampler", error=StudyError)
for _name, _factory in _FACTORIES.items():
    SAMPLERS.add(_name, _factory)
AUTO = "auto"


def sampler_name(asked: str, objectives: int) -> str:
    """The sampler a study's setting names ("auto": AUTO_CHOICE, by the number of objectives)."""
    if asked == AUTO:
        return AUTO_CHOICE[0] if objectives > 1 else AUTO_CHOICE[1]
    SAMPLERS.get(asked)
    return asked


def make_sampler(name: str, choices: dict[str, list[Any]], *, trials: int, seed: int) -> optuna.samplers.BaseSampler:
    return SAMPLERS.get(name)(choices, trials, seed)
