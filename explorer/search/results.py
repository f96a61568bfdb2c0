"""Writing a search's results: trials.csv, pareto.csv, pareto.json and the front figures
(each figure drawn from trials.csv's rows beside it)."""
from __future__ import annotations

import json

import pandas as pd

from explorer.analysis import plots
from explorer.search.objectives import FRONT_FIGURES, OBJECTIVES, figure_name
from explorer.search.trials import Front, front, load_trials
from explorer.studies.search import ResolvedSearch
from splitbase.files import write_text


def write_front(resolved: ResolvedSearch) -> tuple[pd.DataFrame, Front]:
    """The trials and their front, written to the study's results folder."""
    trials = load_trials(resolved)
    best = front(trials, resolved.objectives)
    out = resolved.output
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "trials.csv", trials.to_csv(index=False))
    write_text(out / "pareto.csv", best.trials.to_csv(index=False))
    write_text(out / "pareto.json", json.dumps({
        "objectives": resolved.study.objectives, "hypervolume": best.hypervolume,
        "reference": best.reference, "front": [int(n) for n in best.trials["number"]]}, indent=2))
    _draw_fronts(resolved, trials, best)
    return trials, best


def _draw_fronts(resolved: ResolvedSearch, trials: pd.DataFrame, best: Front) -> None:
    """FRONT_FIGURES over every trial with both values: feasible (complete, every constraint met)
    filled, the others hollow, the study's all-objective front ringed."""
    study_front = trials["number"].isin(best.trials["number"]).to_numpy()
    for x, y in FRONT_FIGURES:
        ox, oy = OBJECTIVES.get(x), OBJECTIVES.get(y)
        info = plots.front_info(trials, plots.Axis.of(ox), plots.Axis.of(oy), split_order=resolved.profile.names,
                                split_column="split", study_front=study_front)
        if len(info.x):
            plots.draw_front(info, resolved.output / figure_name(x, y),
                             f"{resolved.study.name}: {oy.label} vs {ox.label}")
