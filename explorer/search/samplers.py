"""The samplers a search study may name: name -> a factory of Optuna's own sampler.

Optuna's samplers are used as they are; this table only says how a study's settings make one.
A new sampler is one line in `_FACTORIES`. "auto" (the default) takes NSGA-II for several
objectives and TPE for one.
"""
from __future__ import annotations

from typing import Any, Callable

import optuna

from splitbase import Registry, StudyError

# (space choices: parameter -> its categorical values, trials, seed) -> a sampler
SamplerFactory = Callable[[dict[str, list[Any]], int, int], optuna.samplers.BaseSampler]

_FACTORIES: dict[str, SamplerFactory] = {
    "nsga2": lambda choices, trials, seed: optuna.samplers.NSGAIISampler(
        seed=seed, population_size=max(4, min(50, trials // 3))),
    "tpe": lambda choices, trials, seed: optuna.samplers.TPESampler(seed=seed),
    "random": lambda choices, trials, seed: optuna.samplers.RandomSampler(seed=seed),
    "grid": lambda choices, trials, seed: optuna.samplers.GridSampler(choices, seed=seed),
}

SAMPLERS: Registry[SamplerFactory] = Registry("sampler", error=StudyError)
for _name, _factory in _FACTORIES.items():
    SAMPLERS.add(_name, _factory)
AUTO = "auto"


def sampler_name(asked: str, objectives: int) -> str:
    """The sampler a study's setting names ("auto": nsga2 for several objectives, tpe for one)."""
    if asked == AUTO:
        return "nsga2" if objectives > 1 else "tpe"
    SAMPLERS.get(asked)
    return asked


def make_sampler(name: str, choices: dict[str, list[Any]], *, trials: int, seed: int) -> optuna.samplers.BaseSampler:
    return SAMPLERS.get(name)(choices, trials, seed)
