"""Long runs that resume: result rows kept by key, and the time budget of one call.

A study that trains hundreds of candidates runs over several calls of a few minutes each (a GPU
lease gives 10 minutes a command). `ResultRows` is its CSV of finished rows: each row is written
the moment it ends (the whole file rewritten atomically, so a call killed at any moment keeps every
finished row and loses the one in flight), and the next call skips the keys it holds. Cells are
kept as the text they were written with, so rewriting the file never changes an earlier row.
`Deadline` tells a call whether the next piece of work still fits before its limit.
"""
from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from splitbase import DataError
from splitbase.files import write_csv


def cell(value: Any) -> str:
    """A value as the CSV holds it: empty for None, Python's text otherwise."""
    return "" if value is None else str(value)


class ResultRows:
    """The rows of a CSV by the value of its column `key`, with exactly `columns` in that order.

    `order`, when given, is the order rows are written in (keys not in it follow, in the order
    they came); an existing file with other columns is refused (DataError), never overwritten.
    `added`: columns of `columns` that a file written before them may lack (the others in the same
    order); its rows are read with those cells empty, named in `lacking`, for the caller to fill.
    """

    def __init__(self, path: str | Path, key: str, columns: Sequence[str], *, order: Sequence[str] = (),
                 added: Sequence[str] = ()) -> None:
        self.path, self.key, self.columns = Path(path), key, tuple(columns)
        self.order = {k: i for i, k in enumerate(order)}
        self.lacking: tuple[str, ...] = ()
        self.rows: dict[str, dict[str, str]] = self._read(set(added)) if self.path.is_file() else {}

    def _read(self, added: set[str]) -> dict[str, dict[str, str]]:
        with open(self.path, newline="") as f:
            reader = csv.DictReader(f)
            found = tuple(reader.fieldnames or ())
            self.lacking = tuple(name for name in self.columns if name not in found)
            if found != tuple(name for name in self.columns if name in found) or not set(self.lacking) <= added:
                raise DataError(f"{self.path}: not written by this version (its columns are not "
                                f"{', '.join(self.columns)}); move it away to start afresh")
            return {row[self.key]: {name: row.get(name, "") for name in self.columns} for row in reader}

    def __contains__(self, key: str) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def put(self, row: Mapping[str, Any]) -> None:
        """Add the row of row[key], or update the columns it gives; then rewrite the file."""
        key = cell(row[self.key])
        unknown = set(row) - set(self.columns)
        if unknown:
            raise ValueError(f"{self.path.name}: no columns {sorted(unknown)}")
        current = self.rows.get(key, dict.fromkeys(self.columns, ""))
        self.rows[key] = {**current, **{name: cell(value) for name, value in row.items()}}
        self.write()

    def keep(self, wanted: Callable[[dict[str, str]], Mapping[str, Any] | None]) -> None:
        """Pass every row through `wanted(row)`: the row to keep (it may be changed) or None to
        drop it; the file is rewritten when anything changed."""
        kept = {}
        for key, row in self.rows.items():
            new = wanted(dict(row))
            if new is not None:
                kept[key] = {name: cell(value) for name, value in new.items()}
        if kept != self.rows:
            self.rows = kept
            self.write()

    def column(self, name: str) -> list[float]:
        """A numeric column's non-empty cells."""
        return [float(row[name]) for row in self.rows.values() if row[name] != ""]

    def write(self) -> Path:
        ordered = sorted(self.rows, key=lambda k: self.order.get(k, len(self.order)))
        return write_csv(self.path, self.columns, (self.rows[key] for key in ordered))


class Deadline:
    """The wall-clock budget of one call, in seconds from its start (None: no limit)."""

    def __init__(self, limit_s: float | None) -> None:
        self.limit_s, self.started = limit_s, time.monotonic()

    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def fits(self, durations_s: Sequence[float]) -> bool:
        """Whether one more piece of work, as long as the median of `durations_s` (those timed so
        far, by this call or earlier ones; none: no estimate), ends before the limit."""
        if self.limit_s is None:
            return True
        expected = statistics.median(durations_s) if durations_s else 0.0
        return self.elapsed_s() + expected <= self.limit_s
