"""The search on the storages users bring: PostgreSQL for workers on several machines, and a
study that opens in optuna-dashboard."""
import datetime
import glob
import json
import multiprocessing
import os
import shutil
import socket
import subprocess
import tempfile
import wsgiref.util
from pathlib import Path

import optuna
import optuna_dashboard
import pytest

from explorer.cli import main
from explorer.search.storage import open_storage, recover_lost
from tests.explorer.search.search_cases import STUDY, trained, write

POSTGRES_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A throw-away PostgreSQL server on a Unix socket; its URL. Run as the `postgres` user when
    we are root (PostgreSQL refuses to run as root)."""
    binaries = [Path(d) for d in POSTGRES_BIN] or [Path(p).parent for p in [shutil.which("initdb")] if p]
    if not binaries:
        pytest.skip("no PostgreSQL server binaries (Debian package postgresql; `make test` installs it)")
    pytest.importorskip("psycopg2", reason='no PostgreSQL driver (pip install -e ".[postgres]")')
    bin_dir = binaries[-1]
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="split-explorer-pg-"))
    root.chmod(0o777)  # the postgres user writes here when we are root
    data, port = root / "data", free_port()
    def run(*argv):
        done = subprocess.run([*as_user, *argv], capture_output=True, text=True)
        assert done.returncode == 0, f"{argv[0].name} failed: {done.stderr.strip()}"

    try:
        run(bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "postgres")
        run(bin_dir / "pg_ctl", "-D", data, "-l", root / "log", "-w", "start", "-o",
            f"-k {root} -p {port} -c listen_addresses=''")
        yield f"postgresql+psycopg2://postgres@/postgres?host={root}&port={port}"
    finally:
        subprocess.run([*as_user, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_four_workers_share_one_postgresql_storage(tmp_path, capsys, postgres_url):
    study = {**STUDY, "search": {**STUDY["search"], "trials": 6},
             "training": {**STUDY["training"], "candidate": {"steps": 16, "batch_size": 32, "device": "cpu"}}}
    path = write(tmp_path, study)
    assert main(["search", str(path), "--storage", postgres_url, "--workers", "4", "--no-progress"]) == 0
    done = optuna.load_study(study_name="tiny", storage=postgres_url).get_trials()
    keys = [t.user_attrs["candidate_key"] for t in trained(done)]
    assert len(keys) == len(set(keys)) == 6  # exactly the budget, none trained twice
    assert len({t.user_attrs["worker"] for t in done}) == 4
    assert {t.state.name for t in done} <= {"COMPLETE", "PRUNED"}
    assert not (tmp_path / "out" / "study.db").exists()  # nothing went to the default SQLite file
    assert main(["pareto", str(path), "--storage", postgres_url]) == 0
    assert "hypervolume" in capsys.readouterr().out


def dashboard_get(storage: str, path: str) -> dict:
    """GET `path` from optuna-dashboard's WSGI application over `storage`, as its web page does."""
    app = optuna_dashboard.wsgi(storage)
    environ: dict = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ["PATH_INFO"] = path
    status = []
    body = b"".join(app(environ, lambda code, headers, exc_info=None: status.append(code)))
    assert status == ["200 OK"], body[:200]
    return json.loads(body)


def test_a_study_opens_in_optuna_dashboard_with_its_objectives_named(tmp_path):
    path = write(tmp_path, STUDY)
    assert main(["search", str(path), "--no-progress"]) == 0
    storage = f"sqlite:///{tmp_path / 'out' / 'study.db'}"
    (summary,) = dashboard_get(storage, "/api/studies")["study_summaries"]
    assert summary["study_name"] == "tiny" and summary["directions"] == ["maximize", "minimize"]
    study = dashboard_get(storage, f"/api/studies/{summary['study_id']}")
    assert study["objective_names"] == ["accuracy", "latency"]
    assert len(study["trials"]) == 4
    attrs = {a["key"] for a in study["union_user_attrs"]}
    assert {"accuracy", "latency_s", "energy_j", "sent_bits", "head_macs"} <= attrs


def _pop_all(url: str, queue) -> None:
    """A worker's side of the race: take WAITING trials until none is left; their ids."""
    study = optuna.load_study(study_name="queue", storage=open_storage(url, heartbeat_s=60, max_retry=0))
    popped = []
    while (trial_id := study._pop_waiting_trial_id()) is not None:
        popped.append(trial_id)
    queue.put(popped)


def test_each_waiting_trial_on_sqlite_is_taken_by_one_worker(tmp_path):
    """A killed trial's retry waits as a WAITING trial; workers popping it at once on one SQLite
    file must not both take it (pysqlite left the read and the update in two transactions:
    about 1 in 10 trials went to two workers, and the second to finish could not tell it)."""
    url = f"sqlite:///{tmp_path / 'queue.db'}"
    study = optuna.create_study(study_name="queue", storage=open_storage(url, heartbeat_s=60, max_retry=0))
    for x in range(150):
        study.enqueue_trial({"x": x})
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_pop_all, args=(url, queue)) for _ in range(4)]
    for worker in workers:
        worker.start()
    popped = [trial_id for _ in workers for trial_id in queue.get(timeout=120)]
    for worker in workers:
        worker.join()
    assert sorted(popped) == sorted(t._trial_id for t in study.get_trials())


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_stale_failed_trial_left_without_its_retry_is_retried_once_and_one_that_raised_is_not(tmp_path):
    """Optuna fails every stale trial before it queues their retries: a worker killed between
    the two leaves a failed trial without one. recover_lost queues it (once, within max_retry);
    a trial whose code raised stays failed."""
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_s=60, max_retry=1)
    study = optuna.create_study(study_name="lost", storage=storage)
    distributions = {"x": optuna.distributions.IntDistribution(0, 9)}

    def failed(x, **attrs):
        study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, params={"x": x},
                                                  distributions=distributions, user_attrs=attrs))

    failed(1)  # its worker died with it, its retry never queued
    failed(2, error="RuntimeError: out of memory")
    recover_lost(study)
    recover_lost(study)  # a second worker looking afterwards finds the retry queued
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [(t.params, t.system_attrs["retry_history"]) for t in waiting] == [({"x": 1}, [0])]
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)  # the retry, killed as well
    lost = study.get_trials()[-1]
    assert lost.system_attrs["retry_history"] == [0] and lost.state == optuna.trial.TrialState.FAIL
    recover_lost(study)  # max_retry = 1: no retry of a retry
    assert not study.get_trials(states=(optuna.trial.TrialState.WAITING,))


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")
def test_a_trial_whose_worker_died_before_its_first_heartbeat_is_failed_and_retried(tmp_path, monkeypatch):
    """A RUNNING trial without a heartbeat is never stale to Optuna: once the grace period is
    over and its objective never began, recover_lost fails it and queues its retry; a trial
    that began (it records a heartbeat first) is left to the heartbeat."""
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_s=60, max_retry=2)
    study = optuna.create_study(study_name="unstarted", storage=storage)
    distributions = {"x": optuna.distributions.IntDistribution(0, 9)}
    dead = study.ask({"x": distributions["x"]})
    began = study.ask({"x": distributions["x"]})
    began.set_user_attr("worker", "host:1")
    recover_lost(study)  # within the grace period: nothing is failed yet
    assert [t.state.name for t in study.get_trials()] == ["RUNNING", "RUNNING"]

    class Later(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.now(tz) + datetime.timedelta(seconds=121)

    monkeypatch.setattr("explorer.search.storage.datetime", Later)
    recover_lost(study)
    recover_lost(study)
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "RUNNING", "WAITING"]
    assert trials[2].params == {"x": dead.params["x"]} and trials[2].system_attrs["retry_history"] == [0]
