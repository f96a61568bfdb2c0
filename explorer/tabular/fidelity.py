"""Rank fidelity of a table's short budget against its long one, on the rows with both.

Kendall's tau (scipy.stats.kendalltau, tau-b) between the accuracies at the two budgets, and the
share of the long budget's Pareto front (accuracy maximised, latency and energy minimised, the
objectives of explorer.search.objectives; explorer.analysis.pareto) that the short budget's front
holds too. Latency and energy are the row's, priced once as trained at the short budget.

A base model shifts every accuracy it trains, so rows are compared within strata: the rows whose
short and long trainings started from the same two base models (by weights digest, or by the
base model's accuracy for rows trained before digests were recorded). A table of several strata
also gets the pooled figure, which mixes them.
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
    """bases: the rows' base models ("short -> long"; POOLED for all rows together); rows: rows
    with both budgets; tau and p_value: Kendall's tau-b of their accuracies and its two-sided
    p-value; long_front / short_front: the candidate keys on each budget's front."""

    bases: str
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


POOLED = "all rows pooled"


def _base(row: pd.Series, digest: str, accuracy: str) -> str:
    if isinstance(row[digest], str):
        return row[digest]
    return f"accuracy {row[accuracy]:.4f}" if pd.notna(row[accuracy]) else "unknown"


def _fidelity(rows: pd.DataFrame, bases: str) -> Fidelity:
    tau, p_value = kendalltau(rows["accuracy"], rows["accuracy_long"])
    return Fidelity(bases, len(rows), float(tau), float(p_value), _front(rows, "accuracy_long"), _front(rows, "accuracy"))


def rank_fidelity(frame: pd.DataFrame) -> list[Fidelity]:
    """The fidelity of a table's short budget (module docstring): one per stratum of at least two
    rows, largest first, then the pooled one when there are several strata; DataError with fewer
    than two rows trained at both budgets."""
    both = frame[(frame["status"] == TRAINED) & frame["accuracy"].notna() & frame["accuracy_long"].notna()]
    if len(both) < 2:
        raise DataError(f"rank fidelity needs at least 2 rows trained at both budgets, the table has {len(both)}")
    strata = both.apply(lambda row: f"{_base(row, 'baseline_digest', 'baseline_accuracy')} -> "
                                    f"{_base(row, 'baseline_digest_long', 'baseline_accuracy_long')}", axis=1)
    found = [_fidelity(both[strata == bases], bases) for bases, n in strata.value_counts().items() if n >= 2]
    return found + [_fidelity(both, POOLED)] if strata.nunique() > 1 else found


def fidelity_markdown(fidelities: list[Fidelity], path: Path) -> str:
    """The fidelity of table `path` as a short Markdown report."""
    rows = [[f.bases, str(f.rows), f"{f.tau:.3f} (p = {f.p_value:.2g})", str(len(f.long_front)),
             str(len(f.short_front)), f"{f.found} of {len(f.long_front)} ({100 * f.front_share:.0f} %)"]
            for f in fidelities]
    header = ["base models (short -> long)", "rows trained at both budgets", "Kendall tau of accuracy (short vs long)",
              "long budget's front (accuracy, latency, energy)", "short budget's front", "long front found by the short"]
    note = ([] if len(fidelities) == 1 else
            ["", "The rows were trained from several base models. A base model shifts every accuracy it trains, so each "
                 f"stratum is measured on its own; the last line ({POOLED}) mixes them."])
    return "\n".join([f"# Rank fidelity of the short budget: {path.name}", "",
                      *table(header, rows), *note, ""])
