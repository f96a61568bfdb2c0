"""Successive halving: the ranking, rungs with real retraining, and rung 1 read from a table."""
import json

import numpy as np
import pandas as pd
import pytest

from explorer.cli import main
from explorer.search import record
from explorer.search.halving import promote, rank, to_promote
from explorer.search.trials import load_study
from explorer.studies.search import resolve_search
from tests.explorer.search.search_cases import STUDY, trained, trials, write
from tests.explorer.search.test_space import _table


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def halving(study, **search):
    return {**study, "search": {**study["search"], "policy": "halving", "eta": 3, "rungs": 2, **search}}


def test_rank_puts_feasible_rows_first_then_by_front_level():
    values = np.array([[1.0, 1.0],   # level 0
                       [2.0, 2.0],   # level 1
                       [0.0, 3.0],   # level 0
                       [0.0, 0.0],   # would dominate all, but infeasible
                       [3.0, 3.0]])  # level 2
    violation = np.array([0.0, 0.0, 0.0, 0.5, 0.0])
    assert list(rank(values, violation)) == [2, 0, 1, 4, 3]
    assert list(promote(values, violation, 2, np.array([True, True, False, True, True]))) == [0, 1]


def test_halving_retrains_the_best_third_at_three_times_the_budget(tmp_path, capsys):
    path = write(tmp_path, halving(STUDY, trials=6))
    assert main(["search", str(path), "--no-progress"]) == 0
    done = trials(path)
    first = [t for t in trained(done) if record.rung(t) == 0]
    second = [t for t in trained(done) if record.rung(t) == 1]
    assert len(first) == 6 and {t.user_attrs["budget"] for t in first} == {1.0}
    assert len(second) == 2 and {t.user_attrs["budget"] for t in second} == {3.0}
    resolved = resolve_search(path)
    study = load_study(resolved)
    assert sorted(t.user_attrs["candidate_key"] for t in second) == sorted(
        to_promote(study, resolved, 1, lambda key: True))
    assert {t.user_attrs["candidate_key"] for t in second} <= {t.user_attrs["candidate_key"] for t in first}
    assert len({t.user_attrs["weights"] for t in trained(done)}) == 8  # each (candidate, budget) saved once
    assert main(["search", str(path), "--no-progress"]) == 0  # resuming asks for no rung twice
    assert len(trials(path)) == len(done)
    assert main(["pareto", str(path)]) == 0
    front = pd.read_csv(tmp_path / "out" / "pareto.csv")
    promoted = {t.user_attrs["candidate_key"] for t in second}
    assert (front.loc[front["candidate_key"].isin(promoted), "rung"] == 1).all()
    assert front["candidate_key"].is_unique  # each candidate once, at its longest budget


def test_oracle_halving_promotes_only_rows_with_a_long_value(tmp_path, capsys):
    study = {**STUDY, "search": {**STUDY["search"], "trials": 7}}
    table = _table(tmp_path, resolve_search(write(tmp_path, study)), long_every=2)
    (tmp_path / "table.json").write_text(json.dumps({"long_factor": 5}))
    path = write(tmp_path, halving(study, mode="oracle", table=table))
    assert main(["search", str(path), "--no-progress"]) == 0
    rows = pd.read_csv(table).set_index("candidate_key")
    second = [t for t in trained(trials(path)) if record.rung(t) == 1]
    assert len(second) == 7 // 3
    for t in second:
        row = rows.loc[t.user_attrs["candidate_key"]]
        assert t.user_attrs["accuracy"] == row["accuracy_long"] and t.user_attrs["budget"] == 5.0
        assert t.user_attrs["train_wall_time_s"] == row["train_seconds_long"]


def test_oracle_halving_needs_two_rungs(tmp_path, capsys):
    table = _table(tmp_path, resolve_search(write(tmp_path, STUDY)))
    path = write(tmp_path, halving(STUDY, mode="oracle", table=table, rungs=3))
    assert main(["search", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "search.rungs: a tabular benchmark has two budgets" in err


@pytest.mark.parametrize("search, named", [
    ({"policy": "hyperband"}, "search.policy: unknown policy 'hyperband' (known: sampler, halving)"),
    ({"policy": "halving", "eta": 1}, "search.eta: successive halving keeps 1/eta of a rung: eta must be >= 2"),
])
def test_a_bad_policy_is_one_line(tmp_path, capsys, search, named):
    path = write(tmp_path, {**STUDY, "search": {**STUDY["search"], **search}})
    assert main(["search", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and not (tmp_path / "out").exists()
