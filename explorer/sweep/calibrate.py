"""Calibrating unknown preset parameters so a sweep reproduces a paper's ratios.

The study lists the parameters to fit (`calibrate:`, each `role.parameter` with bounds); the
targets are its `paper` numbers of kind `ratio`. Least squares on log(ours / paper) over log
parameters (scipy's trust-region reflective method, several starts); best-split numbers are
checked after the fit, not fitted. The fitted values are meant to be written into a preset
marked `calibrated:` with this study named, so that other studies use them as predictions.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from splitbase import HardwareModelError, StudyError
from explorer.cost.hardware import Hardware
from explorer.studies.sweep import ResolvedSweep
from explorer.sweep.run import compare, run_sweep
from hwmodels import load_preset

ROLES = {"device": ("device_name", "device"), "link": ("link_name", "link"),
         "server": ("server_name", "server")}


@dataclass(frozen=True)
class Calibration:
    parameters: dict[str, float]
    residuals: dict[str, float]  # what -> ours / paper
    cost: float


def _hardware_with(resolved: ResolvedSweep, values: dict[str, float]) -> list[Hardware]:
    """Every hardware combination with `role.param` overrides applied to that role's model."""
    by_role: dict[str, dict[str, float]] = {}
    for key, value in values.items():
        role, param = key.split(".", 1)
        by_role.setdefault(role, {})[param] = value
    rebuilt = []
    for hw in resolved.hardware:
        changes = {}
        for role, overrides in by_role.items():
            name_field, model_field = ROLES[role]
            model = getattr(hw, model_field)
            preset = model.name + (f":{model.mode}" if model.mode else "")
            given = {k: p.value for k, p in model.params.items() if p.source == "override"}
            changes[model_field] = load_preset(preset, overrides={**given, **overrides})
        rebuilt.append(dataclasses.replace(hw, **changes))
    return rebuilt


def calibrate(resolved: ResolvedSweep, bounds: dict[str, tuple[float, float]], *,
              starts: int = 8, seed: int = 0) -> Calibration:
    """Fit `bounds`' parameters (role.param -> (low, high), SI) to the study's paper ratios."""
    for key in bounds:
        role = key.split(".", 1)[0]
        if role not in ROLES or "." not in key:
            raise StudyError(f"calibrate: {key!r} is not role.parameter with role in "
                             f"{', '.join(ROLES)}")
    targets = [n for n in resolved.study.paper if n.kind == "ratio"]
    if not targets:
        raise StudyError("calibrate: the study has no paper ratios to fit")
    keys = list(bounds)
    low = np.log([bounds[k][0] for k in keys])
    high = np.log([bounds[k][1] for k in keys])

    def fitted(x: np.ndarray) -> ResolvedSweep:
        values = dict(zip(keys, np.exp(x)))
        return dataclasses.replace(resolved, hardware=_hardware_with(resolved, values))

    def residuals(x: np.ndarray) -> np.ndarray:
        trial = fitted(x)
        found = compare(run_sweep(trial), trial, targets)
        return np.log([c.ours / c.paper for c in found])

    try:
        residuals(low + 0.5 * (high - low))
    except HardwareModelError as exc:
        raise StudyError(f"calibrate: {exc}") from None
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(starts):
        x0 = low + rng.random(len(keys)) * (high - low)
        result = least_squares(residuals, x0, bounds=(low, high), method="trf")
        if best is None or result.cost < best.cost:
            best = result
    trial = fitted(best.x)
    found = compare(run_sweep(trial), trial, resolved.study.paper)
    return Calibration(dict(zip(keys, np.exp(best.x).tolist())),
                       {c.what: (c.ours / c.paper if not isinstance(c.ours, str) else c.ours)
                        for c in found}, float(best.cost))
