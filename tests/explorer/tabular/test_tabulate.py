"""tabulate: the table's format, resuming an interrupted run without retraining, the long subset,
the fidelity report, bad input."""
import csv
import itertools
import json

import pytest
import yaml

import explorer.tabular.trainers as trainers
from explorer.cli import main
from explorer.search.space import candidate_key
from explorer.studies.search import resolve_search
from explorer.tabular.grid import grid_points, long_order, long_subset
from explorer.tabular.table import COLUMNS
from splitbase.files import write_csv
from tests.cli_run import run
from tests.explorer.search.search_cases import STUDY

# 3 splits x 2 sparsities x 2 ratios: conv1 at ratio 4 breaks the latency limit, no convolutional
# encoder applies after fc; 6 candidates train
TINY = {**STUDY, "name": "tiny_table", "constraints": {"max_latency_s": 0.02, "max_accuracy_drop": 50.0},
        "space": {**STUDY["space"], "split": ["conv1", "conv3", "fc"], "sparsity": [0.0, 0.5]}}
TABLE = "results/tabular/tiny_table.csv"
LONG = ("--long-count", "3", "--long-factor", "2")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run in tmp_path, so that results/ is the test's own (caches: the suite's own, conftest)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def study(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    return path


@pytest.fixture
def retrains(monkeypatch):
    """The runner's retrain calls, counted; set `fail_after` to raise after that many."""
    calls = {"count": 0, "fail_after": None}

    def counted(*args, **kwargs):
        if calls["fail_after"] is not None and calls["count"] >= calls["fail_after"]:
            raise RuntimeError("injected failure")
        calls["count"] += 1
        return retrain(*args, **kwargs)

    retrain = trainers.retrain
    monkeypatch.setattr(trainers, "retrain", counted)
    return calls


def rows(path=TABLE):
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def long_keys(table_rows):
    return sorted(r["candidate_key"] for r in table_rows if r["accuracy_long"])


def test_the_table_has_one_row_per_candidate_in_the_shared_format(study, capsys):
    code, out, _ = run(capsys, "tabulate", study, *LONG, "--no-progress")
    assert code == 0 and "complete" in out
    header, table = rows()
    assert tuple(header) == COLUMNS
    space = TINY["space"]
    grid = [dict(zip(("split", "sparsity", "compression_ratio", "method", "channel"), values)) for values in
            itertools.product(space["split"], map(float, space["sparsity"]), map(float, space["compression_ratio"]),
                              space["method"], range(len(space["channel"])))]
    assert [r["candidate_key"] for r in table] == [candidate_key(params) for params in grid]
    status = [r["status"] for r in table]
    assert status.count("trained") == 6 and status.count("infeasible") == 2 and status.count("not_buildable") == 4
    for r in table:
        assert r["split"] in space["split"] and r["channel"] == "bec" and r["seed"] == "0"
        if r["status"] == "trained":
            assert r["reason"] == "" and 0 <= float(r["accuracy"]) <= 1 and float(r["train_seconds"]) > 0
            assert float(r["sent_bits"]) > 0 and float(r["head_macs"]) > 0 and float(r["latency_s"]) <= 0.02
            assert float(r["compression_ratio_achieved"]) > 1 and r["baseline_accuracy"] != ""
        else:
            assert r["reason"] and r["accuracy"] == r["accuracy_long"] == ""
        if r["status"] == "infeasible":
            assert "latency" in r["reason"] and float(r["latency_s"]) > 0.02
    trained = {r["candidate_key"] for r in table if r["status"] == "trained"}
    assert long_keys(table) == sorted(long_subset([r["candidate_key"] for r in table], trained, 3, 0))
    provenance = json.loads((study.parent / "results/tabular/tiny_table.json").read_text())
    assert provenance["long_subset"] == {"seed": 0, "size": 3} and provenance["long_factor"] == 2
    assert provenance["candidate_budget"]["steps"] == 2 and provenance["long_budget"]["steps"] == 4
    assert len(provenance["calls"]) == 1 and provenance["calls"][0]["trained"] == {"short": 6, "long": 3}

    code, out, _ = run(capsys, "tabulate", "--fidelity", TABLE)
    assert code == 0 and "Kendall tau" in out and "of " in out
    assert "long front found" in (study.parent / "results/tabular/tiny_table.md").read_text()


def test_an_interrupted_run_continues_without_retraining_finished_rows(study, capsys, retrains):
    retrains["fail_after"] = 1  # the second candidate to train raises
    with pytest.raises(RuntimeError, match="injected"):
        main(["tabulate", str(study), *LONG, "--no-progress"])
    _, table = rows()
    assert [r["status"] for r in table].count("trained") == 1 and retrains["count"] == 1
    seconds = float(next(r for r in table if r["status"] == "trained")["train_seconds"])

    retrains["fail_after"] = None
    code, out, _ = run(capsys, "tabulate", study, *LONG, "--time-limit", seconds / 2, "--no-progress")
    assert code == 0 and "stopped at the time limit" in out and "remain" in out
    assert retrains["count"] == 1 and len(rows()[1]) == len(table)

    code, out, _ = run(capsys, "tabulate", study, *LONG, "--no-progress")
    assert code == 0 and "complete" in out
    assert retrains["count"] == 6 + 3  # each trained candidate once, then the long subset once
    assert run(capsys, "tabulate", study, *LONG, "--no-progress")[0] == 0
    assert retrains["count"] == 9  # a finished table trains nothing
    calls = json.loads((study.parent / "results/tabular/tiny_table.json").read_text())["calls"]
    assert [c["trained"] for c in calls] == [{"short": 1, "long": 0}, {"short": 0, "long": 0},
                                             {"short": 5, "long": 3}, {"short": 0, "long": 0}]

    # the same long subset as a run in one go
    _, resumed = rows()
    assert run(capsys, "tabulate", study, *LONG, "--output", "results/one_go.csv", "--no-progress")[0] == 0
    assert long_keys(rows("results/one_go.csv")[1]) == long_keys(resumed)

    # continuing with another budget would mix two budgets in one table
    code, _, err = run(capsys, "tabulate", study, "--long-factor", "3", "--long-count", "3")
    assert code == 2 and err.startswith("error: ") and "long_factor" in err and len(err.splitlines()) == 1


def test_workers_train_the_same_table_as_one_process(study, capsys):
    assert run(capsys, "tabulate", study, *LONG, "--no-progress")[0] == 0
    code, out, _ = run(capsys, "tabulate", study, *LONG, "--workers", "2", "--output", "results/two.csv",
                       "--no-progress")
    assert code == 0 and "trained 6 candidates and 3 at the long budget" in out and "complete" in out
    timing = {"train_seconds", "train_seconds_long"}
    one, two = rows()[1], rows("results/two.csv")[1]
    assert [{k: v for k, v in r.items() if k not in timing} for r in two] == \
        [{k: v for k, v in r.items() if k not in timing} for r in one]  # seeded: bit-identical on the CPU


def test_the_long_order_depends_on_the_keys_not_their_order():
    keys = [f"{i:016x}" for i in range(20)]
    assert long_order(keys, 0) == long_order(reversed(keys), 0) != long_order(keys, 1)
    trained = set(keys[::2])
    small, large = long_subset(keys, trained, 3, 0), long_subset(keys, trained, 6, 0)
    assert large[:3] == small and set(large) <= trained and len(set(large)) == 6


def test_dry_run_counts_the_grid_and_trains_nothing(study, capsys, retrains, tmp_path):
    code, out, _ = run(capsys, "tabulate", study, "--dry-run")
    assert code == 0 and "12 candidates" in out and "6 to train" in out
    assert "4 not buildable" in out and "2 infeasible" in out
    assert retrains["count"] == 0 and not (tmp_path / "results").exists()
    assert len(grid_points(resolve_search(study))) == 12


@pytest.mark.parametrize("argv, named", [
    (("--output", "../outside.csv"), "--output: '../outside.csv' is outside results/"),
    (("--output", "results/table.txt"), "is not a .csv file"),
    (("--long-count", "-1"), "--long-count: must be >= 0"),
    (("--long-factor", "0"), "argument --long-factor: expected a positive integer"),
    (("--workers", "0"), "argument --workers: expected a positive integer"),
    (("--workers", "2", "--gpus", "x"), "--gpus must be 'all' or GPU indices"),
])
def test_bad_arguments_are_one_line_and_write_nothing(study, capsys, tmp_path, argv, named):
    code, out, err = run(capsys, "tabulate", study, *argv)
    assert code == 2 and err.startswith("error: ") and named in err and len(err.splitlines()) == 1
    assert not (tmp_path / "results").exists() and not (tmp_path / "outside.csv").exists()


def test_a_study_that_is_not_a_search_study_is_refused(tmp_path, capsys):
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "models": ["small-cnn"], "dataset": {"name": "synthetic"},
                                    "candidates": []}))
    code, _, err = run(capsys, "tabulate", path)
    assert code == 2 and err.startswith("error: ") and len(err.splitlines()) == 1
    code, _, err = run(capsys, "tabulate")
    assert code == 2 and "give STUDY.yaml or --fidelity" in err
    code, _, err = run(capsys, "tabulate", "--fidelity", "results/missing.csv")
    assert code == 2 and "no such table" in err


def test_rows_of_another_base_model_are_trained_again(study, capsys, retrains):
    assert run(capsys, "tabulate", study, *LONG, "--no-progress")[0] == 0 and retrains["count"] == 9
    header, table = rows()
    digest = {r["baseline_digest"] for r in table if r["status"] == "trained"}
    assert len(digest) == 1 and len(next(iter(digest))) == 16
    assert {r["baseline_digest_long"] for r in table if r["accuracy_long"]} == digest
    short_only = [r for r in table if r["status"] == "trained" and not r["accuracy_long"]]
    long_row = next(r for r in table if r["accuracy_long"])
    short_only[0]["baseline_digest"] = "0123456789abcdef"  # trained from another base model
    long_row["baseline_digest_long"] = "0123456789abcdef"
    del table[table.index(short_only[1])]  # and a row still to train, so that the call has work
    write_csv(TABLE, header, table)
    code, out, err = run(capsys, "tabulate", study, *LONG, "--no-progress")
    assert code == 0 and "complete" in out and "1 rows and 1 long accuracies had been trained from another" in err
    assert retrains["count"] == 9 + 2 + 1
    _, now = rows()
    assert {r["baseline_digest"] for r in now if r["status"] == "trained"} == digest


def test_fidelity_is_measured_within_the_rows_of_one_pair_of_base_models():
    from explorer.tabular.fidelity import POOLED, rank_fidelity

    def row(i, digest_long, base_long, shift):
        accuracy = 0.5 + 0.01 * i
        return {"candidate_key": f"k{i}", "status": "trained", "accuracy": accuracy,
                "accuracy_long": accuracy + shift, "baseline_digest": "a" * 16, "baseline_accuracy": 0.9,
                "baseline_digest_long": digest_long, "baseline_accuracy_long": base_long,
                "latency_s": 1.0 - 0.01 * i, "energy_j": 1.0}

    import pandas as pd
    # each stratum ranks its rows exactly as the long budget does; a base model 20 points worse
    # on the long budget of the second one breaks the pooled ranking
    frame = pd.DataFrame([row(i, "a" * 16, 0.9, 0.0) for i in range(0, 10, 2)] +
                         [row(i, float("nan"), 0.8, -0.2) for i in range(1, 10, 2)])
    fidelities = rank_fidelity(frame)
    assert [f.bases for f in fidelities] == [f"{'a' * 16} -> {'a' * 16}", f"{'a' * 16} -> accuracy 0.8000", POOLED]
    assert [f.rows for f in fidelities] == [5, 5, 10]
    assert fidelities[0].tau == pytest.approx(1.0) and fidelities[1].tau == pytest.approx(1.0)
    assert fidelities[2].tau < 0.5
