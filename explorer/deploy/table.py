"""The lookup table of paper 001: every trained candidate of a study priced again (analytically, no
retraining) in a grid of edge environments (device x link), the best one per environment by a
pick rule, each chosen candidate exported once.

An environment's link is a preset (`--links`) or the study's link with its rate overridden
(`--link-rates`: a radio's `rate_bit_per_s`; its transmit power stays the mode's). A candidate
counts in an environment when it met the study's constraints on the study's hardware and fits
the environment's device.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from explorer.cost.candidate import price_candidate
from explorer.cost.hardware import Hardware
from explorer.deploy.pick import MEASURES, pick_trial
from explorer.search.record import TrialRecord
from explorer.studies.common import one_preset
from explorer.studies.search import ResolvedSearch
from hwmodels import Device, Link, load_preset
from netmodels.candidate import load_candidate
from netmodels.candidate.profile import CandidateProfile, UnitCost
from splitbase import HardwareModelError, ModelError, StudyError


@dataclass(frozen=True)
class Environment:
    device: str
    link: str
    link_rate_bit_per_s: float


def profile_of(trial: TrialRecord) -> CandidateProfile:
    """The trial's CandidateProfile: from its record (CandidateProfile.to_dict), or, for a record
    written before profiles held their units, traced again from its trained weights (the payload
    measured by the search kept)."""
    record = trial.get("profile")
    fields = {f.name for f in dataclasses.fields(CandidateProfile)}
    if not {"device_units", "server_units"} <= set(record):
        weights = Path(trial.get("weights") or "")
        if not weights.is_file():
            raise StudyError(f"trial {trial.number}: its record has no per-unit profile and its weights "
                             f"{weights} are not on this machine; build the table where the search ran")
        try:
            profile = load_candidate(weights).profile
        except ModelError as exc:
            raise StudyError(f"trial {trial.number}: {exc}") from None
        return dataclasses.replace(profile, **{k: record[k] for k in ("payload_bits", "compression_ratio",
                                                                      "payload_measured") if k in record})
    values = {k: v for k, v in record.items() if k in fields}
    for name in ("device_units", "server_units"):
        values[name] = tuple(UnitCost(**u) for u in values[name])
    for name in ("feature_shape", "sent_shape"):
        values[name] = tuple(values[name])
    return CandidateProfile(**values)


def rate_links(resolved: ResolvedSearch, rates_bit_per_s: list[float]) -> list[tuple[str, Link]]:
    """The study's link at each rate (its `rate_bit_per_s` overridden)."""
    name = resolved.hardware.link_name
    links = []
    for rate in rates_bit_per_s:
        try:
            links.append((f"{name}@{rate / 1e6:g}Mbit/s", load_preset(name, overrides={"rate_bit_per_s": rate})))
        except HardwareModelError as exc:
            raise StudyError(f"--link-rates: the study's link {name!r} has no rate to set ({exc}); "
                             "give presets with --links") from None
    return links


def environments(resolved: ResolvedSearch, *, links: list[str] | None, rates_bit_per_s: list[float] | None,
                 devices: list[str] | None) -> list[tuple[Environment, Hardware]]:
    """Every (device, link) pair, as environments and the hardware to price them on."""
    built = rate_links(resolved, rates_bit_per_s) if rates_bit_per_s else \
        [one_preset("--links", name, Link) for name in (links or [resolved.hardware.link_name])]
    hw = resolved.hardware
    device_models = [one_preset("--devices", name, Device) for name in devices] if devices else \
        [(hw.device_name, hw.device)]
    return [(Environment(d, ln, float(link.information_rate_bit_per_s)), Hardware(d, dm, ln, link, hw.server_name, hw.server))
            for d, dm in device_models for ln, link in built]


def priced_frame(resolved: ResolvedSearch, trained: list[tuple[TrialRecord, CandidateProfile]],
                 hardware: Hardware) -> pd.DataFrame:
    """One row per trained trial priced on `hardware`, in trials.csv's columns pick_trial reads."""
    rows = []
    for record, profile in trained:
        cost = price_candidate(profile, hardware, bits=resolved.bits)
        rows.append({"number": record.number, "reused_from": None,
                     "accuracy": record.get("accuracy"), "accuracy_drop_points": record.get("accuracy_drop_points"),
                     "split": record.get("profile")["split_name"],
                     **{k: cost[k] for k in ("latency_s", "energy_j", "throughput_fps") + MEASURES if k in cost},
                     "feasible": record.feasible and bool(cost["feasible"])})
    return pd.DataFrame(rows)


def choose(resolved: ResolvedSearch, records: list[TrialRecord], pick: str, grid: list[tuple[Environment, Hardware]]
           ) -> pd.DataFrame:
    """One row per environment: the trial chosen there by `pick`, its split and predicted cost."""
    trained = [(r, profile_of(r)) for r in records if r.state == "COMPLETE" and r.reused_from is None
               and r.get("profile")]
    if not trained:
        raise StudyError(f"{resolved.storage}: no trained trial to put in a table")
    rows = []
    for env, hardware in grid:
        frame = priced_frame(resolved, trained, hardware)
        try:
            number = pick_trial(frame, pick)
        except StudyError as exc:
            raise StudyError(f"environment {env.device} / {env.link}: {exc}") from None
        row = frame[frame["number"] == number].iloc[0]
        rows.append({**dataclasses.asdict(env), "entry": f"trial{number}", "trial": number, "split": row["split"],
                     "accuracy": row["accuracy"], "latency_s": row["latency_s"], "energy_j": row["energy_j"]})
    return pd.DataFrame(rows)


def draw_table(table: pd.DataFrame, path: Path, title: str) -> None:
    """Predicted latency against the link rate, each point labelled with its chosen split."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for device, rows in table.groupby("device", sort=False):
        rate = rows["link_rate_bit_per_s"] / 1e6
        ax.plot(rate, rows["latency_s"] * 1e3, marker="o", label=device)
        for x, y, split, entry in zip(rate, rows["latency_s"] * 1e3, rows["split"], rows["entry"]):
            ax.annotate(f"{split} ({entry})", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set(xscale="log", yscale="log", xlabel="link rate (Mbit/s)", ylabel="predicted latency (ms)")
    ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
