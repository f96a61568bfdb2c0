"""Running a tabular benchmark: every candidate of a search study's grid, resumable over calls.

Each candidate is built (netmodels.candidate.build_candidate) and priced on the study's hardware
(explorer.cost.candidate.price_candidate); one that is not buildable or breaks an analytic
constraint (explorer.search.feasibility, the search trial's check) gets its status and reason,
any other is retrained from the cached base model at the study's candidate budget
(netmodels.recipes.retrain) and priced again as trained. Once every candidate has its row, the
long subset (explorer.tabular.grid.long_subset) is retrained at long_factor x that budget.
The table is rewritten atomically after every candidate, so a killed call loses at most the
candidate in flight; rows already there are skipped, so the same command continues. A call that
has candidates to train first drops what another base model trained (by the digest each row
records: a fresh cache trained it anew), so that what it adds sits beside rows of its own base
model; a finished table is left as it is. With a
time limit a call stops before a candidate that the median training seconds so far say would
not finish in time. With `workers` > 1 up to that many candidates train at once in worker
processes (explorer.tabular.trainers, placed on the GPUs as the search's workers are); this
process alone writes the table.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explorer.cost.candidate import price_candidate
from explorer.resumable import Deadline
from explorer.search import placement
from explorer.search.feasibility import analytic_violation
from explorer.studies.search import ResolvedSearch, candidate_spec
from explorer.tabular.grid import GridPoint, grid_points, long_subset
from explorer.tabular.provenance import TableProvenance
from explorer.tabular.table import INFEASIBLE, NOT_BUILDABLE, TRAINED, Table
from explorer.tabular.trainers import InlineTrainer, Job, Trained, WorkerPool
from netmodels.baseline import Baseline, get_baseline
from netmodels.candidate import Candidate, CandidateProfile, build_candidate
from netmodels.data import ImageDataset
from splitbase import SplitExplorerError, StudyError


@dataclass(frozen=True)
class TabularSettings:
    """Where the table goes, the long budget (long_factor x the candidate budget) and subset
    size, a call's time limit in seconds (None: none), how many candidates train at once
    (`workers` processes) and on which GPUs (`gpus`: --gpus, as the search's)."""

    output: Path
    long_factor: int = 5
    long_count: int = 64
    time_limit_s: float | None = None
    workers: int = 1
    gpus: str | None = None

    def __post_init__(self) -> None:
        if self.long_factor < 1:
            raise StudyError(f"--long-factor: must be >= 1, got {self.long_factor}")
        if self.long_count < 0:
            raise StudyError(f"--long-count: must be >= 0, got {self.long_count}")
        if self.time_limit_s is not None and not self.time_limit_s > 0:
            raise StudyError(f"--time-limit: must be > 0 seconds, got {self.time_limit_s}")
        if self.workers < 1:
            raise StudyError(f"--workers: must be >= 1, got {self.workers}")


@dataclass(frozen=True)
class Outcome:
    """What a call left: candidates trained by it, still without a row, still to retrain long
    (None while the short pass is unfinished: the subset is not known yet), and whether it
    stopped at the time limit."""

    trained: dict[str, int]
    remaining_short: int
    remaining_long: int | None
    stopped: bool


@dataclass(frozen=True)
class Assessed:
    """A built and priced candidate: status None (to train), NOT_BUILDABLE or INFEASIBLE."""

    status: str | None
    reason: str
    candidate: Candidate | None = None
    cost: dict[str, Any] | None = None


def assess(resolved: ResolvedSearch, point: GridPoint, data: ImageDataset) -> Assessed:
    """Build the point's candidate untrained and price it; the search trial's pruning rules."""
    spec = candidate_spec(resolved, point.params)
    try:
        candidate = build_candidate(spec, input_shape=data.input_shape, num_classes=data.num_classes)
    except SplitExplorerError as exc:
        return Assessed(NOT_BUILDABLE, str(exc))
    cost = price_candidate(candidate.profile, resolved.hardware, bits=resolved.bits)
    reason = analytic_violation(cost, resolved.study.constraints)
    return Assessed(INFEASIBLE if reason else None, reason, candidate, cost)


def survey(resolved: ResolvedSearch, data: ImageDataset) -> Counter:
    """How many candidates of the grid are to train, not buildable or infeasible (nothing trained)."""
    return Counter(assess(resolved, point, data).status or "to train" for point in grid_points(resolved))


def knob_cells(point: GridPoint, seed: int) -> dict[str, Any]:
    params = point.params
    return {"candidate_key": point.key, "split": point.split_name, "split_index": point.split_index,
            "sparsity": params["sparsity"], "compression_ratio": params["compression_ratio"],
            "method": params["method"], "channel": point.channel_kind, "seed": seed}


def cost_cells(profile: CandidateProfile, cost: dict[str, Any]) -> dict[str, Any]:
    """Bits sent, achieved ratio, head and encoder MACs per image; latency (s), energy (J), feasible."""
    return {"sent_bits": cost["sent_bits"], "compression_ratio_achieved": profile.compression_ratio,
            **{name: cost[name] for name in ("head_macs", "encoder_macs", "latency_s", "energy_j", "feasible")}}


class TabularRunner:
    """One call of a table's run: the short pass over the grid, then the long subset."""

    def __init__(self, resolved: ResolvedSearch, settings: TabularSettings, *, data_root: str | None = None,
                 cache_dir: str | None = None, progress: bool = True) -> None:
        self.deadline = Deadline(settings.time_limit_s)
        self.resolved, self.settings, self.progress = resolved, settings, progress
        self.data_root, self.cache_dir = data_root, cache_dir
        self.envs = placement.worker_envs(settings.workers, settings.gpus)  # a bad --gpus fails before any write
        self.points = grid_points(resolved)
        self.by_key = {point.key: point for point in self.points}
        self.table = Table(settings.output, list(self.by_key))
        self.provenance = TableProvenance(settings.output.with_suffix(".json"), resolved,
                                          long_factor=settings.long_factor, long_count=settings.long_count)
        self.data: ImageDataset | None = None
        self.base: Baseline | None = None

    def run(self) -> Outcome:
        """Train what the table lacks, within the time limit; the provenance written in any case.
        This process (the base model, the one worker of --workers 1) runs under worker 0's GPU."""
        try:
            with placement.environment(self.envs[0]):
                return self._run()
        finally:
            self.provenance.write()

    def _run(self) -> Outcome:
        short = [point for point in self.points if point.key not in self.table.rows]
        if not short and not self._long_pending():
            return self._outcome()
        self._load()
        dropped, cleared = self.table.forget_other_bases(self.base.digest)
        if dropped or cleared:
            print(f"{dropped} rows and {cleared} long accuracies had been trained from another base model than "
                  f"{self.base.digest} (another cache or machine): trained again", file=sys.stderr, flush=True)
            short = [point for point in self.points if point.key not in self.table.rows]
        trainer = self._trainer()
        try:
            jobs = (Job(point.key, point.params) for point in short if self._trainable(point))
            for job, trained in trainer.train(jobs, lambda: self._fits("train_seconds")):
                self._record_short(self.by_key[job.key], trained)
            if trainer.stopped:
                return self._outcome(remaining_short=len(self.points) - len(self.table.rows), stopped=True)
            pending = self._long_pending()
            jobs = (Job(key, self.by_key[key].params, long=True) for key in pending)
            for done, (job, trained) in enumerate(trainer.train(jobs, lambda: self._fits("train_seconds_long")), 1):
                self._record_long(self.by_key[job.key], trained, done, len(pending))
            if trainer.stopped:
                return self._outcome(remaining_long=len(self._long_pending()), stopped=True)
        finally:
            trainer.close()
        return self._outcome()

    def _outcome(self, *, remaining_short: int = 0, remaining_long: int | None = 0, stopped: bool = False) -> Outcome:
        if remaining_short:
            remaining_long = None
        return Outcome(dict(self.provenance.trained), remaining_short, remaining_long, stopped)

    def _load(self) -> None:
        """The data set and the base model (trained here once, so that workers share the cached one)."""
        resolved = self.resolved
        self.data = resolved.study.dataset.load(self.data_root)
        self.base = get_baseline(resolved.study.model, self.data, resolved.baseline, cache_dir=self.cache_dir,
                                 progress=self.progress)

    def _trainer(self) -> InlineTrainer | WorkerPool:
        if len(self.envs) == 1:
            return InlineTrainer(self.resolved, self.base, self.data, self.settings.long_factor)
        return WorkerPool(self.resolved, self.envs, data_root=self.data_root, cache_dir=self.cache_dir,
                          long_factor=self.settings.long_factor)

    def _long_pending(self) -> list[str]:
        """The long subset's keys still without a long accuracy (all of the grid has rows)."""
        if len(self.table.rows) < len(self.points):
            return []
        subset = long_subset(list(self.by_key), self.table.trained(), self.settings.long_count,
                             self.resolved.study.search.seed)
        return [key for key in subset if not self.table.has_long(key)]

    def _fits(self, column: str) -> bool:
        """Whether a candidate started now ends within the time limit, by the table's `column`
        (the long one: long_factor x the short one's until it has values)."""
        short = self.table.column("train_seconds")
        return self.deadline.fits(self.table.column(column) or [self.settings.long_factor * s for s in short])

    def _trainable(self, point: GridPoint) -> bool:
        """Whether the point is to train; if not, its row (why it is not) is written now."""
        assessed = assess(self.resolved, point, self.data)
        if assessed.status is None:
            return True
        row = knob_cells(point, self.resolved.training.seed)
        row.update(status=assessed.status, reason=assessed.reason)
        if assessed.cost is not None:
            row.update(cost_cells(assessed.candidate.profile, assessed.cost))
        self.table.put(row)
        self._show(len(self.table.rows), len(self.points), point, f"{assessed.status}: {assessed.reason}")
        return False

    def _record_short(self, point: GridPoint, trained: Trained) -> None:
        """The point's row at the candidate budget, priced again as trained (training may change
        what is sent: a measured payload)."""
        resolved = self.resolved
        cost = price_candidate(trained.profile, resolved.hardware, bits=resolved.bits)
        row = knob_cells(point, resolved.training.seed)
        row.update(status=TRAINED, reason="", accuracy=trained.accuracy, train_seconds=round(trained.wall_time_s, 3),
                   baseline_accuracy=self.base.test_accuracy, baseline_digest=self.base.digest,
                   **cost_cells(trained.profile, cost))
        self.table.put(row)
        self.provenance.trained["short"] += 1
        self.provenance.write()
        self._show(len(self.table.rows), len(self.points), point,
                   f"accuracy {trained.accuracy:.4f} in {trained.wall_time_s:.1f} s")

    def _record_long(self, point: GridPoint, trained: Trained, number: int, total: int) -> None:
        """The point's accuracy at the long budget."""
        self.table.put({"candidate_key": point.key, "accuracy_long": trained.accuracy,
                        "train_seconds_long": round(trained.wall_time_s, 3),
                        "baseline_accuracy_long": self.base.test_accuracy, "baseline_digest_long": self.base.digest})
        self.provenance.trained["long"] += 1
        self.provenance.write()
        self._show(number, total, point, f"long: accuracy {trained.accuracy:.4f} in {trained.wall_time_s:.1f} s")

    @staticmethod
    def _show(number: int, total: int, point: GridPoint, what: str) -> None:
        knobs = ", ".join(f"{name}={point.channel_kind if name == 'channel' else value}"
                          for name, value in point.params.items())
        print(f"[{number}/{total}] {knobs}: {what}", file=sys.stderr, flush=True)
