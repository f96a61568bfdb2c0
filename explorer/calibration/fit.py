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
that kind of log p), so a class strays from its kind's geometric mean only where the
measurements ask for it (the study's `shrink`; 0 turns it off; the soft-L1 loss makes it an L1
pull beyond small spreads, so a class the data do separate pays a bounded price to stray).
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


def predictions(device: RooflineDevice, data: ModelData) -> dict[str, np.ndarray]:
    """unit_s, head_s, tail_s predicted over split points k = -1..last (as the measured table)."""
    units = unit_times(device, data)
    head = np.concatenate([[0.0], np.cumsum(units)])
    return {"unit_s": np.concatenate([[0.0], units]), "head_s": head, "tail_s": head[-1] - head}


def _residuals(device: RooflineDevice, data: list[ModelData]) -> np.ndarray:
    parts = []
    for d in data:
        predicted = predictions(device, d)
        for name, points in (("unit_s", slice(1, None)), ("head_s", slice(1, None)), ("tail_s", slice(0, -1))):
            measured = np.asarray(d.table.times[name])[points]
            parts.append(np.log(np.maximum(predicted[name][points], 1e-15) / np.maximum(measured, 1e-15)))
    return np.concatenate(parts)


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


def fit(resolved: ResolvedCalibration, data: list[ModelData], *, starts: int = 3, seed: int = 0) -> FitResult:
    """Fit the study's `fit` parameters to the fit models' tables (module doc)."""
    keys = list(resolved.study.fit)
    low = np.log([FIT_BOUNDS[k][0] for k in keys])
    high = np.log([FIT_BOUNDS[k][1] for k in keys])
    kinds, weight = _kinds(keys), resolved.study.shrink

    def residuals(x: np.ndarray) -> np.ndarray:
        device = calibrated(resolved, dict(zip(keys, np.exp(x))))
        return np.concatenate([_residuals(device, data), _shrinkage(x, kinds, weight)])

    first = np.log([START["s" if k.endswith("_s") else "factor"] for k in keys]).clip(low, high)
    rng = np.random.default_rng(seed)
    best = None
    for start in range(starts):
        x0 = first if start == 0 else low + rng.random(len(keys)) * (high - low)
        result = least_squares(residuals, x0, bounds=(low, high), method="trf", loss="soft_l1",
                               f_scale=SOFT_L1_SCALE, x_scale=1.0, max_nfev=400 * len(keys))
        if best is None or result.cost < best.cost:
            best = result
    values = dict(zip(keys, np.exp(best.x).tolist()))
    at_bound = [k for k, x, lo, hi in zip(keys, best.x, low, high) if x <= lo + 1e-3 or x >= hi - 1e-3]
    used = np.sum([np.stack([d.loads.macs, d.loads.activation_bytes, d.loads.kernels]).sum(axis=(0, 1))
                   for d in data], axis=0)
    idle = {c for c, total in zip(LAYER_CLASSES, used) if total == 0}
    unconstrained = [k for k in keys if k.split("_")[0] in idle]
    return FitResult(values, at_bound, unconstrained, float(best.cost))
