"""The provenance JSON beside a table (`<name>.json`), kept over the several calls that fill it.

Each write holds explorer.analysis.provenance's record of this call (command, commit, date,
machine, versions), the resolved study, the budgets, and `calls`: one entry per call so far
(its command, commit, date, machine, wall seconds, candidates trained); `wall_time_s` is summed
over the calls and `machines` lists each machine once. A table is continued only by a call of
the same study, candidate budget, long factor and long subset (`IDENTITY`), else the rows of two
budgets would mix.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from explorer.analysis.provenance import Provenance, earlier_calls, write_calls
from explorer.studies.search import ResolvedSearch
from explorer.tabular.grid import budget, long_config
from splitbase import StudyError

IDENTITY = ("study_name", "candidate_training", "long_factor", "long_subset")


def _json(value: Any) -> Any:
    """`value` as it reads back from JSON (tuples as lists, other objects as text)."""
    return json.loads(json.dumps(value, default=str))


class TableProvenance:
    """Start it before a call's work; `write()` after each candidate and at the end."""

    def __init__(self, path: Path, resolved: ResolvedSearch, *, long_factor: int, long_count: int) -> None:
        self.path = path
        config = resolved.training
        self.fields = _json({
            "study_name": resolved.study.name, "study_file": str(resolved.path),
            "study": dataclasses.asdict(resolved.study),
            "candidate_training": config.math_fields(), "candidate_budget": budget(config),
            "long_budget": budget(long_config(config, long_factor)), "long_factor": long_factor,
            "long_subset": {"seed": resolved.study.search.seed, "size": long_count},
        })
        self.previous = self._previous()
        self.trained = {"short": 0, "long": 0}
        self.provenance = Provenance(seed=config.seed)

    def _previous(self) -> list[dict[str, Any]]:
        """The calls recorded so far; StudyError when they made the table with other settings."""
        before, calls = earlier_calls(self.path)
        changed = [name for name in IDENTITY if before and before.get(name) != self.fields[name]]
        if changed:
            raise StudyError(f"{self.path}: the table was made with another {', '.join(changed)} "
                             f"({before.get(changed[0])!r}); give another --output")
        return calls

    def write(self) -> Path:
        return write_calls(self.path, self.provenance, self.previous, this_call={"trained": dict(self.trained)},
                           fields=self.fields)
