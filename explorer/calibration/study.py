"""The device-calibration study file: which measured tables fit which preset, which models are
held out (fixed before the fit), where the calibrated preset goes.

    kind: device-calibration
    name: calibration_cpu
    base: epyc-2core                  # the uncalibrated roofline preset (the 'before')
    preset: epyc-2core-b1-cal         # name of the calibrated preset written
    device: cpu                       # the tables' device (file stem <model>_<device>_b<batch>)
    batch: 1
    measurements: results/calibration/cpu     # folder of `split-explorer measure` tables
    fit_models: [resnet18-cifar, vgg16-cifar, mobilenetv2]
    held_out: [resnet50-cifar, small-cnn]
    preset_dir: hwmodels/presets      # optional: where the preset file goes (default: the results folder)
    host_overlap: false               # optional: the host dispatches while the device runs (a GPU)
    fit: [conv_compute_factor, ...]   # optional: the parameters fitted (default: every FIT_BOUNDS one)
    shrink: 0.5                       # optional: pull per-class values of a kind together (fit.py)

The held-out models never enter the fit; the report gives their errors (and the fit set's beside).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from explorer.studies.common import check_model, check_name, output_folder, read_study
from hwmodels.roofline import LAYER_CLASSES, RooflineDevice
from hwmodels import load_preset
from splitbase import HardwareModelError, StudyError
from splitbase.schema import Bounds, parse

KIND = "device-calibration"

#: the parameters a fit may set, with their search bounds (SI); the default fit sets them all
FIT_BOUNDS: dict[str, tuple[float, float]] = {
    **{f"{c}_compute_factor": (1e-4, 20.0) for c in LAYER_CLASSES},
    **{f"{c}_memory_factor": (1e-4, 20.0) for c in LAYER_CLASSES},
    **{f"{c}_kernel_overhead_s": (1e-8, 1e-2) for c in LAYER_CLASSES},
    "kernel_floor_s": (1e-8, 1e-3),
}


@dataclass(frozen=True)
class DeviceCalibrationStudy:
    kind: Literal["device-calibration"]
    name: str
    base: str
    preset: str
    measurements: str
    fit_models: list[str]
    held_out: list[str]
    device: str = "cpu"
    batch: Annotated[int, Bounds(low=1)] = 1
    fit: list[str] = field(default_factory=lambda: list(FIT_BOUNDS))
    host_overlap: bool = False
    shrink: Annotated[float, Bounds(low=0.0)] = 0.5
    description: str = ""
    preset_dir: str | None = None
    output: str | None = None

    def check(self, path: str) -> None:
        check_name(self.name)
        check_name(self.preset, "preset")
        for where, models in (("fit_models", self.fit_models), ("held_out", self.held_out)):
            if not models:
                raise StudyError(f"{where}: name at least one model")
            for i, model in enumerate(models):
                check_model(model, f"{where}[{i}]")
        both = sorted(set(self.fit_models) & set(self.held_out))
        if both:
            raise StudyError(f"held_out: {both} are also in fit_models; a held-out model never enters the fit")
        unknown = [p for p in self.fit if p not in FIT_BOUNDS]
        if unknown:
            raise StudyError(f"fit: unknown parameter(s) {unknown} (known: {', '.join(FIT_BOUNDS)})")
        for where in ("measurements", "preset_dir"):
            value = getattr(self, where)
            if value is not None and (Path(value).is_absolute() or ".." in Path(value).parts):
                raise StudyError(f"{where}: {value!r} must be a folder inside the project (relative, no '..')")


@dataclass(frozen=True)
class ResolvedCalibration:
    study: DeviceCalibrationStudy
    path: Path
    base: RooflineDevice
    output: Path

    def table_path(self, model: str) -> Path:
        return Path(self.study.measurements) / f"{model}_{self.study.device}_b{self.study.batch}.csv"

    @property
    def preset_folder(self) -> Path:
        return Path(self.study.preset_dir) if self.study.preset_dir else self.output


def is_device_calibration(data: dict) -> bool:
    return data.get("kind") == KIND


def resolve_calibration(path: str | Path, data: dict | None = None, *,
                        output: str | Path | None = None) -> ResolvedCalibration:
    """Parse and check a device-calibration study (StudyError naming the field)."""
    study = parse(DeviceCalibrationStudy, data if data is not None else read_study(path), "")
    try:
        base = load_preset(study.base)
    except HardwareModelError as exc:
        raise StudyError(f"base: {exc}") from None
    if not isinstance(base, RooflineDevice):
        raise StudyError(f"base: preset {study.base!r} is a {type(base).__name__}, not a roofline")
    return ResolvedCalibration(study, Path(path), base, output_folder(study.name, output or study.output))
