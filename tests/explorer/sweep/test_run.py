"""`split-explorer sweep` and `calibrate` end to end on small study files, good and bad."""
import json

import pandas as pd
import pytest
import yaml

from explorer.sweep.calibrate import calibrate
from explorer.studies.sweep import resolve_sweep
from explorer.sweep.run import compare, run_sweep
from tests.cli_run import run

GOOD = {
    "name": "tiny",
    "model": "small-cnn",
    "bits": {"weight": 16, "activation": 16},
    "device": "engine-28nm-144mac",
    "link": [{"preset": "wifi-80211bgn-004", "modes": ["2mbps", "22mbps"]}],
    "server": "rtx-2080ti",
    "grid": {"split": "all", "sparsity": {"start": 0, "stop": 0.5, "step": 0.25},
             "codec": ["none", {"name": "jpeg-in", "kind": "jpeg", "ratio": {"input": 10}},
                       {"kind": "quant", "bits": 8}]},
    "scenarios": {"host": {"split": "input", "codec": "jpeg-in"}, "edge": {"split": "fc"},
                  "mid": {"split": "pool2"}},
    "paper": [{"what": "mid over host", "kind": "ratio", "metric": "throughput",
               "point": "mid", "baseline": "host", "value": 2.0},
              {"what": "best", "kind": "best_split", "metric": "energy", "value": "fc"}],
}


def write(tmp_path, study, name="study.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(study))
    return path


def test_a_sweep_writes_csvs_figures_report_and_provenance(tmp_path, capsys):
    out = tmp_path / "out"
    code, text, _ = run(capsys, "sweep", write(tmp_path, GOOD), "--output", out)
    assert code == 0 and "mid over host" in text
    for name in ("sweep.csv", "profile.csv", "REPORT.md", "provenance.json", "profile.png",
                 "split_curves.png", "front_latency_energy.png"):
        assert (out / name).exists(), name
    sweep = pd.read_csv(out / "sweep.csv")
    # 7 units + input = 8 splits x 3 sparsities x (none + quant8) + 3 sparsities x jpeg-in; 2 links
    assert len(sweep) == (8 * 3 * 2 + 3) * 2
    provenance = json.loads((out / "provenance.json").read_text())
    assert {"command", "commit", "date", "machine", "seed", "wall_time_s", "versions"} <= set(provenance)
    report = (out / "REPORT.md").read_text()
    assert "Beside the paper" in report and "How the best split moves" in report


@pytest.mark.parametrize("change, named", [
    ({"colour": "red"}, "colour: unknown key"),
    ({"model": "lenet"}, "model: unknown model 'lenet'"),
    ({"device": "engine-7nm"}, "device[0]: unknown hardware preset 'engine-7nm'"),
    ({"link": [{"preset": "wifi-80211bgn-004", "modes": ["9mbps"]}]}, "link[0]"),
    ({"link": "engine-28nm-144mac"}, "link[0]: preset 'engine-28nm-144mac' is a MacArrayEngine"),
    ({"grid": {"split": []}}, "grid.split: is empty"),
    ({"grid": {"split": ["conv9"]}}, "grid.split[0]: 'conv9' is not a unit"),
    ({"grid": {"sparsity": [1.5]}}, "grid.sparsity[0]: must be in [0, 1)"),
    ({"grid": {"codec": [{"kind": "jpeg"}]}}, "grid.codec[0]: codec jpeg needs a compression ratio"),
    ({"grid": {"codec": [{"kind": "zip"}]}}, "grid.codec[0]"),
    ({"scenarios": {"x": {"split": "fc", "codec": "png"}}}, "scenarios.x.codec"),
    ({"bits": {"weight": 0}}, "bits.weight: must be in [1, 32]"),
])
def test_bad_study_is_one_line_naming_the_field_and_writes_nothing(tmp_path, capsys, change, named):
    out = tmp_path / "out"
    study = {**GOOD, **change}
    if "scenarios" in change:
        study["paper"] = []
    code, text, err = run(capsys, "sweep", write(tmp_path, study), "--output", out)
    assert code == 2 and text == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and named in err, err
    assert not out.exists()


def test_missing_and_malformed_files(tmp_path, capsys):
    code, _, err = run(capsys, "sweep", tmp_path / "none.yaml")
    assert code == 2 and "no such study file" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    code, _, err = run(capsys, "sweep", bad)
    assert code == 2 and "not valid YAML" in err


def test_comparisons_are_computed_from_the_scenarios(tmp_path):
    resolved = resolve_sweep(write(tmp_path, GOOD), output=tmp_path / "out")
    sweep = run_sweep(resolved)
    ratio, best = compare(sweep, resolved, resolved.study.paper)
    on_first = sweep[(sweep["link"] == resolved.hardware[0].link_name) & (sweep["sparsity"] == 0)]
    mid = on_first[(on_first["split_name"] == "pool2") & (on_first["codec"] == "none")].iloc[0]
    host = on_first[(on_first["split_name"] == "input") & (on_first["codec"] == "jpeg-in")].iloc[0]
    assert ratio.ours == pytest.approx(mid["throughput_fps"] / host["throughput_fps"])
    frugal = on_first[on_first["feasible"]].sort_values("energy_j").iloc[0]
    assert best.ours == frugal["split_name"]


def test_calibration_recovers_a_known_clock(tmp_path):
    study = {**GOOD, "device": {"preset": "engine-28nm-144mac", "overrides": {"clock_hz": [3e8]}}}
    resolved = resolve_sweep(write(tmp_path, study), output=tmp_path / "out")
    truth = compare(run_sweep(resolved), resolved, resolved.study.paper)[0].ours
    study["device"] = "engine-28nm-144mac"
    study["paper"] = [{**GOOD["paper"][0], "value": float(truth)}]
    resolved = resolve_sweep(write(tmp_path, study, "fit.yaml"), output=tmp_path / "out")
    fit = calibrate(resolved, {"device.clock_hz": (1e8, 2e9)}, starts=3)
    assert fit.parameters["device.clock_hz"] == pytest.approx(3e8, rel=1e-3)
    assert fit.residuals["mid over host"] == pytest.approx(1.0, rel=1e-6)
