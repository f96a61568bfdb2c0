"""Figures. Each is two steps: an `*_info` function computes a small record of what to draw
(tested), a `draw_*` function draws it (not pixel-tested). Every figure is drawn from a CSV
written beside it, so a number in a figure can be looked up.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from explorer.analysis.pareto import non_dominated  # noqa: E402


def _save(fig, path: Path, title: str) -> None:
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@dataclass(frozen=True)
class ProfileInfo:
    """004 Fig. 3: cumulative compute and memory traffic, and feature size, per split point."""

    names: list[str]
    cumulative_gmacs: np.ndarray
    cumulative_traffic_mb: np.ndarray
    feature_kb: np.ndarray


def profile_info(profile_table: pd.DataFrame) -> ProfileInfo:
    traffic = np.cumsum(profile_table["unit_weight_bytes"] + profile_table["activation_bytes"])
    return ProfileInfo(list(profile_table["name"]), profile_table["head_macs"].to_numpy() / 1e9,
                       traffic.to_numpy() / 1e6, profile_table["feature_bytes"].to_numpy() / 1e3)


def draw_profile(info: ProfileInfo, path: Path, title: str) -> None:
    x = np.arange(len(info.names))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6, 0.35 * len(x)), 6), sharex=True)
    top.plot(x, info.cumulative_gmacs, "o-", label="cumulative compute (GMAC)")
    top.set_ylabel("GMAC")
    twin = top.twinx()
    twin.plot(x, info.cumulative_traffic_mb, "s--", color="tab:red",
              label="cumulative memory traffic (MB)")
    twin.set_ylabel("MB")
    top.legend(loc="upper left")
    twin.legend(loc="lower right")
    bottom.bar(x, info.feature_kb)
    bottom.set_ylabel("feature sent (kB)")
    bottom.set_xticks(x, info.names, rotation=90)
    _save(fig, path, title)


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


def draw_split_curves(info: SplitCurvesInfo, path: Path, title: str) -> None:
    x = np.arange(len(info.names))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6, 0.35 * len(x)), 6), sharex=True)
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
    _save(fig, path, title)


@dataclass(frozen=True)
class FrontInfo:
    """All feasible points and the Pareto front of two minimised objectives."""

    x_label: str
    y_label: str
    x: np.ndarray
    y: np.ndarray
    colour: np.ndarray
    on_front: np.ndarray


def front_info(frame: pd.DataFrame, x: str, y: str, colour: str, *, x_label: str,
               y_label: str, maximise: tuple[str, ...] = ()) -> FrontInfo:
    rows = frame[frame["feasible"]] if "feasible" in frame else frame
    values = np.column_stack([(-1 if c in maximise else 1) * rows[c].to_numpy(dtype=float)
                              for c in (x, y)])
    return FrontInfo(x_label, y_label, rows[x].to_numpy(dtype=float), rows[y].to_numpy(dtype=float),
                     rows[colour].to_numpy(), non_dominated(values))


def draw_front(info: FrontInfo, path: Path, title: str, *, colour_label: str) -> None:
    fig, axis = plt.subplots(figsize=(7, 5))
    scatter = axis.scatter(info.x, info.y, c=info.colour, cmap="viridis", s=12, alpha=0.5)
    order = np.argsort(info.x[info.on_front])
    axis.plot(info.x[info.on_front][order], info.y[info.on_front][order], "r.-",
              label="Pareto front")
    fig.colorbar(scatter, label=colour_label)
    for data, setter in ((info.x, axis.set_xscale), (info.y, axis.set_yscale)):
        if len(data) and np.nanmin(data) > 0 and np.nanmax(data) / np.nanmin(data) > 100:
            setter("log")
    axis.set_xlabel(info.x_label)
    axis.set_ylabel(info.y_label)
    axis.legend()
    axis.grid(True, alpha=0.3)
    _save(fig, path, title)
