"""The payload's airtime against the channel's state (paper 001, Fig. 5): learned joint
source-channel coding against learned source coding with ideal channel coding, the input image
and the original feature, over AWGN (latency at W = 1 MHz against SNR) and the BSC (overhead
against the crossover probability).

At each state the figure's link preset is loaded with its `setting` set to the state and every
row's payload is priced on it (explorer.train.paper.with_link_time: digital payloads through
the link's code, at the Shannon capacity where it codes ideally; a payload trained through the
channel's errors uncoded; analog values as I/Q symbols). Per series and state the table keeps the
row with the least airtime within `max_drop` points of the base model at that state: a row
evaluated over channel states (channel_accuracy.csv, the encoder told the actual state) by its
accuracy there, any other row by its accuracy. `name`.csv, one row per (series, state), drawn as
`name`.png.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.analysis.plots import SeriesInfo, draw_series
from explorer.studies.train import ChannelFigure, FigureSeries, PaperClaim
from explorer.train.figures import write_figure_tables
from explorer.train.paper import matching, told_rows, with_link_time
from hwmodels import Link, load_preset
from splitbase import HardwareModelError, StudyError

COLUMNS = ("series", "state", "candidate", "method", "split", "options", "requested_ratio", "accuracy",
           "accuracy_drop_points", "link_s")


def state_links(figure: ChannelFigure, path: str = "channel_figures") -> list[tuple[float, Link]]:
    """The figure's link at each of its states (`setting` overridden), or StudyError."""
    links = []
    for state in figure.states:
        try:
            link = load_preset(figure.link, overrides={figure.setting: float(state)})
        except HardwareModelError as exc:
            raise StudyError(f"{path}.link: {figure.link!r} with {figure.setting} = {state:g}: {exc}") from None
        if not isinstance(link, Link):
            raise StudyError(f"{path}.link: {figure.link!r} is not a link preset")
        links.append((float(state), link))
    return links


def accuracy_at(candidates: pd.DataFrame, states: pd.DataFrame | None, state: float) -> pd.Series:
    """Each row's accuracy at the channel state `state`: its evaluation there where it was
    evaluated over channel states (NaN where not at this one), else its accuracy."""
    accuracy = candidates["accuracy"].astype(float).copy()
    if states is None or states.empty:
        return accuracy
    actual = states[~told_rows(states)]
    evaluated = candidates["candidate_key"].isin(actual["candidate_key"])
    here = actual[np.isclose(actual["state"].astype(float), state)].set_index("candidate_key")["accuracy"]
    accuracy[evaluated] = candidates.loc[evaluated, "candidate_key"].map(here).astype(float)
    return accuracy


def state_rows(figure: ChannelFigure, candidates: pd.DataFrame, states: pd.DataFrame | None) -> pd.DataFrame:
    """COLUMNS: per series and state, the row with the least airtime within max_drop at that
    state (a series or state without one has no row)."""
    rows = []
    for state, link in state_links(figure):
        priced = with_link_time(candidates, link).assign(accuracy=accuracy_at(candidates, states, state))
        priced = priced.assign(accuracy_drop_points=100.0 * (priced["baseline_accuracy"] - priced["accuracy"]))
        for series in figure.series:
            chosen = priced[matching(priced, series.rows) & (priced["accuracy_drop_points"] <= figure.max_drop)
                            & priced["link_s"].notna()]
            if chosen.empty:
                continue
            best = chosen.loc[chosen["link_s"].idxmin()]
            rows.append({"series": series.label, "state": state, **{k: best[k] for k in COLUMNS[2:]}})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def state_times_claim(claim: PaperClaim, candidates: pd.DataFrame, states: pd.DataFrame | None,
                      figures: list[ChannelFigure]) -> tuple[str, bool | None]:
    """A claim of kind state_times: at each state of its figure, the least airtime of `than`
    over that of `rows`, each picked as the figure picks a series; judged by the smallest or
    the largest factor."""
    figure = next(f for f in figures if f.name == claim.figure)
    pair = dataclasses.replace(figure, series=[FigureSeries("rows", claim.rows), FigureSeries("than", claim.than)])
    table = state_rows(pair, candidates, states)
    both = table.pivot_table(index="state", columns="series", values="link_s").dropna()
    if both.empty or not {"rows", "than"} <= set(both.columns):
        return f"no state with rows of both within {figure.max_drop:g} points", None
    factors = both["than"] / both["rows"]
    judged = float(factors.min() if claim.judged == "smallest" else factors.max())
    low, high = claim.accepted
    shown = "; ".join(f"{state:g}: {factor:.2f}x" for state, factor in factors.items())
    return f"{shown} ({claim.judged} {judged:.2f}x)", bool(low <= judged <= high)


def draw_states(figure: ChannelFigure, table: pd.DataFrame, path: Path) -> None:
    """`name`.png: airtime (ms) against the state, log y, a line per series, each point labelled
    by its split and requested ratio."""
    infos = [SeriesInfo(label, part["state"].to_numpy(dtype=float), 1e3 * part["link_s"].to_numpy(dtype=float),
                        [f"{split}" + ("" if math.isnan(ratio) else f" {ratio:g}x")
                         for split, ratio in zip(part["split"], part["requested_ratio"].astype(float))])
             for label, part in table.groupby("series", sort=False)]
    draw_series(infos, path, figure.title, x_label=f"channel state ({figure.setting})",
                y_label=f"payload airtime on {figure.link} (ms)", log_x=False, log_y=True)


def write_channel_figures(figures: list[ChannelFigure], candidates: pd.DataFrame, states: pd.DataFrame | None,
                          out: Path) -> list[tuple[ChannelFigure, pd.DataFrame, Path]]:
    """Each figure's `name`.csv and `name`.png in `out` (left out where no row qualifies):
    (figure, its table, the figure's path)."""
    return write_figure_tables(figures, lambda figure: state_rows(figure, candidates, states), draw_states, out)
