"""The search's Optuna storage: RDB (SQLite by default, any SQLAlchemy URL) with heartbeats.

Kept free of torch so that opening or inspecting a study is cheap.
"""
from __future__ import annotations

import copy
import random
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages._heartbeat import BaseHeartbeat  # what fail_stale_trials itself checks
from optuna.trial import TrialState

from explorer.search import record
from splitbase import SplitExplorerError, StudyError


#: heartbeats a trial may miss before it is failed as stale (its worker killed)
GRACE_BEATS = 2


def check_storage_url(url: str, where: str) -> None:
    """A URL SQLAlchemy can parse, for a database whose driver is installed (not yet connected);
    StudyError naming `where` (the option or study field) otherwise."""
    try:
        sqlalchemy.engine.make_url(url).get_dialect().import_dbapi()
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as exc:
        raise StudyError(f"{where}: {url!r} is not a SQLAlchemy database URL ({exc})") from None
    except ImportError as exc:
        hint = ' (pip install -e ".[postgres]")' if url.startswith("postgresql") else ""
        raise StudyError(f"{where}: the driver for {url!r} is not installed: {exc}{hint}") from None


def open_storage(url: str, *, heartbeat_s: int, max_retry: int, attempts: int = 6) -> RDBStorage:
    """Optuna's RDB storage at `url`; a trial silent for 2 x `heartbeat_s` seconds is failed and
    retried up to `max_retry` times with its parameters.

    Independent processes opening one new SQLite file at once race to create its tables and
    stamp its schema version (optuna/optuna#4621): the loser sees "table already exists",
    "database is locked" or a unique-constraint failure. Opening again finds the tables, so
    those errors are retried after a growing, jittered wait. A SQLite storage's transactions
    are then made atomic (`_serialise_sqlite`).
    """
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = RDBStorage(
                    url,
                    engine_kwargs={"connect_args": {"timeout": 60}} if url.startswith("sqlite") else None,
                    heartbeat_interval=heartbeat_s, grace_period=GRACE_BEATS * heartbeat_s,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=max_retry))
            if storage.engine.dialect.name == "sqlite":
                _serialise_sqlite(storage.engine)
            return storage
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError) as error:
            if attempt == attempts - 1:
                raise SplitExplorerError(f"cannot open the study storage {url}: {str(error).splitlines()[0]}") from error
            time.sleep(0.2 * 2 ** attempt * (1 + random.random()))
    raise SplitExplorerError(f"cannot open the study storage {url}: attempts must be at least 1")


def _serialise_sqlite(engine: sqlalchemy.Engine) -> None:
    """Make each of the engine's transactions take SQLite's write lock when it begins.

    Optuna reads a row, then updates it, trusting SELECT ... FOR UPDATE to lock it between the
    two; SQLite ignores FOR UPDATE, and Python's sqlite3 opens no transaction for a SELECT, so
    two workers both read a WAITING trial (a killed trial's retry), both set it RUNNING and both
    run it: the second to finish gets "Cannot tell a COMPLETE trial". With pysqlite's own
    BEGIN turned off and BEGIN IMMEDIATE emitted instead, the read and the write are one
    transaction that a second worker waits for (up to the connection's timeout). This is
    SQLAlchemy's documented recipe for SQLite transactions; the connections the constructor
    opened are dropped so that every later one goes through it.
    """
    @sqlalchemy.event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @sqlalchemy.event.listens_for(engine, "begin")
    def _begin_immediate(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()


def fail_stale(study: optuna.Study) -> None:
    """Fail the trials of killed workers and queue their retries: Optuna's `fail_stale_trials`
    (a trial silent past the grace period), then `recover_lost`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    recover_lost(study)


def beat(trial: optuna.Trial) -> None:
    """Record the trial's heartbeat now, before it writes anything: Optuna's heartbeat thread
    records its first beat beside the trial, and a worker killed before that beat lands (its
    write waiting on a busy database) would leave a RUNNING trial that never goes stale."""
    storage = trial.study._storage
    if isinstance(storage, BaseHeartbeat) and storage.get_heartbeat_interval():
        storage.record_heartbeat(trial._trial_id)


def recover_lost(study: optuna.Study) -> None:
    """Fail and retry the trials of killed workers that Optuna's heartbeat does not catch.

    - A trial RUNNING for longer than the grace period that never started (`record.started`:
      its first beat, `beat`, comes before it) has no heartbeat, so Optuna never finds it
      stale: its worker died between Optuna's ask and our objective. It is failed and retried.
    - Optuna's `fail_stale_trials` first fails every stale trial and only then runs the retry
      callback for each: a worker killed between the two leaves failed trials that nobody
      retries (seen with ten kills among three workers). A failed trial that did not raise
      (`record.raised`) and is in no trial's retry history is such a one.

    Retries go through the storage's own callback, which keeps `max_retry`. Two workers doing
    this at once queue two retries of one trial; the training claims make the second reuse
    the first's training.
    """
    storage = study._storage
    if not isinstance(storage, BaseHeartbeat) or not storage.get_heartbeat_interval():
        return
    retry = storage.get_heartbeat_stale_trial_callback()
    if retry is None:
        return
    grace = timedelta(seconds=GRACE_BEATS * storage.get_heartbeat_interval())
    trials = study.get_trials(deepcopy=False)
    retried = {number for t in trials for number in t.system_attrs.get("retry_history", ())}
    for trial in trials:
        unstarted = (trial.state == TrialState.RUNNING and not record.started(trial)
                     and datetime.now() - trial.datetime_start > grace)
        if unstarted and not _fail(storage, trial._trial_id):
            continue
        if unstarted or (trial.state == TrialState.FAIL and trial.number not in retried and not record.raised(trial)):
            retry(study, copy.deepcopy(storage.get_trial(trial._trial_id)))


def _fail(storage: optuna.storages.BaseStorage, trial_id: int) -> bool:
    """Fail a RUNNING trial; False when another worker finished it first."""
    try:
        return storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
