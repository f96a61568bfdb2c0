"""Figures. Each is two steps: an `*_info` function computes a small record of what to draw
(tested), a `draw_*` function draws it and returns the figure (its labels and legends tested, not
its pixels). Every figure is drawn from a CSV written beside it, so a number in a figure can be
looked up; figures show the units the reports show (ms, mJ, kbit).

matplotlib is imported by the drawing functions only: the `*_info` functions and the modules
that import this one start without it. The figures are matplotlib `Figure`s on an Agg canvas, not
pyplot's (its registry of open figures is nothing a file needs), each rendered once (`_save`).
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from explorer.analysis.pareto import non_dominated
from splitbase.files import write_atomic

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from explorer.search.objectives import Objective


def _figure(figsize: tuple[float, float], rows: int = 1, *, sharex: bool = False) -> tuple[Figure, Axes | np.ndarray]:
    """A figure `figsize` inches large and its axes, `rows` stacked ones (one Axes, or an array of
    them). Built without pyplot, which a file-only figure does not need; the Agg canvas is
    attached here so that the layout and the saved PNG use one renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(rows, 1, sharex=sharex)


def _save(fig: Figure, path: Path, title: str) -> Figure:
    """`fig` titled (a long title wrapped to the figure's width) and written to `path` (format from
    its suffix, 120 dpi), rendered once."""
    fig.suptitle(textwrap.fill(title, width=int(12 * fig.get_figwidth())), fontsize=10)
    fig.tight_layout()
    # tight_layout leaves a placeholder layout engine, and savefig draws a figure that has one
    # once more before rendering it; the layout is fixed now, so drop the engine
    fig.set_layout_engine(None)
    path = Path(path)
    write_atomic(path, lambda f: fig.savefig(f, dpi=120, format=path.suffix.lstrip(".")))
    return fig


@dataclass(frozen=True)
class ProfileInfo:
    """Ko et al. 2018 Fig. 3: cumulative compute and memory traffic, and feature size, per split
    point. Units: GMAC, MB, kbit (the bits a split sends, as the reports give them)."""

    names: list[str]
    cumulative_gmacs: np.ndarray
    cumulative_traffic_mb: np.ndarray
    feature_kbit: np.ndarray


def profile_info(profile_table: pd.DataFrame) -> ProfileInfo:
    traffic = np.cumsum(profile_table["unit_weight_bytes"] + profile_table["activation_bytes"])
    return ProfileInfo(list(profile_table["name"]), profile_table["head_macs"].to_numpy() / 1e9,
                       traffic.to_numpy() / 1e6, 8 * profile_table["feature_bytes"].to_numpy() / 1e3)


def draw_profile(info: ProfileInfo, path: Path, title: str) -> Figure:
    x = np.arange(len(info.names))
    fig, (top, bottom) = _figure((max(6, 0.35 * len(x)), 6), 2, sharex=True)
    top.plot(x, info.cumulative_gmacs, "o-", label="cumulative compute (GMAC)")
    top.set_ylabel("GMAC")
    twin = top.twinx()
    twin.plot(x, info.cumulative_traffic_mb, "s--", color="tab:red",
              label="cumulative memory traffic (MB)")
    twin.set_ylabel("MB")
    top.legend(loc="upper left")
    twin.legend(loc="lower right")
    bottom.bar(x, info.feature_kbit, label="feature sent at the split (kbit)")
    bottom.set_ylabel("kbit")
    bottom.legend(loc="upper right")
    bottom.set_xticks(x, info.names, rotation=90)
    return _save(fig, path, title)


@dataclass(frozen=True)
class SplitCurvesInfo:
    """Throughput and energy efficiency per split point, one curve per codec."""

    names: list[str]
    curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # codec -> (x, fps, frames/J)


def split_curves_info(sweep: pd.DataFrame, names: list[str]) -> SplitCurvesInfo:
    first = sweep[(sweep["device"] == sweep["device"].iloc[0]) & (sweep["link"] == sweep["link"].iloc[0])
                  & (sweep["server"] == sweep["server"].iloc[0]) & (sweep["sparsity"] == sweep["sparsity"].min())]
    curves = {}
    for label, rows in first.groupby(["codec", "codec_ratio"], sort=False):
        rows = rows.sort_values("split")
        key = f"{label[0]} {label[1]:g}x" if label[1] != 1 else label[0]
        curves[key] = (rows["split"].to_numpy() + 1, rows["throughput_fps"].to_numpy(),
                       1.0 / rows["energy_j"].to_numpy())
    return SplitCurvesInfo(names, curves)


def draw_split_curves(info: SplitCurvesInfo, path: Path, title: str) -> Figure:
    x = np.arange(len(info.names))
    fig, (top, bottom) = _figure((max(6, 0.35 * len(x)), 6), 2, sharex=True)
    for label, (xs, fps, frames_per_j) in info.curves.items():
        style = "o-" if len(xs) > 1 else "*"
        top.plot(xs, fps, style, label=label, markersize=10 if len(xs) == 1 else 5)
        bottom.plot(xs, frames_per_j, style, label=label, markersize=10 if len(xs) == 1 else 5)
    top.set_ylabel("throughput (frames/s)")
    bottom.set_ylabel("energy efficiency (frames/J)")
    for axis in (top, bottom):
        axis.set_yscale("log")
        axis.grid(True, alpha=0.3)
    top.legend(fontsize=8)
    bottom.set_xticks(x, info.names, rotation=90)
    return _save(fig, path, title)


@dataclass(frozen=True)
class Axis:
    """One axis of a front figure: the frame's column (SI units), its label with the unit shown,
    the factor from the column's unit to the one shown (1e3: seconds -> ms), and whether larger
    is better."""

    column: str
    label: str
    scale: float = 1.0
    maximise: bool = False

    @classmethod
    def of(cls, objective: Objective) -> Axis:
        """The axis of a search objective, in the unit the reports show it in."""
        return cls(objective.field, objective.axis_label, objective.shown_scale, objective.direction == "maximize")


MARKERS = "os^DvP*X<>"  # one per series of a front figure


@dataclass(frozen=True)
class FrontInfo:
    """The points of a front figure, in the units shown.

    colour: each point's split as an index into split_names (the splits present, in model
    order). feasible: meets every constraint (the others are drawn hollow). on_front: on the
    Pareto front of the figure's two objectives among the feasible points. on_study_front: on
    the study's own front over all its objectives (the one its report lists). series: each
    point's series (e.g. the link mode) as an index into series_names, one marker shape each;
    series_label: what the series are (the frame's column, e.g. "link").
    """

    x_label: str
    y_label: str
    x: np.ndarray
    y: np.ndarray
    colour: np.ndarray
    split_names: list[str]
    feasible: np.ndarray
    on_front: np.ndarray
    on_study_front: np.ndarray
    series: np.ndarray
    series_names: list[str]
    series_label: str = ""


def front_info(frame: pd.DataFrame, x: Axis, y: Axis, *, split_order: Sequence[str], split_column: str,
               series_column: str | None = None, study_front: Sequence[bool] | None = None) -> FrontInfo:
    """The front figure of `frame`'s rows with both values finite. split_order: every split name in
    model order; split_column: the rows' split names; a `feasible` column, when there, marks the
    rows meeting the constraints (else all do); study_front: per row of `frame`, on the study's front."""
    values = frame[[x.column, y.column]].to_numpy(dtype=float)
    kept = np.all(np.isfinite(values), axis=1)
    rows = frame[kept]
    feasible = rows["feasible"].fillna(False).to_numpy(dtype=bool) if "feasible" in rows else np.ones(len(rows), bool)
    signs = np.array([-1.0 if axis.maximise else 1.0 for axis in (x, y)])
    on_front = np.zeros(len(rows), dtype=bool)
    on_front[feasible] = non_dominated(values[kept][feasible] * signs)
    present = set(rows[split_column])
    split_names = [name for name in split_order if name in present]
    series = rows[series_column].astype(str).to_numpy() if series_column else np.full(len(rows), "")
    series_names = list(dict.fromkeys(series))
    if len(series_names) > len(MARKERS):  # more than the markers can tell apart: one series
        series_names = [f"any of {len(series_names)} (see the CSV)"]
        series = np.full(len(rows), series_names[0], dtype=object)
    study = np.zeros(len(rows), bool) if study_front is None else np.asarray(study_front, dtype=bool)[kept]
    return FrontInfo(x.label, y.label, values[kept, 0] * x.scale, values[kept, 1] * y.scale,
                     np.array([split_names.index(s) for s in rows[split_column]], dtype=int), split_names,
                     feasible, on_front, study, np.array([series_names.index(s) for s in series], dtype=int),
                     series_names, series_column or "")


def draw_front(info: FrontInfo, path: Path, title: str) -> Figure:
    """Feasible points filled, coloured by split (a discrete scale named by unit), one marker per
    series; infeasible ones hollow; the study's front ringed black; the figure's own two-objective
    front a red staircase with a cross on each of its points."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm

    fig, axis = _figure((7.5, 5))
    n = max(len(info.split_names), 1)
    cmap = colormaps["viridis"].resampled(n)
    norm = BoundaryNorm(np.arange(n + 1) - 0.5, n)
    for s, name in enumerate(info.series_names):
        marker, mine = MARKERS[s % len(MARKERS)], info.series == s
        shown = mine & info.feasible
        axis.scatter(info.x[shown], info.y[shown], c=info.colour[shown], cmap=cmap, norm=norm, s=28, marker=marker,
                     alpha=0.8, label=f"{info.series_label}: {name}" if name else "feasible (colour: split point)")
        off = mine & ~info.feasible
        if off.any():
            axis.scatter(info.x[off], info.y[off], s=22, marker=marker, facecolors="none",
                         edgecolors=cmap(norm(info.colour[off])),
                         label=f"infeasible{', ' + name if name else ''} (hollow: a constraint fails)")
    if info.on_study_front.any():
        ring = info.on_study_front
        axis.scatter(info.x[ring], info.y[ring], s=90, facecolors="none", edgecolors="black", linewidths=1.2,
                     label="on the study's Pareto front (all objectives)")
    order = np.argsort(info.x[info.on_front], kind="stable")
    axis.step(info.x[info.on_front][order], info.y[info.on_front][order], "r-", where="post", linewidth=1,
              marker="x", markersize=5, label="Pareto front of these two objectives")
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axis,
                       label="split point (last unit on the device)")
    bar.set_ticks(np.arange(len(info.split_names)), labels=info.split_names)
    for data, setter in ((info.x, axis.set_xscale), (info.y, axis.set_yscale)):
        if len(data) and np.nanmin(data) > 0 and np.nanmax(data) / np.nanmin(data) > 100:
            setter("log")
    axis.set_xlabel(info.x_label)
    axis.set_ylabel(info.y_label)
    axis.legend(fontsize=7)
    axis.grid(True, alpha=0.3)
    return _save(fig, path, title)


@dataclass(frozen=True)
class SeriesInfo:
    """One line of a series figure: its label, the points (x, y as shown) in the order drawn,
    and a label per point ("" for none); a `level` is drawn as a dashed horizontal line at each y,
    its x not drawn (a reference, such as the size of the input image)."""

    label: str
    x: np.ndarray
    y: np.ndarray
    point_labels: list[str]
    level: bool = False


def draw_series(infos: Sequence[SeriesInfo], path: Path, title: str, *, x_label: str, y_label: str,
                log_x: bool = True, log_y: bool = False, lines: bool = True) -> Figure:
    """Each series a line with markers (markers alone without `lines`), each point's label written
    beside it; a level series a dashed horizontal line."""
    fig, axis = _figure((7.5, 5))
    for s, info in enumerate(infos):
        if info.level:
            for i, y in enumerate(info.y):
                axis.axhline(y, linestyle="--", color="grey", label=info.label if i == 0 else None)
            continue
        axis.plot(info.x, info.y, marker=MARKERS[s % len(MARKERS)], linestyle="-" if lines else "none",
                  label=info.label)
        for x, y, text in zip(info.x, info.y, info.point_labels):
            if text:
                axis.annotate(text, (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
    if log_x:
        axis.set_xscale("log")
    if log_y:
        axis.set_yscale("log")
    axis.set_xlabel(x_label)
    axis.set_ylabel(y_label)
    axis.legend(fontsize=8)
    axis.grid(True, alpha=0.3)
    return _save(fig, path, title)
