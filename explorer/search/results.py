"""Writing a search's results: trials.csv, pareto.csv and pareto.json (`write_front`), then the
front figures (`draw_fronts`, each drawn from trials.csv's rows beside it). Two steps, so that a
verb can print the front before matplotlib is imported and the figures drawn (about half of
pareto's time). A figure newer than trials.csv and pareto.csv is current and not drawn again:
they are rewritten only when their rows change, so `report` after `pareto` (or a second
`pareto`) skips the drawing; delete a figure to have it drawn anew."""
from __future__ import annotations

import json

import pandas as pd

from explorer.analysis import plots
from explorer.search.objectives import FRONT_FIGURES, OBJECTIVES, figure_name
from explorer.search.summary import GridSummary, grid_summary
from explorer.search.trials import Front, front, load_trials
from explorer.studies.search import SearchFile
from splitbase.files import update_text, write_text


def write_front(file: SearchFile) -> tuple[pd.DataFrame, Front, GridSummary]:
    """The trials, their front and the study's grid summary (explorer.search.summary), the
    first two written to the study's results folder (not the figures: `draw_fronts`);
    StudyError, nothing written, when the study was never run."""
    trials = load_trials(file)
    best = front(trials, file.objectives)
    summary = grid_summary(file)
    out = file.output
    out.mkdir(parents=True, exist_ok=True)
    update_text(out / "trials.csv", trials.to_csv(index=False))
    update_text(out / "pareto.csv", best.trials.to_csv(index=False))
    write_text(out / "pareto.json", json.dumps({
        "objectives": file.study.objectives, "hypervolume": best.hypervolume,
        "reference": best.reference, "front": [int(n) for n in best.trials["number"]]}, indent=2))
    return trials, best, summary


def draw_fronts(file: SearchFile, trials: pd.DataFrame, best: Front, summary: GridSummary) -> None:
    """FRONT_FIGURES of write_front's results, written to the study's results folder, over every
    trial with both values: feasible (complete, every constraint met) filled, the others hollow,
    the study's all-objective front ringed, colour the split point (the space's, in depth order)."""
    study_front = trials["number"].isin(best.trials["number"]).to_numpy()
    drawn_from = max((file.output / name).stat().st_mtime_ns for name in ("trials.csv", "pareto.csv"))
    for x, y in FRONT_FIGURES:
        path = file.output / figure_name(x, y)
        if path.is_file() and path.stat().st_mtime_ns > drawn_from:
            continue
        ox, oy = OBJECTIVES.get(x), OBJECTIVES.get(y)
        info = plots.front_info(trials, plots.Axis.of(ox), plots.Axis.of(oy), split_order=summary.splits,
                                split_column="split", study_front=study_front)
        if len(info.x):
            plots.draw_front(info, path, f"{file.study.name}: {oy.label} vs {ox.label}")
