"""Analytic sweeps: evaluate a resolved study's grid, find its scenarios and best splits, and
set our numbers beside the paper's (`sweep_results` writes them out)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.cost.price import evaluate
from explorer.studies.common import split_index
from explorer.studies.sweep import PaperNumber, ResolvedSweep, Scenario
from splitbase import StudyError


def run_sweep(resolved: ResolvedSweep) -> pd.DataFrame:
    """Every design point priced on every hardware combination."""
    return evaluate(resolved.profile, resolved.points, resolved.hardware)


@dataclass(frozen=True)
class Comparison:
    what: str
    paper: float | str
    ours: float | str
    tolerance: float

    @property
    def agrees(self) -> bool:
        if isinstance(self.paper, str) or isinstance(self.ours, str):
            return self.paper == self.ours
        return abs(self.ours / self.paper - 1) <= self.tolerance


def scenario_row(sweep: pd.DataFrame, resolved: ResolvedSweep, scenario: Scenario) -> pd.Series:
    split = split_index(resolved.profile.names, scenario.split, "scenario.split")
    hardware = resolved.hardware[0]
    rows = sweep[(sweep["split"] == split) & (sweep["codec"] == scenario.codec)
                 & np.isclose(sweep["sparsity"], scenario.sparsity)
                 & (sweep["device"] == (scenario.device or hardware.device_name))
                 & (sweep["link"] == (scenario.link or hardware.link_name))
                 & (sweep["server"] == hardware.server_name)]
    if rows.empty:
        raise StudyError(f"scenario {scenario}: no such point in the grid")
    return rows.iloc[0]


def _metric(row: pd.Series, metric: str) -> float:
    """Larger is better: frames/s, frames/J, 1/latency."""
    return {"throughput": row["throughput_fps"], "energy": 1.0 / row["energy_j"],
            "latency": 1.0 / row["latency_s"]}[metric]


def best_split(sweep: pd.DataFrame, resolved: ResolvedSweep, *, metric: str,
               codecs: list[str], link: str | None = None) -> str:
    """The unit to cut after that maximises `metric` on the first device/server and `link`."""
    hardware = resolved.hardware[0]
    rows = sweep[(sweep["device"] == hardware.device_name) & (sweep["server"] == hardware.server_name)
                 & (sweep["link"] == (link or hardware.link_name)) & sweep["feasible"]
                 & (sweep["sparsity"] == sweep["sparsity"].min())]
    if codecs:
        rows = rows[rows["codec"].isin(codecs)]
    scores = rows.apply(lambda row: _metric(row, metric), axis=1)
    return str(rows.loc[scores.idxmax(), "split_name"])


def compare(sweep: pd.DataFrame, resolved: ResolvedSweep, numbers: list[PaperNumber]) -> list[Comparison]:
    study = resolved.study
    found = []
    for number in numbers:
        if number.kind == "ratio":
            point = scenario_row(sweep, resolved, study.scenarios[number.point])
            base = scenario_row(sweep, resolved, study.scenarios[number.baseline])
            ours: float | str = _metric(point, number.metric) / _metric(base, number.metric)
        else:
            ours = best_split(sweep, resolved, metric=number.metric, codecs=number.codec,
                              link=number.link)
        found.append(Comparison(number.what, number.value, ours, number.tolerance))
    return found
