"""`split-explorer train` on a tiny synthetic study, and its one-line errors."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from explorer.cli import main

STUDY = {
    "name": "tiny",
    "dataset": {"name": "synthetic",
                "options": {"num_classes": 4, "shape": [1, 32, 32], "num_train": 128, "num_test": 64}},
    "models": ["small-cnn"],
    "baseline": {"steps": 4, "batch_size": 32, "device": "cpu"},
    "training": {"steps": 2, "batch_size": 32, "device": "cpu"},
    "candidates": [
        {"split": ["conv3"], "method": "bottlenetpp", "compression_ratio": [8, 32],
         "channel": {"kind": "awgn", "psnr_db": 20, "train_range": [10, 25]},
         "channel_states": [10, 20]},
    ],
}


def run(tmp_path, capsys, study):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    code = main(["train", str(path), "--output", str(tmp_path / "out"),
                 "--cache", str(tmp_path / "cache"), "--no-progress"])
    return (code, *capsys.readouterr())


def test_train_study_records_baseline_and_candidates(tmp_path, capsys):
    code, out, _ = run(tmp_path, capsys, STUDY)
    assert code == 0 and "1 baselines, 2 candidates" in out
    candidates = pd.read_csv(tmp_path / "out" / "candidates.csv")
    assert list(candidates["compression_ratio"]) == [8.0, 32.0]  # achieved, exactly
    assert (candidates["encoder_macs"] > 0).all()
    baseline = pd.read_csv(tmp_path / "out" / "baselines.csv")["test_accuracy"][0]
    drop = 100 * (baseline - candidates["accuracy"])
    assert candidates["accuracy_drop_points"].tolist() == pytest.approx(drop.tolist())
    states = pd.read_csv(tmp_path / "out" / "channel_accuracy.csv")
    assert sorted(states["state"].unique()) == [10.0, 20.0]
    assert (tmp_path / "out" / "provenance.json").exists()
    digest = pd.read_csv(tmp_path / "out" / "baselines.csv", dtype={"weights_digest": str})["weights_digest"][0]
    assert f"| {digest} |" in (tmp_path / "out" / "REPORT.md").read_text()


def test_a_told_state_evaluates_the_trained_candidate_again_with_its_encoder_told_that_state(tmp_path, capsys):
    """000's case 2: one training, evaluated over the states with the encoder told the actual
    state and again told 15 dB; both in channel_accuracy.csv and the report's table."""
    told = {**STUDY, "candidates": [{**STUDY["candidates"][0], "compression_ratio": [8], "told_state": 15}]}
    code, out, _ = run(tmp_path, capsys, told)
    assert code == 0 and "1 candidates" in out
    states = pd.read_csv(tmp_path / "out" / "channel_accuracy.csv")
    assert sorted(zip(states["told_state"].fillna(-1), states["state"])) == [(-1, 10), (-1, 20), (15, 10), (15, 20)]
    report = (tmp_path / "out" / "REPORT.md").read_text()
    assert "| 0 | actual |" in report and "| 0 | 15 |" in report


@pytest.mark.parametrize("change, named", [
    ({"models": ["lenet"]}, "models[0]: unknown model 'lenet'"),
    ({"baseline": {"steps": 4, "epoch": 1}}, "baseline.epoch: unknown key (known: epochs"),
    ({"baseline": {"steps": 0}}, "baseline:"),
    ({"candidates": [{"split": ["conv3"], "method": "bottlenetpp", "compression_ratio": [8],
                      "channel": {"kind": "radio"}}]}, "candidates[0]: unknown channel 'radio' (known: awgn, bec, bsc, none)"),
    ({"candidates": [{"split": ["conv3"], "method": "bottlenetpp", "compression_ratio": [8],
                      "channel": {"kind": "awgn"}, "told_state": 15}]}, "candidates[0].told_state: needs channel_states"),
    ({"candidates": [{"split": ["conv9"], "method": "bottlenetpp", "compression_ratio": [8]}]},
     "conv9"),
    ({"candidates": [{"split": ["input"], "method": "bottlenetpp", "compression_ratio": [8]}]},
     "nothing runs on the device"),
])
def test_bad_train_study_is_one_line_before_any_training(tmp_path, capsys, change, named):
    code, out, err = run(tmp_path, capsys, {**STUDY, **change})
    assert code == 2 and out == "" and err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()


def _count_retrains(monkeypatch) -> list[str]:
    import explorer.train.run as train_run

    trained, retrain = [], train_run.retrain

    def counting(spec, *args, **kwargs):
        trained.append(f"{spec.method}@{spec.compression_ratio:g}")
        return retrain(spec, *args, **kwargs)

    monkeypatch.setattr(train_run, "retrain", counting)
    return trained


def train_args(tmp_path):
    """(study file, the train command's arguments) of STUDY written into tmp_path."""
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    return path, ["train", str(path), "--output", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
                  "--no-progress"]


def test_a_study_resumes_where_a_call_stopped_and_retrains_only_what_changed(tmp_path, capsys, monkeypatch):
    trained = _count_retrains(monkeypatch)
    path, args = train_args(tmp_path)
    # a limit no candidate fits in: nothing is trained, nothing reported, the call says what is left
    assert main([*args, "--time-limit", "1e-9"]) == 0
    assert "0 trained now; 2 left" in capsys.readouterr().out and trained == []
    assert not (tmp_path / "out" / "REPORT.md").exists()
    assert main(args) == 0 and trained == ["bottlenetpp@8", "bottlenetpp@32"]
    first = pd.read_csv(tmp_path / "out" / "candidates.csv")
    assert (tmp_path / "out" / "REPORT.md").exists()
    assert main(args) == 0 and len(trained) == 2  # every candidate is done: none retrained
    assert "(0 trained now)" in capsys.readouterr().out

    changed = {**STUDY, "candidates": [{**STUDY["candidates"][0], "compression_ratio": [32, 16]}]}
    path.write_text(yaml.safe_dump(changed))
    assert main(args) == 0 and trained[2:] == ["bottlenetpp@16"]
    now = pd.read_csv(tmp_path / "out" / "candidates.csv")
    # the 8x row is gone (no longer in the study), the 32x row kept as it was and renumbered
    assert sorted(now["requested_ratio"]) == [16.0, 32.0]
    kept = now[now["requested_ratio"] == 32.0].iloc[0]
    assert kept["candidate"] == 0 and kept["accuracy"] == first[first["requested_ratio"] == 32.0].iloc[0]["accuracy"]
    states = pd.read_csv(tmp_path / "out" / "channel_accuracy.csv")
    assert sorted(states["candidate"].unique()) == [0, 1] and len(states) == 4
    provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert [c["trained"] for c in provenance["calls"]] == [0, 2, 0, 1]
    assert provenance["wall_time_s"] == pytest.approx(sum(c["wall_time_s"] for c in provenance["calls"]), abs=0.01)


def test_report_only_writes_the_report_again_from_the_csv_files_and_trains_nothing(tmp_path, capsys, monkeypatch):
    path, args = train_args(tmp_path)
    assert main([*args, "--report-only"]) == 2
    assert "no finished run" in capsys.readouterr().err
    assert main(args) == 0
    trained = _count_retrains(monkeypatch)
    described = {**STUDY, "description": "described after the run"}
    path.write_text(yaml.safe_dump(described))
    assert main([*args, "--report-only"]) == 0 and trained == []
    assert "described after the run" in (tmp_path / "out" / "REPORT.md").read_text()
    grown = {**described, "candidates": [{**STUDY["candidates"][0], "compression_ratio": [8, 32, 16]}]}
    path.write_text(yaml.safe_dump(grown))
    capsys.readouterr()
    assert main([*args, "--report-only"]) == 2 and trained == []
    assert capsys.readouterr().err.strip().endswith("1 candidates of the study have no row and 0 rows are of "
                                                    "candidates it no longer lists: run the study to bring them in step")


def test_rows_trained_from_another_base_model_are_trained_again(tmp_path, capsys, monkeypatch):
    # A fresh cache on another machine trains the base model anew: the rows of the old one must
    # not sit beside rows of the new one.
    trained = _count_retrains(monkeypatch)
    _, args = train_args(tmp_path)
    assert main(args) == 0 and len(trained) == 2
    candidates = tmp_path / "out" / "candidates.csv"
    rows = pd.read_csv(candidates, dtype={"baseline_digest": str})
    digest = pd.read_csv(tmp_path / "out" / "baselines.csv", dtype={"weights_digest": str})["weights_digest"][0]
    assert len(digest) == 16 and (rows["baseline_digest"] == digest).all()
    rows.loc[rows["requested_ratio"] == 8.0, "baseline_digest"] = "0123456789abcdef"
    rows.to_csv(candidates, index=False)
    capsys.readouterr()
    assert main(args) == 0 and trained[2:] == ["bottlenetpp@8"]
    assert "1 finished candidates had been trained from another base model" in capsys.readouterr().out
    assert (pd.read_csv(candidates, dtype={"baseline_digest": str})["baseline_digest"] == digest).all()


def test_the_determinism_benchmark_runs_on_the_cpu(tmp_path):
    # On the CPU the flag changes nothing: every training of both settings has the same weights.
    from tests.explorer.search.search_cases import ROOT, python_path

    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cuda_determinism.py"), str(path),
                           "--epochs", "0.5", "--repeats", "2", "--output", str(tmp_path / "bench")],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": python_path(), "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr
    runs = pd.read_csv(tmp_path / "bench" / "runs.csv", dtype={"digest": str})
    assert len(runs) == 4 and runs["digest"].nunique() == 1 and set(runs["device"]) == {"cpu"}
    assert "after each setting's first training" in done.stdout
    assert "wall_time_ratio_later" in json.loads((tmp_path / "bench" / "provenance.json").read_text())


def test_a_candidates_file_written_before_encoder_params_gets_them_without_training(tmp_path, capsys, monkeypatch):
    _, args = train_args(tmp_path)
    assert main(args) == 0
    path = tmp_path / "out" / "candidates.csv"
    written = pd.read_csv(path)
    assert (written["encoder_params"] > 0).all()
    trained = _count_retrains(monkeypatch)
    for extra in (["--report-only"], []):  # either call fills the column from the untrained candidates
        written.drop(columns=["encoder_params"]).to_csv(path, index=False)
        assert main([*args, *extra]) == 0 and trained == []
        assert pd.read_csv(path).equals(written)
