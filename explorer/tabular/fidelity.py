"""Rank fidelity of a table's short budget against its long one, on the rows with both.

Kendall's tau (scipy.stats.kendalltau, tau-b) between the accuracies at the two budgets, and the
share of the long budget's Pareto front (accuracy maximised, latency and energy minimised, the
objectives of explorer.search.objectives; explorer.analysis.pareto) that the short budget's front
holds too. Latency and energy are the row's, priced once as trained at the short budget.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from explorer.analysis.markdown import table
from explorer.analysis.pareto import non_dominated
from explorer.search.objectives import OBJECTIVES
from explorer.tabular.table import COLUMNS, TRAINED
from splitbase import DataError

FRONT = ("accuracy", "latency", "energy")


@dataclass(frozen=True)
class Fidelity:
    """rows: rows with both budgets; tau and p_value: Kendall's tau-b of their accuracies and its
    two-sided p-value; long_front / short_front: the candidate keys on each budget's front."""

    rows: int
    tau: float
    p_value: float
    long_front: tuple[str, ...]
    short_front: tuple[str, ...]

    @property
    def found(self) -> int:
        return len(set(self.long_front) & set(self.short_front))

    @property
    def front_share(self) -> float:
        """Share (0..1) of the long budget's front on the short budget's front."""
        return self.found / len(self.long_front) if self.long_front else math.nan


def read_table(path: Path) -> pd.DataFrame:
    """A table file; DataError when it is missing or not of the tabular format."""
    if not path.is_file():
        raise DataError(f"{path}: no such table (run `split-explorer tabulate STUDY.yaml` first)")
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"candidate_key": str})
    if tuple(frame.columns) != COLUMNS:
        raise DataError(f"{path}: not a tabular benchmark file (its columns are not {', '.join(COLUMNS)})")
    return frame


def _front(rows: pd.DataFrame, accuracy: str) -> tuple[str, ...]:
    objectives = [OBJECTIVES.get(name) for name in FRONT]
    columns = [accuracy if o.name == "accuracy" else o.field for o in objectives]
    values = rows[columns].to_numpy(dtype=float) * np.array([o.sign for o in objectives])
    return tuple(rows["candidate_key"][non_dominated(values)])


def rank_fidelity(frame: pd.DataFrame) -> Fidelity:
    """The fidelity of a table's short budget (module docstring); DataError with fewer than two
    rows trained at both budgets."""
    both = frame[(frame["status"] == TRAINED) & frame["accuracy"].notna() & frame["accuracy_long"].notna()]
    if len(both) < 2:
        raise DataError(f"rank fidelity needs at least 2 rows trained at both budgets, the table has {len(both)}")
    tau, p_value = kendalltau(both["accuracy"], both["accuracy_long"])
    return Fidelity(len(both), float(tau), float(p_value), _front(both, "accuracy_long"), _front(both, "accuracy"))


def fidelity_markdown(fidelity: Fidelity, path: Path) -> str:
    """The fidelity of table `path` as a short Markdown report."""
    rows = [["rows trained at both budgets", str(fidelity.rows)],
            ["Kendall tau of accuracy (short vs long)", f"{fidelity.tau:.3f} (p = {fidelity.p_value:.2g})"],
            ["candidates on the long budget's front (accuracy, latency, energy)", str(len(fidelity.long_front))],
            ["candidates on the short budget's front", str(len(fidelity.short_front))],
            ["long front found by the short front", f"{fidelity.found} of {len(fidelity.long_front)} "
                                                     f"({100 * fidelity.front_share:.0f} %)"]]
    return "\n".join([f"# Rank fidelity of the short budget: {path.name}", "",
                      *table(["measure", "value"], rows), ""])
