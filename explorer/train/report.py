"""REPORT.md of a retraining study, from the CSV files of its run (rebuilt from those alone)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from explorer.analysis.markdown import frame_table, run_header, table, train_budget
from explorer.analysis.papers import cite, references
from explorer.studies.train import ResolvedTrainStudy
from explorer.train.channel_figures import state_times_claim, write_channel_figures
from explorer.train.figures import write_figures
from explorer.train.latency import latency_claim, write_latency
from explorer.train.paper import claims_table, compare_claims, disagreements, told_rows
from netmodels.candidate.profile import CandidateProfile
from splitbase.files import write_text

CANDIDATE_COLUMNS = ("candidate", "method", "options", "split", "sparsity", "head_macs", "channel",
                     "channel_state", "compression_ratio", "sent_shape", "sent_bits", "channel_uses",
                     "encoder_macs", "decoder_macs", "accuracy", "accuracy_drop_points")


def _shown(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).fillna("")


def _beside_the_paper(resolved: ResolvedTrainStudy, candidates: pd.DataFrame,
                      profiles: Mapping[str, CandidateProfile] | None, states: pd.DataFrame | None) -> list[str]:
    """The study's claims of its paper beside ours (explorer.train.paper), from `candidates` (and
    `states`, channel_accuracy.csv)."""
    study = resolved.study
    if not study.paper:
        return []
    latency = None if profiles is None else \
        (lambda claim, rows: latency_claim(claim, rows, study.latency, profiles))
    results = compare_claims(study.paper, candidates, complete=len(candidates) == len(resolved.specs),
                             latency=latency, states=states,
                             state_times=lambda claim, rows: state_times_claim(claim, rows, states,
                                                                               study.channel_figures))
    return ["", "## Beside the paper", "", f"Paper: {cite(study.source)}", "",
            "Each claim as the paper states it (its data set and budget) and ours from candidates.csv "
            "(this study's data set and budget, above), in accuracy points; `agrees` within the claim's "
            "tolerance.", "", *table(["what", "paper", "ours", "agrees"], claims_table(results)),
            *_why(disagreements(results))]


def _figures(resolved: ResolvedTrainStudy, candidates: pd.DataFrame, out: Path,
             states: pd.DataFrame | None) -> list[str]:
    written = write_figures(resolved.study.figures, candidates, out, states)
    if not written:
        return []
    sources = "candidates.csv and channel_accuracy.csv" if any(f.x == "evaluated_state" for f, _ in written) \
        else "candidates.csv"
    lines = ["", "## Figures", "", f"Drawn from {sources} beside this report."]
    for figure, path in written:
        lines += ["", f"![{figure.title}]({path.name})"]
    return lines


def _figure_tables(heading: str, intro: str, written: list[tuple[Any, pd.DataFrame, Path]],
                   where: Callable[[Any], str]) -> list[str]:
    """A report section of computed figures: per figure its title, where its points come from
    (`where(figure)`), its table and its drawing."""
    if not written:
        return []
    lines = ["", f"## {heading}", "", intro]
    for figure, table, path in written:
        lines += ["", f"### {figure.title}", "", f"{where(figure)} (`{figure.name}.csv`):", "",
                  *frame_table(_shown(table.drop(columns=["options"]))), "", f"![{figure.title}]({path.name})"]
    return lines


def _latency(resolved: ResolvedTrainStudy, candidates: pd.DataFrame,
             profiles: Mapping[str, CandidateProfile] | None, out: Path) -> list[str]:
    if not resolved.study.latency or profiles is None:
        return []
    return _figure_tables(
        "Latency against link rate",
        "Each candidate priced as built on the named hardware, its measured payload sent at each link "
        "rate; per series and rate the fastest candidate within the figure's accuracy drop whose head "
        "fits the device's memory (explorer/train/latency.py). Seconds per frame, from the CSV named.",
        write_latency(resolved.study.latency, candidates, profiles, out),
        lambda f: f"`{f.device}` -> `{f.link}` at each rate -> `{f.server}`, within {f.max_drop:g} points")


def _channel_figures(resolved: ResolvedTrainStudy, candidates: pd.DataFrame, states: pd.DataFrame | None,
                     out: Path) -> list[str]:
    return _figure_tables(
        "Airtime against the channel's state",
        "At each state the link with its setting set to the state; per series the candidate with the "
        "least payload airtime within the figure's accuracy drop at that state (its accuracy there where "
        "it was evaluated over channel states) (explorer/train/channel_figures.py), from the CSV named.",
        write_channel_figures(resolved.study.channel_figures, candidates, states, out),
        lambda f: f"`{f.link}` with `{f.setting}` at each state, within {f.max_drop:g} points")


def _why(lines: list[str]) -> list[str]:
    if not lines:
        return []
    return ["", "Where ours does not agree, how the paper's set-up and ours differ there (from the study file):",
            "", *lines]


def write_report(resolved: ResolvedTrainStudy, out: Path,
                 profiles: Mapping[str, CandidateProfile] | None = None) -> Path:
    """REPORT.md from the CSVs in `out`; the study's latency figures need the candidates' untrained
    `profiles` by candidate_key (explorer.train.latency) and are left out without them."""
    study = resolved.study
    models, candidates = len(study.models), len(resolved.specs)
    budget = (f"{models} base model{'s' * (models != 1)}, {train_budget(resolved.baseline)} each; "
              f"{candidates} candidate{'s' * (candidates != 1)}, each stage {train_budget(resolved.training)}")
    lines = [f"# {study.name}", "", *run_header(dataset=f"`{study.dataset.name}`", budget=budget,
                                              provenance=out / "provenance.json"),
             study.description.strip(), "",
             "Tables from the CSV files beside this report; how they were made is in "
             "provenance.json.", "", "## Base models", ""]
    baselines = pd.read_csv(out / "baselines.csv", dtype={"weights_digest": str})
    lines += frame_table(_shown(baselines[["model", "dataset", "test_accuracy", "epochs", "wall_time_s", "weights_digest"]]))
    states = pd.read_csv(out / "channel_accuracy.csv") if (out / "channel_accuracy.csv").is_file() else None
    if (out / "candidates.csv").exists():
        candidates = pd.read_csv(out / "candidates.csv")
        candidates["sent_bits"] = candidates["payload_bits"]
        shown = candidates[[c for c in CANDIDATE_COLUMNS if c in candidates.columns]]
        lines += ["", "## Candidates", "",
                  "`compression_ratio`: raw float32 feature bits / bits sent, as achieved "
                  "(analog AWGN values count 32 bits each, so it is the reduction in real values; "
                  "`channel_uses` = values / 2, I and Q). `sent_bits` per frame; `head_macs` the "
                  "head alone, `encoder_macs` the encoder after it; "
                  "`accuracy_drop_points`: base model accuracy minus the candidate's, in points.",
                  "", *frame_table(_shown(shown))]
        lines += _beside_the_paper(resolved, candidates, profiles, states)
        lines += _figures(resolved, candidates, out, states)
        lines += _latency(resolved, candidates, profiles, out)
        lines += _channel_figures(resolved, candidates, states, out)
    if states is not None:
        lines += _channel_states(states)
    return write_text(out / "REPORT.md", "\n".join(lines + ["", *references("\n".join(lines))]) + "\n")


def _channel_states(states: pd.DataFrame) -> list[str]:
    """The accuracy of each candidate at each channel state, a row per candidate and state told
    to its encoder ("actual": the channel's own)."""
    told = told_rows(states)
    states = states.assign(encoder_told=[f"{v:g}" if t else "actual" for t, v in
                                         zip(told, states.get("told_state", told))])
    table = states.pivot_table(index=["candidate", "encoder_told"], columns="state", values="accuracy",
                               aggfunc="first", sort=False).reset_index()
    table.columns = ["candidate", "encoder told", *(f"state {c:g}" for c in table.columns[2:])]
    return ["", "## Accuracy over channel states", "",
            "Each candidate evaluated with its channel fixed at each state (PSNR in dB for AWGN, "
            "erasure probability for BEC), its encoder told that state (\"actual\") or, where the "
            "study names one (`told_state`), a fixed one (000's case 2); empty where a state is not of "
            "its channel.", "", *frame_table(_shown(table))]
