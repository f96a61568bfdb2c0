"""The pre-filtered numeric grid, distinct candidates per trial, and oracle mode."""
import csv
import importlib.util
import itertools

import numpy as np
import optuna
import pandas as pd
import pytest

from explorer.cli import main
from explorer.search.oracle import COLUMNS
from explorer.search.space import candidate_key, search_grid
from explorer.studies.search import candidate_spec, resolve_search, space_choices
from netmodels.candidate import build_candidate
from splitbase import ModelError
from tests.explorer.search.search_cases import ROOT, STUDY, trained, trials, write


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_the_grid_is_ordered_numeric_and_keyed_like_the_sampled_choice(tmp_path):
    space = {**STUDY["space"], "split": ["conv3", "pool1"], "compression_ratio": [16, 4], "sparsity": [0.5, 0.0]}
    grid = search_grid(resolve_search(write(tmp_path, {**STUDY, "space": space})))
    assert grid.values["split"] == ["pool1", "conv3"] and grid.values["compression_ratio"] == [4, 16]
    choices = space_choices(resolve_search(write(tmp_path, {**STUDY, "space": space})))
    expected = {candidate_key(dict(zip(choices, v))) for v in itertools.product(*choices.values())}
    assert set(grid.keys) == expected and len(grid) == 8  # the table's join key
    for row in range(len(grid)):
        assert grid.row(grid.params(row)) == row and grid.keys[row] == candidate_key(grid.choice(row))
    dists = grid.distributions()
    assert isinstance(dists["split_pos"], optuna.distributions.IntDistribution)
    assert isinstance(dists["method"], optuna.distributions.CategoricalDistribution)


def test_points_their_method_cannot_build_leave_the_grid_with_the_builds_reason(tmp_path):
    """The pre-filter sizes each encoder as its method builds it: a three-step FC that would
    output more values than it takes in is out of the grid, counted as not buildable, with the
    error the build raises; the same points with BottleNet++ stay."""
    space = {**STUDY["space"], "method": ["bottlenetpp", "threestep"], "compression_ratio": [2, 16]}
    resolved = resolve_search(write(tmp_path, {**STUDY, "space": space}))
    grid = search_grid(resolved)
    out = [row for row in range(len(grid)) if grid.reasons[row]]
    assert grid.excluded() == {"not buildable": 4} == {"not buildable": len(out)}
    assert all(grid.choice(row)["method"] == "threestep" and grid.choice(row)["compression_ratio"] == 2 for row in out)
    for row in out:
        with pytest.raises(ModelError) as built:
            build_candidate(candidate_spec(resolved, grid.choice(row)), input_shape=(1, 32, 32), num_classes=4)
        assert grid.reasons[row] == f"not buildable: {built.value}"


def test_nearest_moves_to_the_closest_untaken_allowed_point(tmp_path):
    grid = search_grid(resolve_search(write(tmp_path, STUDY)))
    rng = np.random.default_rng(0)
    assert grid.nearest(3, set(), rng) == 3
    moved = grid.nearest(3, {grid.keys[3]}, rng)
    assert moved != 3 and np.abs(grid.positions[moved] - grid.positions[3]).sum() == 1
    assert grid.nearest(3, set(grid.keys), rng) is None


def test_every_trial_trains_a_new_candidate_until_the_grid_is_spent(tmp_path, capsys):
    # 8 points, a budget of 10: 8 trials, each a distinct candidate, no twin trained or reused
    path = write(tmp_path, {**STUDY, "search": {**STUDY["search"], "trials": 10}})
    assert main(["search", str(path), "--no-progress"]) == 0
    done = trials(path)
    keys = [t.user_attrs["candidate_key"] for t in done]
    assert len(done) == 8 and len(set(keys)) == 8 and len(trained(done)) == 8
    assert main(["search", str(path), "--no-progress"]) == 0  # resuming a spent grid adds nothing
    assert len(trials(path)) == 8


def _table(tmp_path, resolved, *, skip: int = 0, long_every: int = 0) -> str:
    """A small tabular benchmark of the study's grid (made-up numbers), one point infeasible;
    with `long_every`, every such trained row also has made-up long-budget values."""
    grid = search_grid(resolved)
    path = tmp_path / "table.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in range(skip, len(grid)):
            choice = grid.choice(row)
            status = "infeasible" if row == len(grid) - 1 else "trained"
            numbers = {"accuracy": 0.5 + 0.37 / (row + 3), "train_seconds": 1.25 + row, "baseline_accuracy": 0.9,
                       "sent_bits": 512.0 * (row + 1), "compression_ratio_achieved": 3.9, "head_macs": 1e6 + row,
                       "encoder_macs": 2e4, "latency_s": 0.0123 / (row + 1), "energy_j": 0.00456 * (row + 2) / 3,
                       "feasible": True} if status == "trained" else {}
            if numbers and long_every and row % long_every == 0:
                numbers.update(accuracy_long=numbers["accuracy"] + 0.0625, train_seconds_long=5 * numbers["train_seconds"])
            writer.writerow({"candidate_key": grid.keys[row], **choice, "split_index": resolved.split_index(choice["split"]),
                             "channel": "bec", "status": status, "reason": "latency 9 s breaks the limit" * (status != "trained"),
                             "seed": 0, **numbers})
    return str(path)


def test_the_oracle_study_reproduces_the_table_exactly(tmp_path, capsys):
    study = {**STUDY, "search": {**STUDY["search"], "trials": 8}}
    table = _table(tmp_path, resolve_search(write(tmp_path, study)))
    path = write(tmp_path, {**study, "search": {**study["search"], "mode": "oracle", "table": table}})
    assert main(["search", str(path), "--no-progress"]) == 0
    assert main(["pareto", str(path)]) == 0
    got = pd.read_csv(tmp_path / "out" / "trials.csv")
    expected = pd.read_csv(table).set_index("candidate_key")
    done = got[got["state"] == "COMPLETE"]
    assert len(done) == 7 and (got["state"] == "PRUNED").sum() == 1  # the infeasible row is pruned
    for column, field in (("accuracy", "accuracy"), ("latency_s", "latency_s"), ("energy_j", "energy_j"),
                          ("sent_bits", "sent_bits"), ("head_macs", "head_macs"),
                          ("train_seconds", "train_wall_time_s")):
        assert list(done[field]) == list(expected.loc[done["candidate_key"], column]), column
    assert done["feasible"].all() and (got.loc[got["state"] == "PRUNED", "infeasible_reason"]
                                       .str.contains("latency").all())


def test_a_table_that_does_not_cover_the_space_is_one_line(tmp_path, capsys):
    table = _table(tmp_path, resolve_search(write(tmp_path, STUDY)), skip=1)
    path = write(tmp_path, {**STUDY, "search": {**STUDY["search"], "mode": "oracle", "table": table}})
    assert main(["search", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "search.table: " in err and "does not cover the space: 1 of 8" in err
    assert not (tmp_path / "out").exists()


def test_the_search_efficiency_benchmark_runs_on_a_small_table(tmp_path, capsys):
    """The benchmark's plumbing on a made-up table of the tiny study (never a result)."""
    spec = importlib.util.spec_from_file_location("search_efficiency", ROOT / "benchmarks" / "search_efficiency.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    path = write(tmp_path, STUDY)
    table = _table(tmp_path, resolve_search(path), long_every=2)
    assert benchmark.main(["--study", str(path), "--table", table, "--seeds", "2", "--budget-fraction", "1",
                           "--processes", "1", "--out", str(tmp_path / "bench")]) == 0
    out = capsys.readouterr().out
    assert out.count("\ngoal ") == 3 and "benchmark wall time: meets" in out
    summary = pd.read_csv(tmp_path / "bench" / "summary.csv")
    assert set(summary["sampler"]) == {"nsga2", "tpe", "random", "grid", "gp", "halving(random, eta 3)"}
    assert (summary["reached"] == 2).all()  # the whole grid reaches the exhaustive front
    halving = pd.read_csv(tmp_path / "bench" / "halving.csv")
    # rung 0 of all 7 trained rows, 2 promoted: their long seconds are spent beside the short ones
    last = halving[halving["rung0_evaluations"] == 7]
    assert (last["train_seconds"] > pd.read_csv(table)["train_seconds"].sum()).all()
    curves = pd.read_csv(tmp_path / "bench" / "curves.csv")
    assert curves.groupby(["sampler", "seed"])["hv_fraction"].max().eq(1.0).all()
    assert (tmp_path / "bench" / "hypervolume.png").exists() and (tmp_path / "bench" / "provenance.json").exists()
