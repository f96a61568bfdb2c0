"""A search study's trials as a table, its Pareto front and hypervolume (shared by pareto,
export and report)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import sqlalchemy.exc
from optuna.storages import RDBStorage

from explorer.analysis.pareto import hypervolume, non_dominated
from explorer.search.objectives import Objective
from explorer.search.record import COLUMNS, TrialRecord, device_key
from explorer.studies.search import SearchFile
from splitbase import StudyError


# a storage read that failed: SQLAlchemy's error, or Optuna's wrapping of it
_UNREADABLE = (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError)


def _load(file: SearchFile, *, check: bool) -> optuna.Study:
    """The study in `file.storage`, its trials read once (so that a storage this Optuna cannot read
    fails here; the study caches them for the next reads). Read-only: no table is created, and
    the schema-version check, which parses every Alembic migration script Optuna ships (about
    60 ms of a cold start), runs only when `check`. KeyError when the storage has no such study."""
    storage = RDBStorage(file.storage, skip_compatibility_check=not check, skip_table_creation=True)
    study = optuna.load_study(study_name=file.study.name, storage=storage)
    study.get_trials(deepcopy=False)
    return study


def load_study(file: SearchFile) -> optuna.Study:
    """The study as stored; StudyError (and nothing created) when it was never run there.

    Search opens its storage with Optuna's full checks, so a study it wrote has this Optuna's
    schema and the first read skips the version check; a read that fails (tables of another
    Optuna version, or none) is tried again with the check, whose message says which."""
    url = file.storage
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise StudyError(f"no study {file.study.name!r}: {url[len('sqlite:///'):]} does not exist; "
                         "run `split-explorer search` first")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    missing = f"no study {file.study.name!r} in {url}: run `split-explorer search` first"
    try:
        try:
            return _load(file, check=False)
        except _UNREADABLE:
            return _load(file, check=True)
    except KeyError:
        raise StudyError(missing) from None
    except RuntimeError as error:  # Optuna's schema check: the storage is of another Optuna version
        raise StudyError(f"cannot read the study storage {url}: {error}") from None
    except _UNREADABLE as error:  # no Optuna tables there
        raise StudyError(f"{missing}; {str(error.__cause__ or error).splitlines()[0]}") from None


def load_records(file: SearchFile) -> list[TrialRecord]:
    return [TrialRecord.of(trial) for trial in load_study(file).get_trials(deepcopy=False)]


def trials_frame(records: list[TrialRecord]) -> pd.DataFrame:
    """One row per trial (trials.csv): record.COLUMNS, then the other devices' columns."""
    rows = [record.row() for record in records]
    extra = sorted({name for row in rows for name in row if name not in COLUMNS})
    return pd.DataFrame(rows, columns=[*COLUMNS, *extra])


def load_trials(file: SearchFile) -> pd.DataFrame:
    return trials_frame(load_records(file))


@dataclass(frozen=True)
class Front:
    trials: pd.DataFrame      # the non-dominated feasible trials, best first objective first
    hypervolume: float
    reference: dict[str, float]


def longest_budget(frame: pd.DataFrame) -> pd.Series:
    """Whether each trial is its candidate's evaluation at the longest budget: complete, not
    reusing a twin, and of the highest successive-halving rung its candidate reached."""
    own = (frame["state"] == "COMPLETE") & frame["reused_from"].isna()
    if "rung" not in frame:  # a trials.csv from before halving: one budget
        return own
    rung = frame["rung"].fillna(0).astype(int)  # trials from before halving record no rung
    highest = rung[own].groupby(frame.loc[own, "candidate_key"]).max()
    return own & (rung == frame["candidate_key"].map(highest))


def front(frame: pd.DataFrame, objectives: tuple[Objective, ...], *, device: str | None = None) -> Front:
    """Non-dominated feasible complete trials, each candidate at its longest budget (duplicates
    of a reused candidate dropped); with `device`, the hardware objectives as priced on that
    extra device (`also_price_on`)."""
    ok = frame[frame["feasible"].astype(bool) & longest_budget(frame)]
    columns = [o.field if o.name == "accuracy" or device is None else device_key(o.field, device)
               for o in objectives]
    if device is not None and len(ok):
        ok = ok[ok[device_key("feasible", device)].astype(bool)]
    if ok.empty:
        return Front(ok, 0.0, {})
    signs = np.array([o.sign for o in objectives])
    values = ok[columns].to_numpy(dtype=float) * signs
    mask = non_dominated(values)
    # reference: accuracy 0 for a maximised accuracy, else 10 % beyond the worst value seen
    worst = values.max(axis=0)
    span = np.maximum(values.max(axis=0) - values.min(axis=0), np.abs(worst) * 0.1 + 1e-12)
    reference = np.where([o.name == "accuracy" for o in objectives], 0.0, worst + 0.1 * span)
    chosen = ok[mask].sort_values(columns[0], ascending=objectives[0].direction == "minimize")
    return Front(chosen, hypervolume(values, reference),
                 {o.name: float(r * s) + 0.0 for o, r, s in zip(objectives, reference, signs)})
