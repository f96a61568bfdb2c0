"""Determinism: the same study and seed give the same results. The analytic results (profile,
sweep) are bit-identical across runs and interpreters (another hash seed); a search samples the
same trial parameters; a CPU retraining with a fixed seed reproduces its accuracy exactly.

(On CUDA, cuDNN's kernels are not deterministic; how far accuracy moves between two runs of one
candidate there is measured on the GPU machine, not here.)
"""
from __future__ import annotations

import os
import subprocess
import sys

import optuna
import yaml

from explorer.cli import main
from explorer.studies.sweep import resolve_sweep
from explorer.sweep.run import run_sweep
from tests.explorer.search.search_cases import STUDY, python_path
from tests.test_bad_input import SWEEP, TRAIN

ANALYTIC = """
import sys
from explorer.studies.sweep import resolve_sweep
from explorer.sweep.run import run_sweep

resolved = resolve_sweep(sys.argv[1])
sys.stdout.write(resolved.profile.to_frame().to_csv(index=False) + run_sweep(resolved).to_csv(index=False))
"""


def run(capsys, *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_profile_and_sweep_are_bit_identical_across_runs_and_hash_seeds(tmp_path, capsys):
    """profile.csv and sweep.csv as `sweep` writes them, here and in an interpreter of another hash seed."""
    assert run(capsys, "profile", "resnet18-cifar", "--format", "csv") == \
        run(capsys, "profile", "resnet18-cifar", "--format", "csv")
    study = tmp_path / "sweep.yaml"
    study.write_text(yaml.safe_dump({**SWEEP, "link": {"preset": "wifi-80211bgn-004", "modes": ["1mbps", "22mbps"]},
                                     "grid": {"split": "all", "sparsity": [0.0, 0.5],
                                              "codec": ["none", {"kind": "quant", "bits": 8}]}}))
    env = {**os.environ, "PYTHONPATH": python_path(), "PYTHONHASHSEED": "12345"}
    texts = [subprocess.run([sys.executable, "-c", ANALYTIC, str(study)], check=True, capture_output=True, env=env,
                            text=True, timeout=300).stdout]
    resolved = resolve_sweep(study)
    texts += [resolved.profile.to_frame().to_csv(index=False) + run_sweep(resolved).to_csv(index=False)
              for _ in range(2)]
    assert len(texts[0].splitlines()) > 50 and texts[0] == texts[1] == texts[2]


def search_trials(tmp_path, folder: str, monkeypatch, capsys) -> list[tuple]:
    """A tiny search run in its own folder and cache: (number, state, params, values) per trial."""
    root = tmp_path / folder
    root.mkdir()
    monkeypatch.setenv("SPLIT_EXPLORER_CACHE", str(root / "cache"))
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump({**STUDY, "output": str(root / "out"), "search": {**STUDY["search"], "trials": 3}}))
    run(capsys, "search", str(path), "--no-progress")
    study = optuna.load_study(study_name=STUDY["name"], storage=f"sqlite:///{root / 'out' / 'study.db'}")
    return [(t.number, t.state.name, t.params, t.values) for t in study.get_trials()]


def test_a_search_with_one_seed_samples_the_same_trials(tmp_path, monkeypatch, capsys):
    first = search_trials(tmp_path, "a", monkeypatch, capsys)
    second = search_trials(tmp_path, "b", monkeypatch, capsys)
    assert len(first) >= 3 and [t[:3] for t in first] == [t[:3] for t in second]
    assert [t[3] for t in first] == [t[3] for t in second]  # CPU training with the seed: values too


def test_a_cpu_retraining_with_a_fixed_seed_reproduces_its_accuracy_exactly(tmp_path, monkeypatch, capsys):
    results = []
    for folder in ("a", "b"):
        root = tmp_path / folder
        root.mkdir()
        monkeypatch.setenv("SPLIT_EXPLORER_CACHE", str(root / "cache"))  # nothing reused: both train
        path = root / "train.yaml"
        path.write_text(yaml.safe_dump({**TRAIN, "baseline": {**TRAIN["baseline"], "steps": 4},
                                        "training": {**TRAIN["training"], "steps": 4}}))
        run(capsys, "train", str(path), "--output", str(root / "out"), "--no-progress")
        results.append([(root / "out" / name).read_text().splitlines() for name in ("baselines.csv", "candidates.csv")])
    (base_a, cand_a), (base_b, cand_b) = results

    def column(lines: list[str], name: str) -> list[str]:
        index = lines[0].split(",").index(name)
        return [line.split(",")[index] for line in lines[1:]]

    assert column(base_a, "test_accuracy") == column(base_b, "test_accuracy")
    assert column(cand_a, "accuracy") == column(cand_b, "accuracy") and len(column(cand_a, "accuracy")) == 1
    assert column(cand_a, "candidate_key") == column(cand_b, "candidate_key")


def test_a_candidate_trains_the_same_whether_its_base_model_was_trained_or_loaded(tmp_path, monkeypatch, capsys):
    """The first call trains the base model (drawing random numbers) before the candidate, the
    second loads it from the cache: the candidate's own seed decides alone."""
    monkeypatch.setenv("SPLIT_EXPLORER_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({**TRAIN, "baseline": {**TRAIN["baseline"], "steps": 4},
                                    "training": {**TRAIN["training"], "steps": 4}}))
    texts = []
    for out in ("first", "second"):
        run(capsys, "train", str(path), "--output", str(tmp_path / out), "--no-progress")
        lines = (tmp_path / out / "candidates.csv").read_text().splitlines()
        index = lines[0].split(",").index("accuracy")
        texts.append([line.split(",")[index] for line in lines[1:]])
    assert texts[0] == texts[1] and len(texts[0]) == 1
