from pathlib import Path

import numpy as np
import pytest

from explorer.calibration.fit import (ModelData, class_loads, fit, held_out_speed, load_model, predictions,
                                      with_values)
from explorer.calibration.study import resolve_calibration
from explorer.cli import main
from explorer.measure.table import MeasureSettings, write_table
from explorer.profile.table import profile_zoo_model
from hwmodels.roofline import LAYER_CLASSES as HW_CLASSES
from netmodels.profiling import LAYER_CLASSES
from splitbase import DataError

TRUE = {"conv_compute_factor": 0.3, "conv_kernel_overhead_s": 2e-5, "elementwise_kernel_overhead_s": 6e-6}


def _study(tmp_path: Path, monkeypatch, fit_params=tuple(TRUE), shrink: float = 0.0) -> Path:
    monkeypatch.chdir(tmp_path)
    text = (f"kind: device-calibration\nname: cal\nbase: h200\npreset: h200-test-cal\ndevice: cuda\nbatch: 1\n"
            f"measurements: measured\nfit_models: [small-cnn]\nheld_out: [resnet18-cifar]\n"
            f"fit: [{', '.join(fit_params)}]\nshrink: {shrink}\npreset_dir: presets\n")
    (tmp_path / "cal.yaml").write_text(text)
    return tmp_path / "cal.yaml"


def _synthetic_table(model: str, resolved, values, folder: Path, scale: float = 1.0, overlap: bool = False) -> Path:
    profile = profile_zoo_model(model)
    settings = MeasureSettings(model=model, batch=1, device="cuda", repeats=3)
    data = ModelData(profile, class_loads(profile), None)
    times = predictions(with_values(resolved.base, 1, values, host_overlap=overlap), data)
    table = {name: list(times[name] * scale) for name in ("unit_s", "head_s", "tail_s")}
    table.update({f"{t}_iqr_s": [0.0] * len(profile.names) for t in ("unit", "head", "tail")})
    return write_table(folder, settings, profile, table, {"synthetic": True})


def test_layer_classes_agree_between_counter_and_roofline():
    assert LAYER_CLASSES == HW_CLASSES


def test_fit_recovers_known_parameters(tmp_path, monkeypatch):
    resolved = resolve_calibration(_study(tmp_path, monkeypatch))
    _synthetic_table("small-cnn", resolved, TRUE, Path("measured"))
    result = fit(resolved, [load_model(resolved, "small-cnn")])
    for name, value in TRUE.items():
        assert result.values[name] == pytest.approx(value, rel=1e-3)


def test_shrinkage_splits_what_the_data_cannot_separate_evenly(tmp_path, monkeypatch):
    # every convolution of small-cnn runs with one batch norm: only the sum of the two overheads is
    # measurable; shrinkage settles the split at equal shares
    both = {"conv_kernel_overhead_s": 1e-5, "norm_kernel_overhead_s": 1e-5}
    resolved = resolve_calibration(_study(tmp_path, monkeypatch, tuple(both), shrink=1.0))
    _synthetic_table("small-cnn", resolved, both, Path("measured"))
    result = fit(resolved, [load_model(resolved, "small-cnn")], starts=1)
    for name, value in both.items():
        assert result.values[name] == pytest.approx(value, rel=1e-2)


def test_consistency_of_a_measured_table():
    from explorer.calibration.metrics import consistency

    # units 1, 2, 3 s; head at k = 1 measured 30 % slow; tails exact
    c = consistency([0, 1, 2, 3], [0, 1, 3.9, 6], [6, 5, 3, 0])
    assert c.head_plus_tail == pytest.approx(0.5) and c.head_vs_units == pytest.approx(2 / 3)


def test_calibrated_preset_round_trips_through_hw_show(tmp_path, monkeypatch, capsys):
    study = _study(tmp_path, monkeypatch)
    resolved = resolve_calibration(study)
    for model in ("small-cnn", "resnet18-cifar"):
        _synthetic_table(model, resolved, TRUE, Path("measured"))
    assert main(["calibrate", str(study), "--report", "report", "--starts", "1"]) == 0
    monkeypatch.setenv("SPLIT_EXPLORER_PRESETS", str(tmp_path / "presets"))
    capsys.readouterr()
    assert main(["hw", "show", "h200-test-cal"]) == 0
    out = capsys.readouterr().out
    assert "calibrated: split-explorer calibrate" in out and "per_layer_class" in out
    report = (tmp_path / "report" / "REPORT.md").read_text()
    assert "100.0 %" in report  # exact synthetic data: every head within 10 %
    assert "Drift between tables" in report and "| speed factor |" in report


@pytest.mark.parametrize("damage", ["negative", "missing", "other_model"])
def test_bad_measured_table_is_refused_in_one_line(tmp_path, monkeypatch, capsys, damage):
    study = _study(tmp_path, monkeypatch)
    resolved = resolve_calibration(study)
    path = _synthetic_table("small-cnn", resolved, TRUE, Path("measured"))
    _synthetic_table("resnet18-cifar", resolved, TRUE, Path("measured"))
    lines = path.read_text().splitlines()
    if damage == "other_model":
        other = Path("measured") / "resnet18-cifar_cuda_b1"
        path.write_text(other.with_suffix(".csv").read_text())
    else:
        cells = lines[2].split(",")
        cells[-4] = "-0.5" if damage == "negative" else ""
        lines[2] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")
    assert main(["calibrate", str(study), "--report", "report"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: measured table") and "\n" not in err
    assert not (tmp_path / "presets").exists()


def test_held_out_models_may_not_enter_the_fit(tmp_path, monkeypatch):
    study = _study(tmp_path, monkeypatch)
    study.write_text(study.read_text().replace("held_out: [resnet18-cifar]", "held_out: [small-cnn]"))
    from splitbase import StudyError
    with pytest.raises(StudyError, match="held_out"):
        resolve_calibration(study)


def _overlap_study(tmp_path: Path, monkeypatch, fit_params: tuple[str, ...]) -> Path:
    path = _study(tmp_path, monkeypatch, fit_params)
    path.write_text(path.read_text() + "host_overlap: true\n")
    return path


def test_speed_factors_recover_a_table_measured_on_a_slower_host(tmp_path, monkeypatch):
    # resnet18-cifar's table measured with every dispatch 1.44x slower: the fit models' geometric
    # mean of the factors is 1, so the overheads come out 1.2x the truth and the factors 1/1.2, 1.2
    true = {"conv_kernel_overhead_s": 2e-5, "elementwise_kernel_overhead_s": 6e-6}
    resolved = resolve_calibration(_overlap_study(tmp_path, monkeypatch, tuple(true)))
    _synthetic_table("small-cnn", resolved, true, Path("measured"), overlap=True)
    _synthetic_table("resnet18-cifar", resolved, {k: 1.44 * v for k, v in true.items()}, Path("measured"),
                     overlap=True)
    data = [load_model(resolved, m) for m in ("small-cnn", "resnet18-cifar")]
    result = fit(resolved, data, starts=1, speed_factors=True)
    assert result.speeds["small-cnn"] == pytest.approx(1 / 1.2, rel=1e-3)
    assert result.speeds["resnet18-cifar"] == pytest.approx(1.2, rel=1e-3)
    for name, value in true.items():
        assert result.values[name] == pytest.approx(1.2 * value, rel=1e-3)
    assert fit(resolved, data, starts=1).speeds == {}


def test_held_out_speed_is_a_tables_own_factor(tmp_path, monkeypatch):
    # without host_overlap the factor scales the whole time (a CPU shared with another process)
    resolved = resolve_calibration(_study(tmp_path, monkeypatch))
    _synthetic_table("resnet18-cifar", resolved, TRUE, Path("measured"), scale=1.3)
    device = with_values(resolved.base, 1, TRUE)
    assert held_out_speed(device, load_model(resolved, "resnet18-cifar")) == pytest.approx(1.3, rel=1e-4)


def test_a_class_the_data_leave_free_lands_on_its_kinds_geometric_mean(tmp_path, monkeypatch):
    # small-cnn runs no depthwise convolution: only the quadratic pull sets its overhead, at the
    # geometric mean of its kind, from every start
    params = (*TRUE, "depthwise_kernel_overhead_s")
    resolved = resolve_calibration(_study(tmp_path, monkeypatch, params, shrink=0.5))
    _synthetic_table("small-cnn", resolved, TRUE, Path("measured"))
    data = [load_model(resolved, "small-cnn")]
    for seed in range(3):
        values = fit(resolved, data, starts=2, seed=seed).values
        mean = np.sqrt(values["conv_kernel_overhead_s"] * values["elementwise_kernel_overhead_s"])
        assert values["depthwise_kernel_overhead_s"] == pytest.approx(mean, rel=1e-3)


def test_relative_spread_of_a_tables_samples():
    from explorer.calibration.metrics import relative_spread

    assert relative_spread([0.0, 1.0, 2.0, 4.0], [0.0, 0.1, 0.1, 0.8]) == pytest.approx(0.1)
