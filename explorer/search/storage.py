"""The search's Optuna storage: RDB (SQLite by default, any SQLAlchemy URL) with heartbeats.

Kept free of torch so that opening or inspecting a study is cheap.
"""
from __future__ import annotations

import random
import time
import warnings
from pathlib import Path

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from splitbase import SplitExplorerError, StudyError


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
                    heartbeat_interval=heartbeat_s, grace_period=2 * heartbeat_s,
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
