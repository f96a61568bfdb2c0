"""Writing a calibrated preset: the base preset's file with the fitted parameters, each marked
`calibrated:` with the study, the measurement files and the fit's error (hwmodels.params format)."""
from __future__ import annotations

from pathlib import Path

import yaml

from explorer.calibration.study import ResolvedCalibration
from hwmodels.catalog import preset_path, read_preset_file
from hwmodels.params import parameter_fields
from hwmodels.roofline import RooflineDevice
from hwmodels.units import SI_UNIT
from splitbase.files import write_atomic


def preset_text(resolved: ResolvedCalibration, values: dict[str, float], note: str) -> str:
    """YAML of the calibrated preset: the base's records, plus batch, per_layer_class, host_overlap and the
    fitted values (SI units), each fitted record `calibrated: <note>`."""
    study = resolved.study
    base = read_preset_file(preset_path(study.base))
    data = yaml.safe_load(base.path.read_text())
    spec = parameter_fields(RooflineDevice)
    params = dict(data["params"])
    fitted = {"per_layer_class": True, "host_overlap": study.host_overlap, "batch": study.batch, **values}
    for name, value in fitted.items():
        dimension = spec[name].metadata["dimension"]
        unit = "bool" if dimension == "flag" else SI_UNIT[dimension]
        params[name] = {"value": value if isinstance(value, bool) else float(f"{value:.6g}"), "unit": unit,
                        "calibrated": note}
    data.update(name=study.preset, params=params,
                description=f"{base.description}; calibrated at batch {study.batch} ({study.name})")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def write_preset(resolved: ResolvedCalibration, text: str) -> Path:
    path = resolved.preset_folder / f"{resolved.study.preset}.yaml"
    write_atomic(path, lambda f: f.write(text.encode()))
    return path
