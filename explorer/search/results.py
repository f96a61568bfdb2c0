"""Writing a search's results: trials.csv, pareto.csv, pareto.json and the front figures
(each figure drawn from trials.csv's rows beside it)."""
from __future__ import annotations

import json

import pandas as pd

from explorer.analysis import plots
from explorer.search.objectives import FRONT_FIGURES, OBJECTIVES, figure_name
from explorer.search.summary import GridSummary, grid_summary
from explorer.search.trials import Front, front, load_trials
from explorer.studies.search import SearchFile
from splitbase.files import write_text


def write_front(file: SearchFile) -> tuple[pd.DataFrame, Front, GridSummary]:
    """The trials, their front and the study's grid summary (explorer.search.summary), the
    first two written to the study's results folder; StudyError, nothing written, when the
    study was never run."""
    trials = load_trials(file)
    best = front(trials, file.objectives)
    summary = grid_summary(file)
    out = file.output
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "trials.csv", trials.to_csv(index=False))
    write_text(out / "pareto.csv", best.trials.to_csv(index=False))
    write_text(out / "pareto.json", json.dumps({
        "objectives": file.study.objectives, "hypervolume": best.hypervolume,
        "reference": best.reference, "front": [int(n) for n in best.trials["number"]]}, indent=2))
    _draw_fronts(file, summary, trials, best)
    return trials, best, summary


def _draw_fronts(file: SearchFile, summary: GridSummary, trials: pd.DataFrame, best: Front) -> None:
    """FRONT_FIGURES over every trial with both values: feasible (complete, every constraint met)
    filled, the others hollow, the study's all-objective front ringed, colour the split point
    (the space's, in depth order)."""
    study_front = trials["number"].isin(best.trials["number"]).to_numpy()
    for x, y in FRONT_FIGURES:
        ox, oy = OBJECTIVES.get(x), OBJECTIVES.get(y)
        info = plots.front_info(trials, plots.Axis.of(ox), plots.Axis.of(oy), split_order=summary.splits,
                                split_column="split", study_front=study_front)
        if len(info.x):
            plots.draw_front(info, file.output / figure_name(x, y),
                             f"{file.study.name}: {oy.label} vs {ox.label}")
