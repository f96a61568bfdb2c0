"""One device calibration: read the tables, fit, write the preset, the predictions and the fit record.

results folder (the study's `output`, default results/<name>): predictions.csv (every split point
and unit of every model, measured and predicted before / after, which set it belongs to),
fit.json (fitted values, errors, files), provenance.json; the preset file in `preset_dir`.

Beside the fit, references that say what limits it: each table's consistency
(metrics.consistency) and the spread of its heads' samples (metrics.relative_spread), the units of
identical work measured in several tables (`_twins`: one prediction, several measurements), an
in-sample fit on every model, the held-out ones included (never written to a preset): where even
that misses, the parameters cannot be the cause; and the fit with one speed factor per table
(fit.py's module doc, `_speed_reference`): how far the tables disagree on the device's speed, and
what the held-out heads would reach if each table's own speed were known.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from explorer.calibration.fit import (ModelData, FitResult, calibrated, fit, held_out_speed, load_model, predictions,
                                      with_values)
from explorer.calibration.metrics import (Consistency, ErrorSummary, ModelPoints, consistency, relative_spread,
                                          summarise)
from explorer.calibration.preset import preset_text, write_preset
from explorer.calibration.study import ResolvedCalibration
from hwmodels.roofline import LAYER_CLASSES
from splitbase.files import write_atomic


@dataclass(frozen=True)
class CalibrationRun:
    resolved: ResolvedCalibration
    result: FitResult
    frame: pd.DataFrame                       # predictions.csv
    summary: dict[str, dict[str, ErrorSummary]]  # set (fit, held_out) -> before / after
    preset_path: Path
    consistency: dict[str, Consistency]       # model -> its table's consistency
    in_sample: dict[str, ErrorSummary]        # set -> errors of the fit on every model (reference)
    twins: list[list[tuple[str, str, float]]]  # identical units in several tables: (model, unit, unit_s)
    speed: SpeedReference                     # the fit with one speed factor per table (reference)
    spread: dict[str, float]                  # model -> median relative IQR of its measured heads


@dataclass(frozen=True)
class SpeedReference:
    """The fit with one speed factor per table (fit.py): each table's factor (fit models fitted with
    the parameters, geometric mean 1; held-out ones from their own unit times) and the errors of
    the heads, per set, predicted at their table's factor."""

    factors: dict[str, float]
    errors: dict[str, ErrorSummary]


def _frame(resolved: ResolvedCalibration, data: list[ModelData], values: dict[str, float]) -> pd.DataFrame:
    before = with_values(resolved.base, resolved.study.batch, {}, per_class=False)
    after = calibrated(resolved, values)
    held = set(resolved.study.held_out)
    rows = []
    for d in data:
        old, new = predictions(before, d), predictions(after, d)
        dominant = _dominant_class(after, d)
        for i, name in enumerate(d.profile.names):
            rows.append({"model": d.model, "set": "held_out" if d.model in held else "fit", "split": i - 1,
                         "name": name, "layer_class": dominant[i],
                         **{f"measured_{t}": d.table.times[t][i] for t in ("unit_s", "head_s", "tail_s")},
                         **{f"before_{t}": old[t][i] for t in ("unit_s", "head_s", "tail_s")},
                         **{f"after_{t}": new[t][i] for t in ("unit_s", "head_s", "tail_s")}})
    return pd.DataFrame(rows)


def _dominant_class(device, d: ModelData) -> list[str]:
    """The layer class that takes most of each unit's predicted time, device and host ("" for k = -1)."""
    device_s, host_s = device.class_times_s(d.loads)
    return ["", *(LAYER_CLASSES[j] for j in (device_s + host_s).argmax(axis=1))]


def _summaries(frame: pd.DataFrame, whens: tuple[str, ...] = ("before", "after")) -> dict[str, dict[str, ErrorSummary]]:
    heads = frame[frame["split"] >= 0]
    out = {}
    for which in ("held_out", "fit"):
        part = heads[heads["set"] == which]
        out[which] = {when: summarise([ModelPoints(g[f"{when}_head_s"].to_numpy(), g["measured_head_s"].to_numpy(),
                                                   g[f"{when}_unit_s"].to_numpy(), g["measured_unit_s"].to_numpy())
                                       for _, g in part.groupby("model", sort=False)])
                      for when in whens}
    return out


def _twins(data: list[ModelData]) -> list[list[tuple[str, str, float]]]:
    """Units of identical work (the same per-class MACs, weights, features and operator calls)
    measured in two or more tables: (model, unit, measured unit_s) each, first unit of each model.
    Any predictor gives them one time, so their spread is the measurements' own."""
    seen: dict[bytes, dict[str, tuple[str, str, float]]] = {}
    for d in data:
        for i in range(d.loads.macs.shape[0]):
            key = np.stack([d.loads.macs[i], d.loads.weight_bytes[i], d.loads.activation_bytes[i],
                            d.loads.kernels[i]]).tobytes()
            seen.setdefault(key, {}).setdefault(d.model, (d.model, d.profile.names[i + 1],
                                                          float(d.table.times["unit_s"][i + 1])))
    return [list(group.values()) for group in seen.values() if len(group) > 1]


def _in_sample(resolved: ResolvedCalibration, data: list[ModelData], starts: int) -> dict[str, ErrorSummary]:
    """Errors, per set, of the same fit made on every model (module doc: a reference, no preset)."""
    result = fit(resolved, data, starts=starts)
    return {which: e["after"] for which, e in _summaries(_frame(resolved, data, result.values), ("after",)).items()}


def _speed_reference(resolved: ResolvedCalibration, data: list[ModelData], starts: int) -> SpeedReference:
    """The fit models' parameters fitted with one speed factor per table; each held-out table's
    factor from its own unit times; heads of both sets predicted at their factor (a reference)."""
    held = set(resolved.study.held_out)
    result = fit(resolved, [d for d in data if d.model not in held], starts=starts, speed_factors=True)
    device = calibrated(resolved, result.values)
    factors = {d.model: result.speeds[d.model] if d.model in result.speeds else held_out_speed(device, d)
               for d in data}
    errors = {}
    for which in ("held_out", "fit"):
        points = []
        for d in data:
            if (d.model in held) == (which == "held_out"):
                p, measured = predictions(device, d, factors[d.model]), d.table.times
                points.append(ModelPoints(p["head_s"][1:], np.asarray(measured["head_s"][1:]),
                                          p["unit_s"][1:], np.asarray(measured["unit_s"][1:])))
        errors[which] = summarise(points)
    return SpeedReference(factors, errors)


def run_calibration(resolved: ResolvedCalibration, *, starts: int = 3) -> CalibrationRun:
    """Fit on the fit models, evaluate on all, write the preset and the results (module doc)."""
    study = resolved.study
    data = [load_model(resolved, m) for m in (*study.fit_models, *study.held_out)]  # every file checked first
    result = fit(resolved, [d for d in data if d.model in study.fit_models], starts=starts)
    frame = _frame(resolved, data, result.values)
    summary = _summaries(frame)
    in_sample = _in_sample(resolved, data, starts)
    speed = _speed_reference(resolved, data, starts)
    tables = {d.model: consistency(*(d.table.times[t] for t in ("unit_s", "head_s", "tail_s"))) for d in data}
    spread = {d.model: relative_spread(d.table.times["head_s"][1:], d.table.times["head_iqr_s"][1:]) for d in data}
    held = summary["held_out"]["after"]
    files = ", ".join(str(resolved.table_path(m)) for m in study.fit_models)
    note = (f"split-explorer calibrate {resolved.path} (fit on {files}; held out {', '.join(study.held_out)}: "
            f"median |error| {100 * held.median_abs:.1f} %, {100 * held.within_10:.0f} % of heads within 10 %)")
    preset = write_preset(resolved, preset_text(resolved, result.values, note))
    out = resolved.output
    write_atomic(out / "predictions.csv", lambda f: f.write(frame.to_csv(index=False).encode()))
    record = {"study": str(resolved.path), "base": study.base, "preset": str(preset), "batch": study.batch,
              "fit_models": study.fit_models, "held_out": study.held_out,
              "tables": {m: str(resolved.table_path(m)) for m in (*study.fit_models, *study.held_out)},
              "values": result.values, "at_bound": result.at_bound, "unconstrained": result.unconstrained,
              "cost": result.cost, "errors": {s: {w: asdict(e) for w, e in v.items()} for s, v in summary.items()},
              "in_sample_errors": {s: asdict(e) for s, e in in_sample.items()},
              "consistency": {m: asdict(c) for m, c in tables.items()}, "head_spread": spread,
              "speed_factors": speed.factors, "speed_corrected_errors": {s: asdict(e) for s, e in speed.errors.items()},
              "measured_on": {d.model: d.table.provenance for d in data}}
    write_atomic(out / "fit.json", lambda f: f.write((json.dumps(record, indent=2) + "\n").encode()))
    return CalibrationRun(resolved, result, frame, summary, preset, tables, in_sample, _twins(data), speed, spread)
