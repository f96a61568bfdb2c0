"""The one table of search objectives: direction, trial record field, unit and labels of each.

The search (directions, values), the trial record and trials.csv (columns), pareto and its
figures, export's pick expressions and the report all read an objective's facts here. A new
objective is one `Objective` line in `_TABLE` (its value a TrialRecord field the search fills).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from splitbase import Registry, StudyError


@dataclass(frozen=True)
class Objective:
    """name: as a study names it; field: the TrialRecord field (and trials.csv column) holding it;
    direction: Optuna's; unit: the field's SI unit; label: what it is, in words; shown_scale and
    shown_unit: how reports and figures show it (latency in ms: 1e3, "ms"; the field's value times
    shown_scale is in shown_unit)."""

    name: str
    field: str
    direction: Literal["maximize", "minimize"]
    unit: str
    label: str
    shown_scale: float = 1.0
    shown_unit: str = ""

    @property
    def sign(self) -> float:
        """-1 for a maximised objective, 1 for a minimised one: values x sign are all minimised."""
        return -1.0 if self.direction == "maximize" else 1.0

    @property
    def axis_label(self) -> str:
        """A figure's axis label: what it is and the unit it is shown in, e.g. "latency (ms)"."""
        return f"{self.label} ({self.shown_unit})" if self.shown_unit else self.label

    @property
    def heading(self) -> str:
        """A report column heading: the name and the unit it is shown in."""
        return f"{self.name} {self.shown_unit}".strip()


_TABLE = (
    Objective("accuracy", "accuracy", "maximize", "1", "test accuracy"),
    Objective("latency", "latency_s", "minimize", "s", "latency per frame", 1e3, "ms"),
    Objective("energy", "energy_j", "minimize", "J", "device energy per frame", 1e3, "mJ"),
    Objective("throughput", "throughput_fps", "maximize", "frames/s", "throughput", 1.0, "frames/s"),
)

OBJECTIVES: Registry[Objective] = Registry("objective", error=StudyError)
for _objective in _TABLE:
    OBJECTIVES.add(_objective.name, _objective)

# The fronts every search draws (x, y); a figure's file name comes from `figure_name`.
FRONT_FIGURES = (("latency", "accuracy"), ("energy", "accuracy"), ("latency", "energy"))


def figure_name(x: str, y: str) -> str:
    """The file of the front figure of objective y against objective x."""
    return f"front_{y}_{x}.png"
