"""Writing a sweep: CSVs, figures drawn from them, REPORT.md and provenance.json.

Nothing is written unless the study resolved completely (the CLI resolves first).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from explorer.analysis import plots
from explorer.analysis.provenance import Provenance
from explorer.studies.sweep import ResolvedSweep
from explorer.analysis.markdown import fmt, run_header, table
from explorer.analysis.papers import cite, references
from explorer.search.objectives import OBJECTIVES
from explorer.sweep.run import compare, scenario_row
from splitbase.files import write_text

SCENARIO_COLUMNS = (
    ("split", "split_name"), ("codec", "codec"), ("ratio", "codec_ratio"),
    ("sent kbit", "sent_bits"), ("head ms", "head_s"), ("encode ms", "encode_s"),
    ("link ms", "link_s"), ("frames/s", "throughput_fps"), ("frames/J", "energy_j"),
    ("mJ/frame", "energy_j"),
)


def write_results(resolved: ResolvedSweep, sweep: pd.DataFrame, provenance: Provenance) -> Path:
    out = resolved.output
    out.mkdir(parents=True, exist_ok=True)
    name = resolved.study.name
    profile_table = resolved.profile.to_frame()
    write_text(out / "profile.csv", profile_table.to_csv(index=False))
    write_text(out / "sweep.csv", sweep.to_csv(index=False))
    plots.draw_profile(plots.profile_info(profile_table), out / "profile.png",
                       f"{resolved.profile.model}: compute, memory traffic and feature per split point")
    first = resolved.hardware[0]
    plots.draw_split_curves(plots.split_curves_info(sweep, list(resolved.profile.names)),
                            out / "split_curves.png", f"{name}: {first.device_name}, {first.link_name}")
    shown, series = _hardware_series(sweep)
    front = plots.front_info(shown, plots.Axis.of(OBJECTIVES.get("latency")), plots.Axis.of(OBJECTIVES.get("energy")),
                             split_order=resolved.profile.names, split_column="split_name", series_column=series)
    plots.draw_front(front, out / "front_latency_energy.png", f"{name}: latency vs energy")
    provenance.write(out)
    write_text(out / "REPORT.md", report(resolved, sweep))
    return out


def _hardware_series(sweep: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The sweep and the column naming each point's hardware for the front figure's series: the
    one of device / link / server that varies, or a column joining those that do (None: one
    combination only)."""
    varying = [c for c in ("device", "link", "server") if sweep[c].nunique() > 1]
    if len(varying) < 2:
        return sweep, (varying[0] if varying else None)
    label = " / ".join(varying)
    return sweep.assign(**{label: sweep[varying].astype(str).agg(" / ".join, axis=1)}), label


def _cell(column: str, label: str, row: pd.Series) -> str:
    value = row[column]
    if label == "frames/J":
        return fmt(1.0 / value)
    if label.endswith(" ms") or label == "mJ/frame":
        return fmt(1e3 * value)
    if label == "sent kbit":
        return fmt(value / 1e3)
    return fmt(value) if not isinstance(value, str) else value


def report(resolved: ResolvedSweep, sweep: pd.DataFrame) -> str:
    study, profile = resolved.study, resolved.profile
    first = resolved.hardware[0]
    lines = [f"# {study.name}", "", *run_header(
        dataset=f"none: the `{profile.model}` profile priced analytically, no images",
        budget=f"{len(resolved.points)} design points x {len(resolved.hardware)} hardware combinations = "
               f"{len(sweep)} priced points, no training", provenance=resolved.output / "provenance.json"),
        study.description.strip(), ""]
    if study.source:
        lines += [f"Paper: {cite(study.source)}", ""]
    lines += [f"Model `{profile.model}`, input {'x'.join(map(str, profile.input_shape))}, weights "
              f"{profile.bits.weight} bit, features {profile.bits.feature_bits} bit, input image "
              f"{profile.bits.input_bits} bit. Hardware: device `{first.device_name}`, link "
              f"`{first.link_name}`, server `{first.server_name}` unless a row says otherwise. "
              f"Every number below is computed by `split-explorer sweep {resolved.path}`; "
              "see provenance.json.", ""]
    input_bits = profile.feature_bits[0]
    lines += ["## The input", "",
              f"The input is {profile.feature_bytes[0] / 1e6:.3g} MB at {profile.bits.input_bits} bit; "
              f"sending it raw at 30 frames/s needs {30 * input_bits / 1e6:.3g} Mbit/s.", ""]
    if study.scenarios:
        lines += ["## Scenarios", ""]
        rows = []
        for name, scenario in study.scenarios.items():
            row = scenario_row(sweep, resolved, scenario)
            rows.append([name, *(_cell(c, label, row) for label, c in SCENARIO_COLUMNS)])
        lines += table(["scenario", *(label for label, _ in SCENARIO_COLUMNS)], rows)
        energy_parts = [c for c in sweep.columns if c.startswith("energy_") and c.endswith("_j")
                        and c != "energy_j"]
        lines += ["", "Device energy per frame by component (mJ):", ""]
        rows = [[name, *(fmt(1e3 * scenario_row(sweep, resolved, s)[c]) for c in energy_parts)]
                for name, s in study.scenarios.items()]
        lines += table(["scenario", *(c[len("energy_"):-2] for c in energy_parts)], rows)
        lines.append("")
    if study.paper:
        lines += ["## Beside the paper", ""]
        rows = []
        for c in compare(sweep, resolved, study.paper):
            quotient = "" if isinstance(c.ours, str) else fmt(c.ours / c.paper)
            rows.append([c.what, fmt(c.paper), fmt(c.ours), quotient,
                         ("yes" if c.agrees else "**no**")
                         + ("" if isinstance(c.ours, str) else f" (±{c.tolerance:.0%})")])
        lines += table(["what", "paper", "ours", "ours / paper", "agrees"], rows)
        lines.append("")
    lines += _links_section(resolved, sweep)
    lines += ["## Figures", "", "Drawn from `profile.csv` and `sweep.csv` beside this report.", "",
              "![profile](profile.png)", "", "![split curves](split_curves.png)", "",
              "![front](front_latency_energy.png)", ""]
    if study.notes:
        lines += ["## Notes", "", study.notes.strip(), ""]
    return "\n".join(lines + references("\n".join(lines)))


def _links_section(resolved: ResolvedSweep, sweep: pd.DataFrame) -> list[str]:
    """Best split per link (with its throughput and energy) when the study has several links."""
    links = list(dict.fromkeys(h.link_name for h in resolved.hardware))
    if len(links) < 2:
        return []
    first = resolved.hardware[0]
    lines = ["## How the best split moves with the link", "",
             f"Device `{first.device_name}`; best split over every codec of the grid (and over "
             "raw features only).", ""]
    rows = []
    for link in links:
        on_link = sweep[(sweep["link"] == link) & (sweep["device"] == first.device_name)
                        & (sweep["server"] == first.server_name) & sweep["feasible"]]
        raw = on_link[on_link["codec"] == "none"]
        cells = [link]
        for frame in (on_link, raw):
            if frame.empty:
                cells += ["-", "-"]
                continue
            fast = frame.loc[frame["throughput_fps"].idxmax()]
            frugal = frame.loc[frame["energy_j"].idxmin()]
            cells += [f"{fast['split_name']} ({fast['codec']}, {fmt(fast['throughput_fps'])} fps)",
                      f"{frugal['split_name']} ({frugal['codec']}, {fmt(1 / frugal['energy_j'])} frames/J)"]
        rows.append(cells)
    lines += table(["link", "max throughput", "max frames/J", "max throughput, raw",
                     "max frames/J, raw"], rows)
    return lines + [""]
