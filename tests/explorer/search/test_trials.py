"""Reading a finished study (explorer.search.trials.load_study): read-only, without Optuna's schema
check when the storage reads, with it (and its message) when it does not."""
import sqlite3

import optuna
import pytest

from explorer.search.trials import load_study
from explorer.studies.search import read_search
from splitbase import StudyError
from tests.explorer.search.search_cases import STUDY, write


@pytest.fixture()
def file(tmp_path):
    """The tiny study's file, read (its storage tmp_path/out/study.db, not yet there)."""
    (tmp_path / "out").mkdir()
    return read_search(write(tmp_path, STUDY))


def database(file):
    return file.storage[len("sqlite:///"):]


def stored(file, trials: int = 2) -> None:
    """The study in its storage, as Optuna writes it, with `trials` complete trials."""
    study = optuna.create_study(study_name=file.study.name, storage=file.storage,
                                directions=["maximize", "minimize"])
    for n in range(trials):
        study.add_trial(optuna.trial.create_trial(values=[0.5, 0.1 * n], user_attrs={"n": n}))


def tables(file) -> list[str]:
    with sqlite3.connect(database(file)) as db:
        return sorted(row[0] for row in db.execute("select name from sqlite_master where type = 'table'"))


def test_a_stored_study_is_read_with_its_trials_and_its_storage_left_as_it_was(file):
    stored(file)
    before = tables(file)
    study = load_study(file)
    assert [t.user_attrs["n"] for t in study.get_trials(deepcopy=False)] == [0, 1]
    assert tables(file) == before


def test_a_file_without_optunas_tables_is_no_study_and_gets_none(file):
    with sqlite3.connect(database(file)) as db:
        db.execute("create table notes (text)")
    with pytest.raises(StudyError, match="no study 'tiny' in sqlite:///.*: run `split-explorer search` first"):
        load_study(file)
    assert tables(file) == ["notes"]


def test_a_study_of_another_optuna_schema_gets_optunas_own_message(file):
    """An older schema (here: an old revision stamped, a table of today's gone) fails the first
    read; the second, with the version check, says what to do."""
    stored(file)
    with sqlite3.connect(database(file)) as db:
        db.execute("update alembic_version set version_num = 'v2.6.0.a'")
        db.execute("alter table trial_values rename to old_values")
    with pytest.raises(StudyError, match="cannot read the study storage .* optuna storage upgrade"):
        load_study(file)
