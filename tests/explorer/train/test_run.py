"""`split-explorer train` on a tiny synthetic study, and its one-line errors."""
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


@pytest.mark.parametrize("change, named", [
    ({"models": ["lenet"]}, "models[0]: unknown model 'lenet'"),
    ({"baseline": {"steps": 4, "epoch": 1}}, "baseline.epoch: unknown key (known: epochs"),
    ({"baseline": {"steps": 0}}, "baseline:"),
    ({"candidates": [{"split": ["conv3"], "method": "bottlenetpp", "compression_ratio": [8],
                      "channel": {"kind": "radio"}}]}, "candidates[0]: unknown channel 'radio' (known: awgn, bec, bsc, none)"),
    ({"candidates": [{"split": ["conv9"], "method": "bottlenetpp", "compression_ratio": [8]}]},
     "conv9"),
    ({"candidates": [{"split": ["input"], "method": "bottlenetpp", "compression_ratio": [8]}]},
     "nothing runs on the device"),
])
def test_bad_train_study_is_one_line_before_any_training(tmp_path, capsys, change, named):
    code, out, err = run(tmp_path, capsys, {**STUDY, **change})
    assert code == 2 and out == "" and err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()
