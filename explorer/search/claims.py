"""Which trial trains a candidate: one claim per (study, candidate key), taken atomically.

Optuna's storage has no compare-and-set, so two workers that sample the same candidate at the
same moment both find no twin and both train it (seen with two workers on one loaded core).
The claim is a row in a table of our own beside Optuna's, in the same database: its primary
key makes exactly one INSERT win, on SQLite, PostgreSQL and MySQL alike. The others wait for
the winner's trial and reuse its result; when the winner's trial fails, its claim is released
and a waiting twin takes it.

The budget is kept the same way: a candidate trains only while it holds one of the study's
`budget` numbered slots (a second table, one row per slot), so that W workers together train
`search.trials` candidates, not up to W - 1 more. A slot whose candidate is neither trained nor
in training any more (its trial failed, its worker was killed) is taken over.
"""
from __future__ import annotations

from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

TABLE = "split_explorer_training_claims"
SLOTS = "split_explorer_budget_slots"


class TrainingClaims:
    """The claims of one study, kept in the database behind `engine` (the study's storage)."""

    def __init__(self, engine: sa.Engine, study_name: str) -> None:
        self.engine, self.study_name = engine, study_name
        metadata = sa.MetaData()
        self.table = sa.Table(
            TABLE, metadata,
            sa.Column("study_name", sa.String(512), primary_key=True),
            sa.Column("candidate_key", sa.String(64), primary_key=True),
            sa.Column("trial_number", sa.Integer, nullable=False))
        self.slots = sa.Table(
            SLOTS, metadata,
            sa.Column("study_name", sa.String(512), primary_key=True),
            sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("candidate_key", sa.String(64), nullable=False))
        try:
            metadata.create_all(engine)
        except DBAPIError:  # another worker created it between our check and our CREATE
            if not all(sa.inspect(engine).has_table(name) for name in (TABLE, SLOTS)):
                raise

    def _row(self, key: str):
        return (self.table.c.study_name == self.study_name) & (self.table.c.candidate_key == key)

    def claim(self, key: str, trial_number: int) -> int:
        """Claim candidate `key` for trial `trial_number`: the number of the trial that holds
        the claim afterwards, `trial_number` itself when this call took it."""
        try:
            with self.engine.begin() as connection:
                connection.execute(sa.insert(self.table).values(
                    study_name=self.study_name, candidate_key=key, trial_number=trial_number))
            return trial_number
        except IntegrityError:
            with self.engine.connect() as connection:
                holder = connection.execute(sa.select(self.table.c.trial_number).where(self._row(key))).scalar()
            # released between our INSERT and this read: try again
            return self.claim(key, trial_number) if holder is None else holder

    def release(self, key: str, holder: int) -> None:
        """Drop `holder`'s claim on `key` (its trial failed), so that a twin can take it; a
        claim already taken over by another trial is left alone."""
        with self.engine.begin() as connection:
            connection.execute(sa.delete(self.table).where(self._row(key) & (self.table.c.trial_number == holder)))

    def take_slot(self, key: str, budget: int, standing: Mapping[str, str]) -> bool | None:
        """One of the study's slots 0..budget-1 for candidate `key`, whose training claim the
        caller holds. True when `key` holds a slot (already: a retry of its killed trial, or
        taken now: a free slot, or one whose candidate `standing` does not list any more);
        False when every slot holds a trained candidate (the budget is spent); None when some
        are still training (ask again later). `standing`: candidate key -> "trained" or
        "training", for the candidates trained or in a running trial."""
        mine = self.slots.c.study_name == self.study_name
        with self.engine.connect() as connection:
            held = dict(connection.execute(sa.select(self.slots.c.slot, self.slots.c.candidate_key).where(mine)).all())
        if key in held.values():
            return True
        for slot in range(budget):
            holder = held.get(slot)
            if holder in standing:
                continue
            try:
                with self.engine.begin() as connection:
                    if holder is not None:  # its candidate's training is over, unfinished
                        connection.execute(sa.delete(self.slots).where(
                            mine & (self.slots.c.slot == slot) & (self.slots.c.candidate_key == holder)))
                    connection.execute(sa.insert(self.slots).values(study_name=self.study_name, slot=slot,
                                                                    candidate_key=key))
                return True
            except IntegrityError:  # another candidate took it first: the next one
                continue
        spent = all(standing.get(held.get(slot)) == "trained" for slot in range(budget))
        return False if spent else None
