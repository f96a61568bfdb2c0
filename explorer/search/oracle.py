"""Oracle mode, a benchmark mode: a search that reads each candidate's accuracy and price from a
tabular benchmark (`split-explorer tabulate`, results/tabular/<name>.csv) instead of retraining
it, so that samplers are compared in seconds on a CPU. Never the default: a study asks for it
with `search: {mode: oracle, table: results/tabular/<name>.csv}`.

A table row is keyed by explorer.search.space.candidate_key of the search's choice; its
`status` is trained, not_buildable or infeasible (then `reason` says why and the trial is
pruned), its numbers (test accuracy 0..1, train seconds, latency s, energy J, bits and MACs per
image) are recorded on the trial exactly as the table holds them. At the long budget (a
successive-halving rung 1, explorer.search.halving) the accuracy and train seconds come from
`accuracy_long` / `train_seconds_long`; the long factor from the table's provenance beside it
(`<name>.json`, written by tabulate).
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.search.space import SearchGrid
from splitbase import StudyError

COLUMNS = ("candidate_key", "split", "split_index", "sparsity", "compression_ratio", "method", "channel", "status",
           "reason", "accuracy", "train_seconds", "accuracy_long", "train_seconds_long", "baseline_accuracy",
           "sent_bits", "compression_ratio_achieved", "head_macs", "encoder_macs", "latency_s", "energy_j",
           "feasible", "seed")
# trial record field <- table column
RECORDED = {"accuracy": "accuracy", "baseline_accuracy": "baseline_accuracy", "train_wall_time_s": "train_seconds",
            "latency_s": "latency_s", "energy_j": "energy_j", "sent_bits": "sent_bits", "head_macs": "head_macs",
            "encoder_macs": "encoder_macs", "compression_ratio": "compression_ratio_achieved"}


@dataclass(frozen=True)
class Measured:
    """One candidate as the table measured it: `reason` why it was not trained ("" when it
    was), `attrs` the trial record's fields (explorer.search.record.write_table_row)."""

    reason: str
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy_drop_points(self) -> float:
        return self.attrs["accuracy_drop_points"]


def _number(text: str) -> float:
    return float(text) if text != "" else math.nan


@dataclass(frozen=True)
class OracleTable:
    """The table's rows by candidate key (every value as the CSV text holds it) and its long
    budget over the candidate budget (None when no provenance beside the table says it)."""

    path: Path
    rows: dict[str, dict[str, str]]
    long_factor: int | None = None

    def has_long(self, key: str) -> bool:
        """Whether the table holds the candidate's accuracy at the long budget."""
        return self.rows[key]["accuracy_long"] != ""

    def measured(self, key: str, *, long: bool = False) -> Measured:
        """The candidate's row as a trial records it; `long`: at the long budget (a candidate
        without a long value is refused with its reason)."""
        row = self.rows[key]
        if row["status"] != "trained":
            return Measured(row["reason"] or row["status"])
        if long and not self.has_long(key):
            return Measured(f"{self.path} has no long-budget value for this candidate")
        columns = {**RECORDED, "accuracy": "accuracy_long", "train_wall_time_s": "train_seconds_long"} if long \
            else RECORDED
        attrs: dict[str, Any] = {name: _number(row[column]) for name, column in columns.items()}
        attrs.update(throughput_fps=math.nan, feasible=row["feasible"] == "True", infeasible_reason="",
                     weights=None, accuracy_drop_points=100 * (attrs["baseline_accuracy"] - attrs["accuracy"]))
        return Measured("", attrs)

    def train_seconds(self, key: str, *, long: bool = False) -> float:
        """Wall seconds of the candidate's retraining at the study's candidate budget (`long`:
        at the long budget; 0 when it was not trained, NaN when it has no long value)."""
        row = self.rows[key]
        return _number(row["train_seconds_long" if long else "train_seconds"]) if row["status"] == "trained" else 0.0


def load_table(path: str | Path, grid: SearchGrid) -> OracleTable:
    """The table at `path`, refused (StudyError naming search.table) unless it has every
    column and a row for every candidate of `grid`."""
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"search.table: {path} does not exist (write it with `split-explorer tabulate`)")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing_columns = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing_columns:
            raise StudyError(f"search.table: {path} lacks the columns {', '.join(missing_columns)}")
        rows = {row["candidate_key"]: row for row in reader}
    missing = [row for row, key in enumerate(grid.keys) if key not in rows]
    if missing:
        raise StudyError(f"search.table: {path} does not cover the space: {len(missing)} of {len(grid)} candidates "
                         f"missing (first: {grid.choice(missing[0])}); tabulate this study's space")
    provenance = path.with_suffix(".json")
    long_factor = json.loads(provenance.read_text()).get("long_factor") if provenance.is_file() else None
    return OracleTable(path, rows, long_factor)
