"""Fitting a roofline's per-layer-class parameters to measured tables, and its predictions.

Predictions (hwmodels.roofline, per_layer_class): each unit's time from its layer classes'
device and host terms at the study's batch (their sum, or their max with the study's
`host_overlap`); a head's time is the sum of its units' (units 0..k), a tail's the sum of units
k+1..last. The 'before' prediction is the base preset's plain roofline at the same batch.

The fit: least squares on r = log(predicted / measured) over every unit, every head (k = 0..last)
and every tail (k = -1..last-1) of the fit models, robust to outliers (soft-L1 loss, scale 0.05:
residuals beyond about 5 % count linearly), over the logs of the parameters inside FIT_BOUNDS
(scipy's trust-region reflective method, a few starts; the best kept). Shrinkage keeps the
per-class values of one kind (compute factors, memory factors, overheads) near each other where
the data cannot tell the classes apart (a convolution always runs with its normalisation): one
more residual per fitted per-class parameter, shrink x (log p_c - mean over the fitted classes of
that kind of log p), squared as it is (a Gaussian prior on log p_c around its kind's mean; the
study's `shrink`, 0 turns it off), while the measurements' residuals go through the soft-L1 loss.
A quadratic pull makes the minimum unique along every direction the measurements leave flat, so
the fitted preset does not depend on the start (with the pull also under soft-L1 it became an L1
pull beyond small spreads, and fits of equal cost from different starts left, e.g., the H200's
pointwise compute factor anywhere between 0.5 and 3.2).

Speed factors (`fit(..., speed_factors=True)`, a reference the report prints, never a preset):
one more parameter s_t per table, the fit models' geometric mean held at 1, that scales the
table's host dispatch time (host_overlap: what drifts between measuring sessions of a GPU at
batch 1) or its whole time (a CPU); `held_out_speed` fits a held-out table's s_t to its own unit
times. Factors away from 1 say the tables disagree on the device's speed (a slower host while one
table was measured, another process on the CPU): no parameter set can match both.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from explorer.calibration.study import FIT_BOUNDS, ResolvedCalibration
from explorer.measure.table import MeasuredTable, check_model, read_table
from explorer.profile.table import SplitProfile, profile_zoo_model
from hwmodels.roofline import LAYER_CLASSES, ClassLoads, RooflineDevice
from splitbase import DataError

FLOAT32_BYTES = 4  # measured in fp32: weights and features
SOFT_L1_SCALE = 0.05
START = {"factor": 0.5, "s": 1e-5}  # first start: factors, seconds


@dataclass(frozen=True)
class ModelData:
    """One measured model: its profile, its units' loads by class (units, classes; per frame,
    float32) and the measured table."""

    profile: SplitProfile
    loads: ClassLoads
    table: MeasuredTable

    @property
    def model(self) -> str:
        return self.profile.model


def class_loads(profile: SplitProfile) -> ClassLoads:
    """Each unit's per-frame float32 work by layer class, arrays (units, classes)."""
    counts = profile.classes
    return ClassLoads(counts.macs[1:].astype(float), counts.weight_elements[1:] * float(FLOAT32_BYTES),
                      counts.activation_elements[1:] * float(FLOAT32_BYTES), counts.kernels[1:].astype(float))


def load_model(resolved: ResolvedCalibration, model: str) -> ModelData:
    """The measured table of `model` named by the study, checked against the model's profile, the
    study's batch and device (DataError naming the file otherwise)."""
    table = read_table(resolved.table_path(model))
    profile = profile_zoo_model(model)
    check_model(table, profile)
    settings, study = table.settings, resolved.study
    if settings.batch != study.batch or settings.device.replace(":", "") != study.device:
        raise DataError(f"measured table {table.path}: batch {settings.batch} on {settings.device!r}, the study "
                        f"calibrates batch {study.batch} on {study.device!r}")
    return ModelData(profile, class_loads(profile), table)


def unit_times(device: RooflineDevice, data: ModelData) -> np.ndarray:
    """Predicted seconds of each unit (one call of the device's batch)."""
    return np.asarray(device.inference_by_class(data.loads).time_s, dtype=float)


def predictions(device: RooflineDevice, data: ModelData, speed: float = 1.0) -> dict[str, np.ndarray]:
    """unit_s, head_s, tail_s predicted over split points k = -1..last (as the measured table);
    `speed` scales the host dispatch time (host_overlap) or the whole time (module doc)."""
    if device.host_overlap and speed != 1.0:
        device = dataclasses.replace(device, **{f"{c}_kernel_overhead_s": getattr(device, f"{c}_kernel_overhead_s")
                                                * speed for c in LAYER_CLASSES})
    units = unit_times(device, data) * (1.0 if device.host_overlap else speed)
    head = np.concatenate([[0.0], np.cumsum(units)])
    return {"unit_s": np.concatenate([[0.0], units]), "head_s": head, "tail_s": head[-1] - head}


PARTS = (("unit_s", slice(1, None)), ("head_s", slice(1, None)), ("tail_s", slice(0, -1)))


def _log_ratios(predicted: dict[str, np.ndarray], data: ModelData, parts=PARTS) -> np.ndarray:
    return np.concatenate([np.log(np.maximum(predicted[name][points], 1e-15)
                                  / np.maximum(np.asarray(data.table.times[name])[points], 1e-15))
                           for name, points in parts])


def _residuals(device: RooflineDevice, data: list[ModelData], speeds: np.ndarray) -> np.ndarray:
    return np.concatenate([_log_ratios(predictions(device, d, s), d) for d, s in zip(data, speeds)])


def _soft_l1_then_squares(measured: int):
    """scipy loss: soft-L1 on the first `measured` residuals, plain squares on the rest (the pulls)."""
    def rho(z: np.ndarray) -> np.ndarray:
        out = np.empty((3, z.size))
        t = 1.0 + z[:measured]
        out[0, :measured], out[1, :measured] = 2.0 * (np.sqrt(t) - 1.0), t ** -0.5
        out[2, :measured] = -0.5 * t ** -1.5
        out[0, measured:], out[1, measured:], out[2, measured:] = z[measured:], 1.0, 0.0
        return out
    return rho


def _kinds(keys: list[str]) -> list[np.ndarray]:
    """Index arrays of the fitted per-class parameters of each kind (two or more of one kind)."""
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        layer_class, _, kind = key.partition("_")
        if layer_class in LAYER_CLASSES:
            groups.setdefault(kind, []).append(i)
    return [np.array(g) for g in groups.values() if len(g) > 1]


def _shrinkage(x: np.ndarray, kinds: list[np.ndarray], weight: float) -> np.ndarray:
    """weight x (log p - mean log p of its kind) for every parameter of a kind in `kinds`."""
    return np.concatenate([weight * (x[g] - x[g].mean()) for g in kinds]) if kinds and weight else np.zeros(0)


def with_values(base: RooflineDevice, batch: int, values: dict[str, float], *, per_class: bool = True,
                host_overlap: bool = False) -> RooflineDevice:
    """`base` at `batch` with fitted `values` (SI), pricing by layer class when `per_class` (host
    and device overlapping with `host_overlap`)."""
    return dataclasses.replace(base, batch=float(batch), per_layer_class=per_class,
                               host_overlap=host_overlap and per_class, **values)


def calibrated(resolved: ResolvedCalibration, values: dict[str, float]) -> RooflineDevice:
    """The study's base preset with fitted `values`: the calibrated device."""
    return with_values(resolved.base, resolved.study.batch, values, host_overlap=resolved.study.host_overlap)


@dataclass(frozen=True)
class FitResult:
    values: dict[str, float]      # fitted parameter -> SI value
    at_bound: list[str]           # parameters that ended at a bound
    unconstrained: list[str]      # parameters of a layer class the fit models never run
    cost: float
    speeds: dict[str, float] = dataclasses.field(default_factory=dict)  # model -> speed factor (speed_factors)


SPEED_BOUNDS = (0.25, 4.0)  # a table's speed factor (module doc)
GAUGE_WEIGHT = 10.0         # pull of the fit models' mean log speed factor to 0


def fit(resolved: ResolvedCalibration, data: list[ModelData], *, starts: int = 3, seed: int = 0,
        speed_factors: bool = False) -> FitResult:
    """Fit the study's `fit` parameters to the fit models' tables, with one speed factor per
    table when `speed_factors` (module doc)."""
    keys = list(resolved.study.fit)
    n, tables = len(keys), len(data) if speed_factors else 0
    low = np.log([FIT_BOUNDS[k][0] for k in keys] + [SPEED_BOUNDS[0]] * tables)
    high = np.log([FIT_BOUNDS[k][1] for k in keys] + [SPEED_BOUNDS[1]] * tables)
    kinds, weight = _kinds(keys), resolved.study.shrink

    def residuals(x: np.ndarray) -> np.ndarray:
        device = calibrated(resolved, dict(zip(keys, np.exp(x[:n]))))
        speeds = np.exp(x[n:]) if tables else np.ones(len(data))
        gauge = [GAUGE_WEIGHT * x[n:].mean()] if tables else []
        return np.concatenate([_residuals(device, data, speeds), _shrinkage(x[:n], kinds, weight), gauge])

    first = np.concatenate([np.log([START["s" if k.endswith("_s") else "factor"] for k in keys]), np.zeros(tables)])
    first = first.clip(low, high)
    loss = _soft_l1_then_squares(3 * sum(d.loads.macs.shape[0] for d in data))  # units, heads, tails
    rng = np.random.default_rng(seed)
    best = None
    for start in range(starts):
        x0 = first.copy()
        if start:
            x0[:n] = low[:n] + rng.random(n) * (high[:n] - low[:n])
        result = least_squares(residuals, x0, bounds=(low, high), method="trf", loss=loss,
                               f_scale=SOFT_L1_SCALE, x_scale=1.0, max_nfev=400 * len(x0))
        if best is None or result.cost < best.cost:
            best = result
    values = dict(zip(keys, np.exp(best.x[:n]).tolist()))
    at_bound = [k for k, x, lo, hi in zip(keys, best.x, low, high) if x <= lo + 1e-3 or x >= hi - 1e-3]
    speeds = {d.model: float(np.exp(x)) for d, x in zip(data, best.x[n:])}
    return FitResult(values, at_bound, _unconstrained(keys, data), float(best.cost), speeds)


def _unconstrained(keys: list[str], data: list[ModelData]) -> list[str]:
    """Fitted parameters of a layer class that no fit model runs."""
    used = np.sum([np.stack([d.loads.macs, d.loads.activation_bytes, d.loads.kernels]).sum(axis=(0, 1))
                   for d in data], axis=0)
    idle = {c for c, total in zip(LAYER_CLASSES, used) if total == 0}
    return [k for k in keys if k.split("_")[0] in idle]


def held_out_speed(device: RooflineDevice, data: ModelData) -> float:
    """The speed factor (module doc) that best matches a table's own unit times with `device`."""
    result = least_squares(lambda x: _log_ratios(predictions(device, data, float(np.exp(x[0]))), data, PARTS[:1]),
                           [0.0], bounds=(np.log(SPEED_BOUNDS[:1]), np.log(SPEED_BOUNDS[1:])), loss="soft_l1",
                           f_scale=SOFT_L1_SCALE)
    return float(np.exp(result.x[0]))
