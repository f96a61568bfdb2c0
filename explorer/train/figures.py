"""A retraining study's figures (explorer.studies.train.StudyFigure), drawn from candidates.csv
(and, over evaluated_state, channel_accuracy.csv).

Each figure is a `SeriesInfo` per series (what to draw, tested) and one drawing
(explorer.analysis.plots.draw_series); the PNG lies beside candidates.csv, the CSV it is drawn from.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, TypeVar

import numpy as np
import pandas as pd

from explorer.analysis.plots import SeriesInfo, draw_series
from explorer.studies.train import StudyFigure
from explorer.train.paper import matching, options_of, told_rows, with_device_totals, with_link_time
from splitbase.files import write_text

# How a plotted column is shown: (axis label with its unit, factor from the CSV's unit).
SHOWN = {
    "compression_ratio": ("compression ratio (raw float32 feature / bits sent)", 1.0),
    "accuracy": ("test accuracy (%)", 100.0),
    "accuracy_drop_points": ("accuracy drop against the base model (points)", 1.0),
    "payload_bits": ("bits sent per frame (kbit)", 1e-3),
    "head_macs": ("head MACs (M)", 1e-6),
    "device_macs": ("on-device MACs, head and encoder (M)", 1e-6),
    "head_params": ("head parameters (k)", 1e-3),
    "encoder_params": ("encoder parameters (k)", 1e-3),
    "device_params": ("on-device parameters, head and encoder (k)", 1e-3),
    "link_s": ("payload airtime on the link (ms)", 1e3),
    "evaluated_state": ("channel state at evaluation (PSNR in dB, or erasure probability)", 1.0),
}


def series_infos(figure: StudyFigure, candidates: pd.DataFrame, states: pd.DataFrame | None = None) -> list[SeriesInfo]:
    """Each series' points (x, y as shown, in the order of x) and their labels; series without a
    row yet (a study still running) are left out. Over `evaluated_state`, from `states`
    (channel_accuracy.csv): state_infos."""
    if figure.x == "evaluated_state":
        return state_infos(figure, candidates, states)
    infos, candidates = [], with_link_time(with_device_totals(candidates), figure.link)
    for series in figure.series:
        rows = candidates[matching(candidates, series.rows)].sort_values(figure.x, kind="stable")
        if rows.empty:
            continue
        labels = ([str(o.get(figure.point_label, "")) for o in options_of(rows)]
                  if figure.point_label else [""] * len(rows))
        infos.append(SeriesInfo(series.label, rows[figure.x].to_numpy(dtype=float) * SHOWN[figure.x][1],
                                rows[figure.y].to_numpy(dtype=float) * SHOWN[figure.y][1], labels, series.level))
    return infos


def state_infos(figure: StudyFigure, candidates: pd.DataFrame, states: pd.DataFrame | None) -> list[SeriesInfo]:
    """A line per candidate of each series through its accuracy (or its drop against its base
    model, points) at each evaluated channel state, its encoder told the actual state or, with
    the series' `told`, the group's told_state; labelled with the split where a series has
    several candidates."""
    if states is None or states.empty:
        return []
    told = told_rows(states)
    infos = []
    for series in figure.series:
        rows = candidates[matching(candidates, series.rows)]
        for _, row in rows.iterrows():
            points = states[(states["candidate_key"] == row["candidate_key"]) & (told == series.told)]
            points = points.sort_values("state", kind="stable")
            if points.empty:
                continue
            accuracy = points["accuracy"].to_numpy(dtype=float)
            y = 100 * (row["baseline_accuracy"] - accuracy) if figure.y == "accuracy_drop_points" else 100 * accuracy
            label = series.label if len(rows) == 1 else f"{series.label} ({row['split']})"
            infos.append(SeriesInfo(label, points["state"].to_numpy(dtype=float), y, [""] * len(points)))
    return infos


def _positive(arrays) -> bool:
    return all(bool(np.all(values > 0)) for values in arrays)


def write_figures(figures: list[StudyFigure], candidates: pd.DataFrame, out: Path,
                  states: pd.DataFrame | None = None) -> list[tuple[StudyFigure, Path]]:
    """Every figure with a row to draw, as out/<name>.png: (figure, path) of those written;
    `states`: channel_accuracy.csv, for figures over evaluated_state."""
    written = []
    for figure in figures:
        infos = series_infos(figure, candidates, states)
        if not infos:
            continue
        path = out / f"{figure.name}.png"
        draw_series(infos, path, figure.title, x_label=SHOWN[figure.x][0], y_label=SHOWN[figure.y][0],
                    log_x=figure.log_x and _positive(info.x for info in infos if not info.level),
                    log_y=figure.log_y and _positive(info.y for info in infos), lines=figure.lines)
        written.append((figure, path))
    return written


Figure = TypeVar("Figure")


def write_figure_tables(figures: list[Figure], table_of: Callable[[Figure], pd.DataFrame],
                        draw: Callable[[Figure, pd.DataFrame, Path], None],
                        out: Path) -> list[tuple[Figure, pd.DataFrame, Path]]:
    """Each figure's table as out/<name>.csv and its drawing as out/<name>.png (a figure whose
    table is empty left out): (figure, table, the PNG's path) of those written. The latency and
    channel figures, whose points are computed rather than read from candidates.csv."""
    written = []
    for figure in figures:
        table = table_of(figure)
        if table.empty:
            continue
        write_text(out / f"{figure.name}.csv", table.to_csv(index=False))
        path = out / f"{figure.name}.png"
        draw(figure, table, path)
        written.append((figure, table, path))
    return written
