"""The tabular benchmark file `results/tabular/<name>.csv`: its columns, reading it, rewriting it atomically.

One row per candidate of the grid, columns in `COLUMNS` order (the shared format: knobs, status,
accuracy at the candidate budget and at the long budget, the accuracy and weights digest of the
base model each budget's training started from, bits sent, head and encoder MACs per image,
latency (s), device energy (J) and feasibility as priced, the training seed), kept and rewritten
by explorer.resumable.ResultRows. A digest left empty is a row trained before digests were
recorded: its base model is known by its accuracy alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from explorer.resumable import ResultRows
from explorer.studies.common import RESULTS
from splitbase import DataError, StudyError

COLUMNS = ("candidate_key", "split", "split_index", "sparsity", "compression_ratio", "method", "channel",
           "status", "reason", "accuracy", "train_seconds", "accuracy_long", "train_seconds_long",
           "baseline_accuracy", "baseline_digest", "baseline_accuracy_long", "baseline_digest_long",
           "sent_bits", "compression_ratio_achieved", "head_macs", "encoder_macs", "latency_s", "energy_j",
           "feasible", "seed")
LONG_CELLS = ("accuracy_long", "train_seconds_long", "baseline_accuracy_long", "baseline_digest_long")
TRAINED, NOT_BUILDABLE, INFEASIBLE = "trained", "not_buildable", "infeasible"
TABULAR = RESULTS / "tabular"


def table_path(study_name: str, output: str | Path | None) -> Path:
    """`output` (a .csv path inside results/), or results/tabular/<study name>.csv."""
    return inside_results(Path(output) if output is not None else TABULAR / f"{study_name}.csv", "--output")


def inside_results(path: Path, what: str) -> Path:
    """`path`, a .csv file inside results/; StudyError naming the argument `what` for any other
    (a path escaping results/)."""
    if path.suffix != ".csv":
        raise StudyError(f"{what}: {str(path)!r} is not a .csv file")
    root = RESULTS.resolve()
    if not path.resolve().is_relative_to(root):
        raise StudyError(f"{what}: {str(path)!r} is outside {RESULTS}/ (tables belong there)")
    return path


class Table(ResultRows):
    """The rows of a table file by candidate key, written back in the grid's order; an existing
    file of another format (DataError) or with rows of another grid (StudyError) is refused."""

    def __init__(self, path: Path, keys: Sequence[str]) -> None:
        try:
            super().__init__(path, "candidate_key", COLUMNS, order=keys)
        except DataError:
            raise DataError(f"{path}: not a tabular benchmark file (its columns are not {', '.join(COLUMNS)})") from None
        foreign = sorted(set(self.rows) - set(keys))
        if foreign:
            raise StudyError(f"{path}: {len(foreign)} rows are not candidates of this study's grid "
                             f"(e.g. {foreign[0]}): another study's table; give another --output")

    def trained(self) -> set[str]:
        return {key for key, row in self.rows.items() if row["status"] == TRAINED}

    def has_long(self, key: str) -> bool:
        return self.rows[key]["accuracy_long"] != ""

    def forget_other_bases(self, digest: str) -> tuple[int, int]:
        """Drop what a base model other than `digest` trained (by its recorded digest; rows with
        none recorded are kept): a short row goes (it is trained again), a long accuracy is
        cleared. Returns (short rows dropped, long accuracies cleared)."""
        dropped = cleared = 0

        def wanted(row: dict[str, str]) -> dict[str, str] | None:
            nonlocal dropped, cleared
            if row["status"] == TRAINED and row["baseline_digest"] not in ("", digest):
                dropped += 1
                return None
            if row["accuracy_long"] != "" and row["baseline_digest_long"] not in ("", digest):
                cleared += 1
                return {**row, **dict.fromkeys(LONG_CELLS, "")}
            return row

        self.keep(wanted)
        return dropped, cleared
