"""Killed workers: search processes on one SQLite file, killed with SIGKILL at random moments
while a trial is in flight and restarted each time, finish the study as if nothing had happened:
every completed trial kept, each killed trial failed and its candidate retried (resuming from the
killed trial's checkpoints, to the same weights), no candidate trained twice, exactly the budget
trained, no claim, slot or checkpoint left."""
import collections
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import sqlalchemy as sa
import torch

from explorer.search.claims import SLOTS, TABLE
from explorer.search.study import open_study
from explorer.studies.search import resolve_search
from netmodels.baseline import get_baseline
from netmodels.candidate import CandidateSpec
from netmodels.candidate.store import load_candidate
from netmodels.recipes import retrain
from splitbase import paths
from tests.explorer.search.search_cases import STUDY, python_path, write

WORKERS, KILLS, BUDGET, SEED = 3, 10, 14, 20240617
# 16 allowed points, BUDGET of them asked for; 16 steps a stage, a checkpoint every 4 (an epoch)
KILLED_STUDY = {**STUDY, "space": {**STUDY["space"], "compression_ratio": [2, 4, 8, 16]},
                "training": {**STUDY["training"], "candidate": {"steps": 16, "batch_size": 32, "device": "cpu"}},
                # a retry may be killed again: more retries than the kills, so none runs out
                "search": {**STUDY["search"], "trials": BUDGET, "max_retry": KILLS}}


def read_only(db: Path, query: str) -> list[tuple]:
    """Rows of `query` on the SQLite file, read-only (the workers write it); [] while it is locked."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as connection:
        try:
            return connection.execute(query).fetchall()
        except sqlite3.OperationalError:
            return []


def in_flight(db: Path) -> dict[int, int]:
    """worker pid -> the number of the RUNNING trial it has started (its `worker` attribute)."""
    rows = read_only(db, "SELECT t.number, a.value_json FROM trials t JOIN trial_user_attributes a "
                         "ON a.trial_id = t.trial_id WHERE t.state = 'RUNNING' AND a.key = 'worker'")
    return {int(json.loads(worker).rsplit(":", 1)[1]): number for number, worker in rows}


def state(db: Path, number: int) -> str:
    """Trial `number`'s state, read again while the file is locked."""
    while not (rows := read_only(db, f"SELECT state FROM trials WHERE number = {number}")):
        time.sleep(0.01)
    return rows[0][0]


def completed(db: Path) -> dict[int, tuple]:
    """COMPLETE trial number -> its values, as the workers have stored them so far."""
    rows = read_only(db, "SELECT t.number, v.objective, v.value FROM trials t JOIN trial_values v "
                         "ON v.trial_id = t.trial_id WHERE t.state = 'COMPLETE'")
    values = collections.defaultdict(dict)
    for number, objective, value in rows:
        values[number][objective] = value
    return {number: tuple(v[k] for k in sorted(v)) for number, v in values.items()}


def typical_trial_s(db: Path) -> float:
    """The median length of the trials that completed so far (1 s before any has)."""
    rows = read_only(db, "SELECT (julianday(datetime_complete) - julianday(datetime_start)) * 86400 FROM trials "
                         "WHERE state = 'COMPLETE' ORDER BY 1")
    return rows[len(rows) // 2][0] if rows else 1.0


def has_checkpoint(number: int, db: Path, trials_dir: Path) -> bool:
    """Whether trial `number` holds its candidate's training claim and has checkpointed it."""
    key = read_only(db, f"SELECT candidate_key FROM {TABLE} WHERE trial_number = {number}")
    return bool(key) and any(trials_dir.glob(f"*/{key[0][0]}-*.checkpoints/*.pt"))


# The workers are forked from one process that has imported the search and read the study: a
# restart then costs milliseconds, not the seconds of importing torch, so ten fit in the test.
ZYGOTE = r"""
import os, sys, traceback
from explorer.search.run import run_search
from explorer.studies.search import resolve_search

resolved = resolve_search(sys.argv[1])
log = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
codes = {}
print("ready", flush=True)
for line in sys.stdin:
    command, *pid = line.split()
    if command == "start":
        child = os.fork()
        if child == 0:  # a search worker, as `split-explorer search` runs one
            os.dup2(log, 1), os.dup2(log, 2), os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            code = 0
            try:
                run_search(resolved, progress=False)
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(code)
        print(child, flush=True)
    else:  # poll PID: "running", or its exit status (-9 when killed)
        pid = int(pid[0])
        if pid not in codes:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                codes[pid] = os.waitstatus_to_exitcode(status)
        print(codes.get(pid, "running"), flush=True)
"""


class Workers:
    """WORKERS search processes on one study (forked by ZYGOTE), each restarted when killed."""

    def __init__(self, path: Path, tmp_path: Path) -> None:
        env = {**os.environ, "PYTHONPATH": python_path(), "OMP_NUM_THREADS": "1"}
        self.zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE, str(path), str(tmp_path / "workers.log")],
                                       cwd=tmp_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.zygote.stdout.readline() == "ready\n"
        self.pids = [self.start() for _ in range(WORKERS)]

    def ask(self, command: str) -> str:
        self.zygote.stdin.write(command + "\n")
        self.zygote.stdin.flush()
        return self.zygote.stdout.readline().strip()

    def start(self) -> int:
        return int(self.ask("start"))

    def status(self, index: int) -> str:
        return self.ask(f"poll {self.pids[index]}")

    def kill_and_restart(self, index: int) -> None:
        os.kill(self.pids[index], signal.SIGKILL)
        while self.status(index) == "running":
            time.sleep(0.01)
        assert self.status(index) == str(-signal.SIGKILL)
        self.pids[index] = self.start()

    def wait(self, timeout_s: float) -> list[str]:
        """Each worker's exit status, once all have ended."""
        deadline = time.time() + timeout_s
        while any(self.status(i) == "running" for i in range(WORKERS)):
            assert time.time() < deadline, "the workers did not finish"
            time.sleep(0.2)
        return [self.status(i) for i in range(WORKERS)]

    def stop(self) -> None:
        for index, pid in enumerate(self.pids):
            if self.status(index) == "running":
                os.kill(pid, signal.SIGKILL)
        self.zygote.stdin.close()
        self.zygote.wait(timeout=30)


def kill_in_flight(workers: Workers, db: Path, trials_dir: Path, seen: dict[int, tuple]) -> list[int]:
    """Kill KILLS trials in flight, each on a worker and after a delay drawn from a seeded RNG
    (up to a trial's typical length), while the study is far enough from its end that the
    others go on; the first only once its training has checkpointed, so that its retry has
    something to resume. The numbers of the killed trials; `seen` collects every COMPLETE trial
    on the way."""
    rng, killed, deadline = random.Random(SEED), [], time.time() + 300
    while len(killed) < KILLS:
        assert time.time() < deadline, f"{len(killed)} kills in 300 s"
        seen.update(completed(db))
        assert len(seen) < BUDGET - WORKERS, f"the study neared its end after {len(killed)} kills"
        running = in_flight(db)
        targets = [i for i, pid in enumerate(workers.pids) if pid in running]
        if not targets:
            time.sleep(0.05)
            continue
        index = rng.choice(targets)
        number = running[workers.pids[index]]
        if not killed:
            while state(db, number) == "RUNNING" and not has_checkpoint(number, db, trials_dir):
                time.sleep(0.02)
        else:
            time.sleep(rng.uniform(0.0, typical_trial_s(db)))
        if in_flight(db).get(workers.pids[index]) != number:
            continue  # it finished (or moved on) meanwhile: another moment
        workers.kill_and_restart(index)
        if state(db, number) == "RUNNING":  # killed in flight, not just after it ended
            killed.append(number)
    return killed


def test_workers_killed_mid_trial_ten_times_finish_the_study_cleanly(tmp_path):
    path = write(tmp_path, KILLED_STUDY)
    resolved = resolve_search(path)
    open_study(resolved)  # created once here; its base model trained once, before the workers start
    data = resolved.study.dataset.load(None)
    base = get_baseline(resolved.study.model, data, resolved.baseline, progress=False)
    db, trials_dir = tmp_path / "out" / "study.db", paths.cache_dir() / "trials"
    workers, seen = Workers(path, tmp_path), {}
    try:
        killed = kill_in_flight(workers, db, trials_dir, seen)
        assert workers.wait(timeout_s=300) == ["0"] * WORKERS, (tmp_path / "workers.log").read_text()
    finally:
        workers.stop()
    done = optuna.load_study(study_name="tiny", storage=resolved.storage).get_trials()
    by_number = {t.number: t for t in done}
    complete = [t for t in done if t.state.name == "COMPLETE"]
    assert all(by_number[n].state.name == "COMPLETE" and tuple(by_number[n].values) == v for n, v in seen.items())
    assert all(by_number[n].state.name == "FAIL" for n in killed), {n: by_number[n].state.name for n in killed}
    assert [t.state.name for t in done].count("FAIL") == len(killed)  # nothing else failed
    trained = {t.user_attrs["candidate_key"]: t for t in complete if "reused_from" not in t.user_attrs}
    assert len(trained) == len([t for t in complete if "reused_from" not in t.user_attrs]) == BUDGET
    for t in complete:  # a twin sampled at the same moment completes by reusing the one training
        assert t.user_attrs.get("reused_from", t.number) == trained[t.user_attrs["candidate_key"]].number
    for number in killed:  # retried with its parameters, up to a retry that completed
        retries = [t for t in done if number in t.system_attrs.get("retry_history", [])]
        assert retries and retries[-1].state.name == "COMPLETE", number
        assert retries[-1].user_attrs["candidate_key"] == by_number[number].user_attrs["candidate_key"]
    # no claim or slot left but the trainings that completed, no checkpoint left in the cache
    with sa.create_engine(resolved.storage).connect() as connection:
        claims = dict(connection.execute(sa.text(f"SELECT candidate_key, trial_number FROM {TABLE}")).all())
        slots = {key for (key,) in connection.execute(sa.text(f"SELECT candidate_key FROM {SLOTS}"))}
    assert claims == {key: t.number for key, t in trained.items()} and slots == set(trained)
    assert not list(trials_dir.glob("*/*.checkpoints"))
    # the first killed trial's retry resumed from its checkpoints, and ended where an
    # uninterrupted training of the same candidate ends, bit for bit
    retry = [t for t in done if killed[0] in t.system_attrs.get("retry_history", [])][-1]
    assert retry.user_attrs["resumed_steps"] > 0
    fresh, result = retrain(CandidateSpec.from_record(retry.user_attrs["candidate"]), base, data, resolved.training,
                            progress=False)
    resumed = load_candidate(retry.user_attrs["weights"]).module.state_dict()
    assert all(torch.equal(resumed[name], tensor.cpu()) for name, tensor in fresh.module.state_dict().items())
    assert retry.user_attrs["accuracy"] == result.test_accuracy
