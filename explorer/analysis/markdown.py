"""Markdown for the reports: one table writer and one number format."""
from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd


def fmt(value: Any) -> str:
    """Three significant digits for reports (strings as they are)."""
    if isinstance(value, str):
        return value
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    return f"{value:.3g}"


def cell(value: Any, scale: float = 1.0) -> str:
    """A table cell: empty for a missing value; a float (or a scaled number) to 4 significant
    digits, times `scale`; an integer as it is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) and scale == 1.0:
        return str(value)
    return f"{value * scale:.4g}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(row) + " |" for row in rows)]


def frame_table(frame: pd.DataFrame) -> list[str]:
    """A data frame as a Markdown table, every cell through `cell`."""
    return table(list(frame.columns), [[cell(v) for v in row] for row in frame.itertuples(index=False)])
