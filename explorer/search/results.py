"""Writing a search's results: trials.csv, pareto.csv, pareto.json and the front figures
(each figure drawn from trials.csv's rows beside it)."""
from __future__ import annotations

import json

import pandas as pd

from explorer.analysis import plots
from explorer.search.objectives import FRONT_FIGURES, OBJECTIVES, figure_name
from explorer.search.trials import Front, front, load_trials
from explorer.studies.search import ResolvedSearch


def write_front(resolved: ResolvedSearch) -> tuple[pd.DataFrame, Front]:
    """The trials and their front, written to the study's results folder."""
    trials = load_trials(resolved)
    best = front(trials, resolved.objectives)
    out = resolved.output
    out.mkdir(parents=True, exist_ok=True)
    trials.to_csv(out / "trials.csv", index=False)
    best.trials.to_csv(out / "pareto.csv", index=False)
    (out / "pareto.json").write_text(json.dumps({
        "objectives": resolved.study.objectives, "hypervolume": best.hypervolume,
        "reference": best.reference, "front": [int(n) for n in best.trials["number"]]}, indent=2))
    complete = trials[trials["ok"]]
    if len(complete):
        complete = complete.assign(split_index=complete["split"].map(resolved.split_index), feasible=True)
        for x, y in FRONT_FIGURES:
            ox, oy = OBJECTIVES.get(x), OBJECTIVES.get(y)
            info = plots.front_info(complete, ox.field, oy.field, "split_index", x_label=ox.label, y_label=oy.label,
                                    maximise=tuple(o.field for o in (ox, oy) if o.direction == "maximize"))
            plots.draw_front(info, out / figure_name(x, y), f"{resolved.study.name}: {oy.label} vs {ox.label}",
                             colour_label="split point k")
    return trials, best
