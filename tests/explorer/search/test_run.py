"""Search: resume, workers sharing a storage, analytic pruning, pareto/export/check, bad studies."""
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from explorer.search.claims import TrainingClaims
from explorer.search.space import search_grid
from explorer.search.storage import open_storage
from explorer.search.study import open_study
from explorer.search.trial import candidate_key
from explorer.studies.search import resolve_search, space_choices
from tests.cli_run import run
from tests.explorer.search.search_cases import STUDY, python_path, trained, trials, write


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Run in tmp_path, so that nothing lands in the checkout (caches: the suite's own, conftest)."""
    monkeypatch.chdir(tmp_path)


def test_search_pareto_export_check_report(tmp_path, capsys):
    path = write(tmp_path, STUDY)
    assert run(capsys, "search", path, "--no-progress")[0] == 0
    done = trials(path)
    assert len(done) == 4 and {t.state.name for t in done} <= {"COMPLETE", "PRUNED"}
    keys = [t.user_attrs["candidate_key"] for t in trained(done)]
    assert len(keys) == len(set(keys))  # an identical candidate is trained once
    for t in trained(done):
        assert {"accuracy", "latency_s", "energy_j", "throughput_fps", "sent_bits",
                "head_macs"} <= set(t.user_attrs)
    code, out, _ = run(capsys, "pareto", path)
    assert code == 0 and "hypervolume" in out and (tmp_path / "out" / "pareto.csv").exists()
    assert (tmp_path / "out" / "front_accuracy_latency.png").exists()
    code, out, _ = run(capsys, "export", path, "--pick", "accuracy>=0; minimize latency")
    assert code == 0
    config = next((tmp_path / "out" / "export").glob("*/config.json"))
    fields = json.loads(config.read_text())
    assert {"model", "split", "sparsity", "method", "compression_ratio", "channel", "hardware",
            "predicted", "measured", "commit"} <= set(fields)
    code, out, _ = run(capsys, "check", config)
    assert code == 0 and "agrees" in out
    assert run(capsys, "report", path)[0] == 0
    text = (tmp_path / "out" / "REPORT.md").read_text()
    assert "Pareto front" in text and "Trained on the CPU" in text and "bit for bit" in text


def test_a_time_limit_starts_no_trial_that_would_not_end_and_the_same_command_continues(tmp_path, capsys):
    path = write(tmp_path, STUDY)
    code, out, _ = run(capsys, "search", path, "--no-progress", "--time-limit", "0.001")
    assert code == 0 and "stopped at the time limit" in out and not trained(trials(path))
    code, out, _ = run(capsys, "search", path, "--no-progress", "--time-limit", "3600")
    assert code == 0 and "stopped" not in out
    keys = [t.user_attrs["candidate_key"] for t in trained(trials(path))]
    assert len(keys) == 4 == len(set(keys))


def test_the_provenance_of_a_search_made_over_several_calls_sums_them(tmp_path, capsys):
    path = write(tmp_path, STUDY)
    assert run(capsys, "search", path, "--no-progress", "--trials", "2")[0] == 0
    assert run(capsys, "search", path, "--no-progress")[0] == 0
    record = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert [c["evaluated"] for c in record["calls"]] == [2, 4]
    assert record["wall_time_s"] == round(sum(c["wall_time_s"] for c in record["calls"]), 3)
    (tmp_path / "out" / "study.db").unlink()  # a study started afresh in the same folder
    assert run(capsys, "search", path, "--no-progress", "--trials", "1")[0] == 0
    assert len(json.loads((tmp_path / "out" / "provenance.json").read_text())["calls"]) == 1


def states_on_disk(db: Path) -> list[str]:
    """Trial states read straight from the SQLite file, read-only: opening it through Optuna
    would create tables and race the worker that is creating them."""
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as connection:
        try:
            return [state for (state,) in connection.execute("SELECT state FROM trials")]
        except sqlite3.OperationalError:  # tables not created yet, or locked by a writer
            return []


def test_resume_after_a_killed_run_adds_no_duplicate(tmp_path, capsys):
    study = {**STUDY, "search": {**STUDY["search"], "trials": 5},
             "training": {**STUDY["training"], "candidate": {"steps": 40, "batch_size": 32, "device": "cpu"}}}
    path = write(tmp_path, study)
    env = {**os.environ, "PYTHONPATH": python_path(), "OMP_NUM_THREADS": "1"}
    log = tmp_path / "worker.log"
    with log.open("w") as stderr:
        worker = subprocess.Popen([sys.executable, "-m", "explorer", "search", str(path), "--no-progress"],
                                  cwd=tmp_path, env=env, stdout=stderr, stderr=stderr)
        deadline = time.time() + 300
        while time.time() < deadline and worker.poll() is None:
            time.sleep(0.5)
            states = states_on_disk(tmp_path / "out" / "study.db")
            if states.count("COMPLETE") + states.count("PRUNED") >= 1 and "RUNNING" in states:
                break
        assert worker.poll() is None, f"the search ended before it could be killed:\n{log.read_text()}"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    assert "RUNNING" in [t.state.name for t in trials(path)]
    time.sleep(2.5)  # past the heartbeat grace period (2 x heartbeat_s)
    assert run(capsys, "search", path, "--no-progress")[0] == 0
    done = trials(path)
    finished = [t for t in done if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 5
    assert [t.state.name for t in done].count("FAIL") == 1  # the killed trial, then retried
    keys = [t.user_attrs["candidate_key"] for t in trained(done)]
    assert len(keys) == len(set(keys))


def test_four_workers_share_one_sqlite_file(tmp_path, capsys):
    study = {**STUDY, "space": {**STUDY["space"], "compression_ratio": [2, 4, 8, 16]},
             "training": {**STUDY["training"], "candidate": {"steps": 16, "batch_size": 32, "device": "cpu"}}}
    path = write(tmp_path, study)  # 4 trials in the file, 8 on the command line
    assert run(capsys, "search", path, "--workers", "4", "--trials", "8", "--no-progress")[0] == 0
    done = trials(path)
    keys = [t.user_attrs["candidate_key"] for t in trained(done)]
    assert len(keys) == len(set(keys)) == 8  # exactly the budget, a twin never trained twice across workers
    assert len({t.user_attrs["worker"] for t in done}) == 4  # all start a trial together
    assert {t.state.name for t in done} <= {"COMPLETE", "PRUNED"}
    assert all("budget" in t.user_attrs["pruned_reason"] for t in done if t.state.name == "PRUNED")


def test_an_analytically_infeasible_point_never_reaches_training(tmp_path, capsys):
    study = {**STUDY, "constraints": {"max_latency_s": 0.02}, "space": {**STUDY["space"], "split": ["conv1", "conv3"]},
             "search": {**STUDY["search"], "trials": 8}}
    path = write(tmp_path, study)
    resolved = resolve_search(path)
    grid = search_grid(resolved)
    out = [row for row in range(len(grid)) if grid.reasons[row]]
    assert out and all("latency" in grid.reasons[row] for row in out) and grid.excluded() == {"latency": len(out)}
    open_study(resolved, grid=grid).enqueue_trial(grid.params(out[0]))  # even when asked for, it is not trained
    assert run(capsys, "search", path, "--no-progress")[0] == 0
    done = trials(path)
    excluded = {grid.keys[row] for row in out}
    assert not any(t.user_attrs["candidate_key"] in excluded for t in trained(done))
    asked = done[0]
    assert asked.state.name == "PRUNED" and "latency" in asked.user_attrs["pruned_reason"]
    assert "accuracy" not in asked.user_attrs
    assert len(trained(done)) == len(grid) - len(out)  # the budget (8) is more than the allowed points


@pytest.mark.parametrize("change, named", [
    ({"colour": "red"}, "colour: unknown key"),
    ({"device": "raspberry-pi-9"}, "device[0]: unknown hardware preset 'raspberry-pi-9'"),
    ({"space": {**STUDY["space"], "split": []}}, "space.split: is empty"),
    ({"space": {**STUDY["space"], "split": ["conv7"]}}, "space.split[0]: 'conv7' is not a unit"),
    ({"space": {**STUDY["space"], "method": ["magic"]}}, "space.method[0]: unknown method 'magic'"),
    ({"objectives": ["accuracy", "beauty"]}, "objectives[1]"),
    ({"constraints": {"max_latency_s": 1e-9}}, "constraints.max_latency_s: 1e-09 s cannot be met"),
    ({"constraints": {"max_accuracy_drop": -1}}, "constraints.max_accuracy_drop: must be in (0, inf)"),
    ({"space": {**STUDY["space"], "channel": [{"kind": "awgn"}]}}, "space.channel[0]: analog values need a link that carries them"),
    ({"training": {"baseline": {"steps": 1, "epochs": 1}, "candidate": {"steps": 1}}}, "training.baseline"),
    ({"search": {**STUDY["search"], "storage": "foo://bar"}},
     "search.storage: 'foo://bar' is not a SQLAlchemy database URL"),
    ({"search": {**STUDY["search"], "storage": "mysql+nosuchdriver://u@h/db"}}, "search.storage: "),
])
def test_bad_study_is_one_line_and_creates_no_storage(tmp_path, capsys, change, named):
    path = write(tmp_path, {**STUDY, **change})
    code, out, err = run(capsys, "search", path)
    assert code == 2 and out == "" and err.count("\n") == 1 and named in err, err
    assert not (tmp_path / "out").exists()


def test_a_storage_url_without_its_driver_is_one_line_naming_the_flag(tmp_path, capsys):
    path = write(tmp_path, STUDY)
    code, out, err = run(capsys, "search", path, "--storage", "mysql+nosuchdriver://u@h/db")
    assert code == 2 and err.count("\n") == 1 and err.startswith("error: --storage: "), err
    assert not (tmp_path / "out").exists()


OPEN_AT = """
import sys, time
import optuna
from explorer.search.storage import open_storage
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
optuna.create_study(study_name="tiny", storage=open_storage(sys.argv[1], heartbeat_s=1, max_retry=1),
                    load_if_exists=True)
"""


def test_processes_opening_one_new_sqlite_file_at_once_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'out' / 'study.db'}"
    env = {**os.environ, "PYTHONPATH": python_path()}
    start = time.time() + 6  # after every process has imported optuna
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_AT, url, str(start)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(12)]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    assert optuna.get_all_study_names(url) == ["tiny"]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # the test plays the killed worker
def test_a_trial_waiting_for_a_killed_twin_goes_on(tmp_path):
    """A twin killed less than the grace period before the waiting trial started is RUNNING,
    holding the candidate's claim, when that trial looks at it; the wait must notice when its
    heartbeat goes stale, take the claim over and train."""
    study = {**STUDY, "space": {**STUDY["space"], "split": ["conv2"], "compression_ratio": [4]},
             "search": {**STUDY["search"], "trials": 1}}
    path = write(tmp_path, study)
    resolved = resolve_search(path)
    twin = open_study(resolved).ask({name: optuna.distributions.CategoricalDistribution(values)
                                     for name, values in space_choices(resolved).items()})
    twin.set_user_attr("candidate_key", candidate_key(twin.params))
    storage = open_storage(resolved.storage, heartbeat_s=1, max_retry=0)
    assert TrainingClaims(storage.engine, "tiny").claim(candidate_key(twin.params), twin.number) == twin.number
    twin_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name("tiny"), twin.number)
    env = {**os.environ, "PYTHONPATH": python_path(), "OMP_NUM_THREADS": "1"}
    worker = subprocess.Popen([sys.executable, "-m", "explorer", "search", str(path), "--no-progress"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 300
        # the twin is alive until the worker's trial has started and seen it running
        while len(states_on_disk(tmp_path / "out" / "study.db")) < 2 and worker.poll() is None:
            assert time.time() < deadline
            storage.record_heartbeat(twin_id)
            time.sleep(0.2)
        log, _ = worker.communicate(timeout=120)
    finally:
        worker.kill()
    assert worker.returncode == 0, log
    # the twin failed (and queued again with its parameters); this worker's trial trained
    assert sorted(states_on_disk(tmp_path / "out" / "study.db")) == ["COMPLETE", "FAIL", "WAITING"]
