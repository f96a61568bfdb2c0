"""Latency against link rate (paper 001, Fig. 4): a retraining study's candidates priced as built.

Each row of candidates.csv is priced on the figure's device and server by the cost model of
sweeps and searches (explorer.cost.candidate.price_candidate: its traced units layer by layer, its
measured payload over the link), at every link rate of the figure. Per series and rate the table
keeps the fastest row within `max_drop` points of the base model whose head fits the device's
memory (the Raspberry Pi's limit in 001): `name`.csv, one row per (series, rate), drawn as
`name`.png. The units of a candidate come from it built untrained (the architecture fixes them);
its payload is the one candidates.csv measured.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Mapping

import pandas as pd

from explorer.analysis.plots import SeriesInfo, draw_series
from explorer.cost.candidate import price_candidate
from explorer.cost.hardware import Hardware
from explorer.studies.common import one_preset
from explorer.studies.train import FigureSeries, LatencyFigure, PaperClaim
from explorer.train.figures import write_figure_tables
from explorer.train.paper import matching
from hwmodels import Device, Link, load_preset
from netmodels.candidate.profile import CandidateProfile
from splitbase import HardwareModelError, StudyError

COLUMNS = ("series", "link_rate_bit_per_s", "candidate", "method", "split", "sparsity", "options",
           "accuracy_drop_points", "head_s", "encode_s", "link_s", "tail_s", "latency_s")


def rate_links(figure: LatencyFigure, path: str) -> list[tuple[float, Link]]:
    """The figure's link at each of its rates (`rate_bit_per_s` overridden), or StudyError."""
    links = []
    for rate in figure.link_rates_bit_per_s:
        try:
            links.append((float(rate), load_preset(figure.link, overrides={"rate_bit_per_s": float(rate)})))
        except HardwareModelError as exc:
            raise StudyError(f"{path}.link: {figure.link!r} at a rate of {rate:g} bit/s: {exc}") from None
    return links


def hardware(figure: LatencyFigure, path: str = "latency") -> list[tuple[float, Hardware]]:
    """(rate in bit/s, the hardware priced at it) for each of the figure's link rates, or StudyError."""
    device_name, device = one_preset(f"{path}.device", figure.device, Device)
    server_name, server = one_preset(f"{path}.server", figure.server, Device)
    return [(rate, Hardware(device_name, device, f"{figure.link}@{rate:g}bit/s", link, server_name, server))
            for rate, link in rate_links(figure, path)]


def latency_rows(figure: LatencyFigure, candidates: pd.DataFrame, profiles: Mapping[str, CandidateProfile]) -> pd.DataFrame:
    """COLUMNS: per series and rate, the fastest row of the series within max_drop that fits the
    device (a series or rate without one has no row). `profiles`: by candidate_key, untrained."""
    rows = []
    priced_on = hardware(figure)
    for series in figure.series:
        chosen = candidates[matching(candidates, series.rows) & (candidates["accuracy_drop_points"] <= figure.max_drop)]
        for rate, hw in priced_on:
            best = None
            for _, row in chosen.iterrows():
                profile = dataclasses.replace(profiles[row["candidate_key"]], payload_bits=float(row["payload_bits"]),
                                              payload_measured=True)
                try:
                    priced = price_candidate(profile, hw)
                except HardwareModelError as exc:  # analog values on a link of bits
                    raise StudyError(f"latency figure {figure.name!r}: candidate {row['candidate']} ({row['method']} at "
                                     f"{row['split']}): {exc}; leave it out of the series or name such a link") from None
                if priced["feasible"] and (best is None or priced["latency_s"] < best[1]["latency_s"]):
                    best = (row, priced)
            if best is not None:
                row, priced = best
                rows.append({"series": series.label, "link_rate_bit_per_s": rate,
                             **{k: row[k] for k in COLUMNS[2:8]},
                             **{k: priced[k] for k in ("head_s", "encode_s", "link_s", "tail_s", "latency_s")}})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def latency_claim(claim: PaperClaim, rows: pd.DataFrame, figures: list[LatencyFigure],
                  profiles: Mapping[str, CandidateProfile]) -> tuple[str, bool | None]:
    """A claim of kind latency: the fastest of `rows` at each rate of its figure up to the claim's
    max_rate_bit_per_s, priced as the figure prices a series; ours is the highest of those (s)."""
    figure = next(f for f in figures if f.name == claim.figure)
    slow = [r for r in figure.link_rates_bit_per_s if r <= claim.max_rate_bit_per_s]
    picked = dataclasses.replace(figure, link_rates_bit_per_s=slow, series=[FigureSeries("claim", claim.rows)])
    table = latency_rows(picked, rows, profiles) if slow else pd.DataFrame(columns=list(COLUMNS))
    if table.empty:
        return f"no row within {figure.max_drop:g} points at rates up to {claim.max_rate_bit_per_s:g} bit/s", None
    highest = float(table["latency_s"].max())
    low, high = claim.accepted
    shown = "; ".join(f"{rate / 1e3:g} kbit/s: {latency:.3f} s ({split})" for rate, latency, split
                      in zip(table["link_rate_bit_per_s"], table["latency_s"], table["split"]))
    return f"{shown} (highest {highest:.3f} s)", bool(low <= highest <= high)


def draw_latency(figure: LatencyFigure, table: pd.DataFrame, path: Path) -> None:
    """`name`.png: latency (s) against link rate (kbit/s), log-log, a line per series, each point
    labelled by its split."""
    infos = [SeriesInfo(label, part["link_rate_bit_per_s"].to_numpy(dtype=float) / 1e3,
                        part["latency_s"].to_numpy(dtype=float), [str(s) for s in part["split"]])
             for label, part in table.groupby("series", sort=False)]
    draw_series(infos, path, figure.title, x_label="link rate (kbit/s)", y_label="latency per frame (s)",
                log_x=True, log_y=True)


def write_latency(figures: list[LatencyFigure], candidates: pd.DataFrame, profiles: Mapping[str, CandidateProfile],
                  out: Path) -> list[tuple[LatencyFigure, pd.DataFrame, Path]]:
    """Each figure's `name`.csv and `name`.png in `out` (the figure left out where no row
    qualifies): (figure, its table, the figure's path)."""
    return write_figure_tables(figures, lambda figure: latency_rows(figure, candidates, profiles), draw_latency, out)
