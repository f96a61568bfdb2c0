"""Re-pricing a finished search on other (calibrated) devices: do its front and its pick change?

A search's trials.csv records each trial's knobs and its measured accuracy. The cost model needs
a candidate's traced units, never its weights, so each complete trial is rebuilt untrained from
its knobs (netmodels.candidate.build_candidate, profile only) and priced with price_candidate on
the study's link and server, the device replaced. The front (explorer.search.trials.front, the
study's objectives, the recorded accuracy) and the pick (explorer.deploy.pick.pick_trial) are
then recomputed per device, exactly as `also_price_on` devices are. A payload measured after
training (JPEG) is not rebuilt: such trials keep the recorded sent bits' price only on the
recorded device, and `reprice_search` refuses them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from explorer.cost.candidate import price_candidate
from explorer.cost.hardware import Hardware
from explorer.deploy.pick import pick_trial
from explorer.search.record import device_key
from explorer.search.trials import front
from explorer.studies.search import ResolvedSearch, candidate_spec, resolve_search
from hwmodels import Device
from netmodels.candidate import build_candidate
from netmodels.zoo import build_model
from splitbase import DataError, StudyError

PRICED = ("latency_s", "energy_j", "throughput_fps", "feasible")
REBUILD_TOLERANCE = 0.01  # an untrained rebuild prices within 1 % of the trained candidate as recorded


@dataclass(frozen=True)
class Repricing:
    """A search re-priced: per device (the recorded one first), the front's trial numbers and the
    trial the pick expression chooses; `frame`: trials.csv with `<column>@<device>` added;
    `rebuild_error`: the largest |relative difference| of a rebuilt trial's latency on the recorded
    device from trials.csv's (pruning an untrained head may keep other channels of equal count)."""

    study: str
    pick: str
    recorded_device: str
    fronts: dict[str, list[int]]
    picks: dict[str, int]
    frame: pd.DataFrame
    rebuild_error: float
    compared_with: dict[str, str]   # device -> the device its front and pick are compared with


def _channel_index(resolved: ResolvedSearch, kind: str, number: int) -> int:
    matches = [i for i, c in enumerate(resolved.channels) if c.kind == kind]
    if len(matches) != 1:
        raise DataError(f"trial {number}: channel {kind!r} names {len(matches)} channels of the space, not one")
    return matches[0]


def _price_trials(resolved: ResolvedSearch, trials: pd.DataFrame, devices: dict[str, Device]) -> pd.DataFrame:
    """Each trial's PRICED columns on each device (rows of `trials`, columns `<name>@<device>`)."""
    base = build_model(resolved.study.model)
    hardware = {name: Hardware(name, device, resolved.hardware.link_name, resolved.hardware.link,
                               resolved.hardware.server_name, resolved.hardware.server)
                for name, device in devices.items()}
    rows = []
    for _, trial in trials.iterrows():
        params = {"split": trial["split"], "sparsity": float(trial["sparsity"]),
                  "compression_ratio": float(trial["compression_ratio"]), "method": trial["method"],
                  "channel": _channel_index(resolved, trial["channel"], int(trial["number"]))}
        candidate = build_candidate(candidate_spec(resolved, params), input_shape=base.input_shape,
                                    num_classes=base.num_classes, base_model=base)
        if candidate.profile.codec is not None:
            raise DataError(f"trial {int(trial['number'])}: codec {candidate.profile.codec!r} sends a measured "
                            "payload; an untrained rebuild cannot re-price it")
        row = {}
        for name, hw in hardware.items():
            priced = price_candidate(candidate.profile, hw, bits=resolved.bits)
            row.update({device_key(column, name): priced[column] for column in PRICED})
        rows.append(row)
    return pd.DataFrame(rows, index=trials.index)


def reprice_search(path: str | Path, devices: dict[str, Device], pick: str, *,
                   compared_with: dict[str, str] | None = None) -> Repricing:
    """Re-price the complete trials of search study `path` on `devices` (name -> device; module
    doc); the recorded device is priced again too, as a check of the rebuild against trials.csv.
    `compared_with`: device -> the device it is to be compared with (default: the recorded one)."""
    resolved = resolve_search(path)
    csv = resolved.output / "trials.csv"
    if not csv.is_file():
        raise StudyError(f"--reprice: {csv} does not exist (run the search first)")
    trials = pd.read_csv(csv)
    complete = trials[trials["state"] == "COMPLETE"].copy()
    recorded = resolved.hardware.device_name
    priced = _price_trials(resolved, complete, {recorded: resolved.hardware.device, **devices})
    frame = pd.concat([complete, priced.drop(columns=[device_key(c, recorded) for c in PRICED])], axis=1)
    rebuild_error = float((priced[device_key("latency_s", recorded)] / complete["latency_s"] - 1.0).abs().max())
    if rebuild_error > REBUILD_TOLERANCE:
        raise DataError(f"--reprice: rebuilt candidates price up to {rebuild_error:.2%} away from trials.csv on "
                        f"{recorded!r}: the cost model or the candidates changed since the search")
    fronts = {recorded: [int(n) for n in front(frame, resolved.objectives).trials["number"]]}
    picks = {recorded: pick_trial(frame, pick)}
    for name in devices:
        fronts[name] = [int(n) for n in front(frame, resolved.objectives, device=name).trials["number"]]
        on_device = frame.assign(**{c: frame[device_key(c, name)] for c in PRICED if c != "feasible"},
                                 feasible=frame["feasible"].astype(bool) & frame[device_key("feasible", name)])
        picks[name] = pick_trial(on_device, pick)
    compared = {name: (compared_with or {}).get(name, recorded) for name in devices}
    return Repricing(resolved.study.name, pick, recorded, fronts, picks, frame, rebuild_error, compared)
