"""results/<study>/search.json: what the readers of a search need of its grid that only the
model can tell (the space's split points in depth order; how many points the analytic pre-filter
took out, and why), so that `pareto` and `report` read a finished study without torch.

`search` writes it (`write_summary`) for the study file whose sha256 it holds. A reader
(`grid_summary`) takes it while the study file is that file byte for byte; otherwise (the file
edited since, a study searched before this record existed, a record it cannot read) the study is
resolved with its model as `search` resolves it (torch), and the record is written again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from splitbase import StudyError
from splitbase.files import write_text
from splitbase.schema import parse

if TYPE_CHECKING:
    from explorer.search.space import SearchGrid
    from explorer.studies.search import SearchFile

SUMMARY_FILE = "search.json"


@dataclass(frozen=True)
class GridSummary:
    """study_sha256: of the study file's bytes; splits: the space's split points as the study
    names them (unit names or indices) in depth order; points: the grid's candidates; allowed:
    those the analytic pre-filter kept; excluded: the points it took out, by reason (not
    buildable, or the broken limit: memory, latency, energy, throughput), most first."""

    study_sha256: str
    splits: list[str | int]
    points: int
    allowed: int
    excluded: dict[str, int]

    @classmethod
    def of(cls, file: SearchFile, grid: SearchGrid) -> GridSummary:
        return cls(file_sha256(file.path), list(grid.values["split"]), len(grid), int(grid.allowed.sum()),
                   dict(grid.excluded().most_common()))


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_summary(file: SearchFile, grid: SearchGrid) -> Path:
    """search.json of `grid`, the grid of the study read from `file`."""
    return write_text(file.output / SUMMARY_FILE, json.dumps(asdict(GridSummary.of(file, grid)), indent=2) + "\n")


def grid_summary(file: SearchFile) -> GridSummary:
    """The grid summary of the study read from `file`: its search.json while that was written
    for this study file, else the grid of the study resolved anew (the model: torch), whose
    search.json is then written again."""
    recorded = _read(file.output / SUMMARY_FILE)
    if recorded is not None and recorded.study_sha256 == file_sha256(file.path):
        return recorded
    from explorer.search.space import search_grid
    from explorer.studies.search import resolve_search

    resolved = resolve_search(file.path, storage=file.storage)
    grid = search_grid(resolved)
    write_summary(resolved, grid)
    return GridSummary.of(resolved, grid)


def _read(path: Path) -> GridSummary | None:
    """The summary in `path`; None when there is none, or none this module wrote (not JSON, or
    other fields): a record that is written again."""
    try:
        return parse(GridSummary, json.loads(path.read_text()), str(path))
    except (OSError, ValueError, StudyError):
        return None
