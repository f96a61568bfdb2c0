"""`split-explorer search`: Optuna over split x sparsity x compression x method x channel.

Each trial is run by explorer.search.trial.TrialRunner on a new point of the pre-filtered grid
(explorer.search.space, explorer.search.distinct). The budget `search.trials` counts distinct
evaluated candidates (trained, or read from the table in oracle mode): a trial reusing a twin's
training or pruned before training does not count, workers together train no more than it
(the budget's slots, explorer.search.claims), and the run also stops once every allowed point of
the grid is taken. Storage is Optuna's RDB storage (SQLite by default, any SQLAlchemy
URL); trials heartbeat, so a killed worker's trial is failed by the next worker and retried
with the same parameters. The same command resumes a study up to its budget; `workers`
processes share one storage, worker i on GPU i mod G (explorer.search.placement). With
`search.policy: halving` the budget is rung 0, and the later rungs (explorer.search.halving) run
in this process once the workers are done. With a time limit, a worker starts no trial that the
median training time of the study's trained trials says would not end in time (the same command
continues).
"""
from __future__ import annotations

import multiprocessing
import sys
import time

import numpy as np
import optuna
import torch
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState
from tqdm import tqdm

from explorer.analysis.pareto import non_dominated
from explorer.resumable import Deadline
from explorer.search import placement, record
from explorer.search.claims import TrainingClaims
from explorer.search.halving import run_rungs
from explorer.search.oracle import OracleTable, load_table
from explorer.search.space import SearchGrid, search_grid
from explorer.search.study import open_study, search_storage
from explorer.search.trial import TrialRunner
from explorer.studies.search import ResolvedSearch, resolve_search
from netmodels.baseline import get_baseline
from netmodels.data import ImageDataset
from splitbase import SplitExplorerError


def evaluated(study: optuna.Study) -> int:
    """Distinct candidates evaluated: complete trials that trained (or read) their own candidate."""
    return len({t.user_attrs["candidate_key"] for t in study.get_trials(deepcopy=False)
                if t.state == TrialState.COMPLETE and "reused_from" not in t.user_attrs})


def target(resolved: ResolvedSearch, grid: SearchGrid) -> int:
    """The evaluations the run aims at: search.trials, or the allowed points when fewer."""
    return min(resolved.study.search.trials, int(grid.allowed.sum()))


def exhausted(study: optuna.Study, grid: SearchGrid) -> bool:
    """Whether every allowed point of the grid is settled: taken by a finished or failed trial,
    and by no trial still running or waiting (a retry)."""
    trials = study.get_trials(deepcopy=False)
    live = {t.user_attrs.get("candidate_key") for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)}
    settled = {t.user_attrs.get("candidate_key") for t in trials if t.state.is_finished()} - live
    return all(key in settled for key, ok in zip(grid.keys, grid.allowed) if ok)


def front_size(study: optuna.Study, resolved: ResolvedSearch) -> int:
    """Non-dominated feasible evaluations so far (the progress bar's best-so-far front)."""
    feasible = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE
                and "reused_from" not in t.user_attrs and not record.verdict(t)]
    if not feasible:
        return 0
    signs = np.array([o.sign for o in resolved.objectives])
    return int(non_dominated(np.array([t.values for t in feasible]) * signs).sum())


class Progress:
    """After each trial: stop at the budget or when the grid is exhausted (unless `stops` is
    False: a halving rung runs its promoted trials); show the trial (its choice by name) and a
    bar with rate, ETA and the front's size (on a terminal only)."""

    def __init__(self, resolved: ResolvedSearch, grid: SearchGrid, *, show: bool, stops: bool = True) -> None:
        self.resolved, self.grid, self.show, self.stops = resolved, grid, show, stops
        self.total = target(resolved, grid)
        self.bar = tqdm(total=self.total, unit="candidate", file=sys.stderr, dynamic_ncols=True,
                        disable=not (show and sys.stderr.isatty()))

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        done = evaluated(study)
        if self.stops and (done >= self.total or exhausted(study, self.grid)):
            study.stop()
        if not self.show:
            return
        self.bar.update(min(done, self.total) - self.bar.n)
        self.bar.set_postfix(front=front_size(study, self.resolved), refresh=False)
        rung = record.rung(trial)
        self.bar.write(f"[{done}/{self.total}]{f' rung {rung}' if rung else ''} trial {trial.number} "
                       f"({self.describe(trial)}): {self.outcome(trial)}", file=sys.stderr)

    @staticmethod
    def describe(trial: FrozenTrial) -> str:
        """The trial's choice by name, as trials.csv shows it (the channel by its kind)."""
        choice = dict(trial.user_attrs.get("choice", trial.params))
        channel = trial.user_attrs.get("candidate", {}).get("channel", {}).get("kind")
        if channel is not None:
            choice["channel"] = channel
        return ", ".join(f"{k}={v}" for k, v in choice.items())

    @staticmethod
    def outcome(trial: FrozenTrial) -> str:
        attrs = trial.user_attrs
        if trial.state == TrialState.PRUNED:
            return f"pruned: {attrs.get('pruned_reason', '')}"
        if trial.state != TrialState.COMPLETE:
            return trial.state.name.lower()
        reason = record.verdict(trial)
        return (f"accuracy {attrs['accuracy']:.4f}, latency {1e3 * attrs['latency_s']:.3g} ms, "
                f"energy {1e3 * attrs['energy_j']:.3g} mJ"
                + (f" (reused trial {attrs['reused_from']})" if "reused_from" in attrs else "")
                + (f"; infeasible: {reason}" if reason else ""))

    def close(self) -> None:
        self.bar.close()


# a failing candidate (an error of ours, or torch's RuntimeError such as running out of memory)
# becomes a FAIL trial with its parameters logged; anything else is a bug and stops
CAUGHT = (SplitExplorerError, RuntimeError)


class StopAtDeadline:
    """An Optuna callback: stop the study's optimize loop in this process when a trial started
    now would not end within the deadline (by the median duration of the trials that trained)."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def durations_s(self, study: optuna.Study) -> list[float]:
        return [t.duration.total_seconds() for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if t.duration is not None and "reused_from" not in t.user_attrs]

    def fits(self, study: optuna.Study) -> bool:
        return self.deadline.fits(self.durations_s(study))

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if not self.fits(study):
            study.stop()


def _optimize(resolved: ResolvedSearch, data: ImageDataset | None, storage: RDBStorage, grid: SearchGrid,
              oracle: OracleTable | None, *, progress: bool, cache_dir: str | None, rank: int = 0,
              rungs: bool = False, deadline: Deadline = Deadline(None)) -> None:
    """Rung 0 (the sampled search) up to its budget; with `rungs`, then halving's later rungs;
    no trial started that would not end before `deadline`."""
    study = open_study(resolved, rank=rank, storage=storage, grid=grid)
    claims = TrainingClaims(storage.engine, study.study_name)
    runner = TrialRunner(resolved, data, claims, grid, progress=progress, cache_dir=cache_dir, oracle=oracle,
                         budget=None if oracle else target(resolved, grid))
    stop = StopAtDeadline(deadline)
    if not (evaluated(study) >= target(resolved, grid) or exhausted(study, grid)) and stop.fits(study):
        shown = Progress(resolved, grid, show=progress)
        try:
            study.optimize(runner, n_trials=None, callbacks=[shown, stop], catch=CAUGHT)
        finally:
            shown.close()
    if rungs and stop.fits(study):
        shown = Progress(resolved, grid, show=progress, stops=False)
        try:
            run_rungs(study, runner, resolved, grid, oracle, callbacks=[shown, stop], catch=CAUGHT)
        finally:
            shown.close()


def _oracle(resolved: ResolvedSearch, grid: SearchGrid) -> OracleTable | None:
    settings = resolved.study.search
    return load_table(settings.table, grid) if settings.mode == "oracle" else None


def _worker(path: str, storage: str, trials: int, data_root: str | None, cache_dir: str | None,
            ends_at: float | None, rank: int, ready) -> None:
    """A search worker process; `ends_at`: the time limit as a wall-clock time (time.time()), or None."""
    torch.set_num_threads(1)
    resolved = resolve_search(path, storage=storage, trials=trials)  # the parent's, --trials included
    grid = search_grid(resolved)
    oracle = _oracle(resolved, grid)
    data = None if oracle else resolved.study.dataset.load(data_root)
    ready.wait()  # start together: a worker slow to import must not find the study finished
    deadline = Deadline(None if ends_at is None else ends_at - time.time())
    _optimize(resolved, data, search_storage(resolved), grid, oracle, progress=False, cache_dir=cache_dir, rank=rank,
              deadline=deadline)


def run_search(resolved: ResolvedSearch, *, workers: int = 1, gpus: str | None = None, data_root: str | None = None,
               cache_dir: str | None = None, progress: bool = True, time_limit_s: float | None = None) -> optuna.Study:
    """Run (or resume) the study until it has evaluated `search.trials` distinct candidates (or
    every allowed point of its grid), or until a trial started would not end within
    `time_limit_s` seconds of now (None: no limit). Worker i sees GPU i mod G alone of the visible GPUs or of
    those `gpus` (--gpus: "all" or "0,1") names; this process (the base model, a single worker,
    halving's later rungs) runs under worker 0's environment (explorer.search.placement)."""
    envs = placement.worker_envs(workers, gpus)  # a bad --gpus fails here, before anything is written
    with placement.environment(envs[0]):  # read by CUDA at its first use in this process
        return _run_search(resolved, envs, data_root=data_root, cache_dir=cache_dir, progress=progress,
                           deadline=Deadline(time_limit_s))


def _run_search(resolved: ResolvedSearch, envs: list[dict[str, str]], *, data_root: str | None,
                cache_dir: str | None, progress: bool, deadline: Deadline) -> optuna.Study:
    workers = len(envs)
    grid = search_grid(resolved)
    oracle = _oracle(resolved, grid)  # a table that does not cover the space is refused here
    data = None if oracle else resolved.study.dataset.load(data_root)
    # opened before any training, so that a storage out of reach fails at once; tables and
    # study are created here once, before workers race to create them
    rdb = search_storage(resolved)
    open_study(resolved, storage=rdb, grid=grid)
    if oracle is None:  # the base model is trained once, before workers start, so they share the cached one
        get_baseline(resolved.study.model, data, resolved.baseline, cache_dir=cache_dir, progress=progress)
    halving = resolved.study.search.policy == "halving"
    if workers <= 1:
        _optimize(resolved, data, rdb, grid, oracle, progress=progress, cache_dir=cache_dir, rungs=halving,
                  deadline=deadline)
    else:
        context = multiprocessing.get_context("spawn")
        ready = context.Barrier(workers)
        ends_at = None if deadline.limit_s is None else time.time() + deadline.limit_s - deadline.elapsed_s()
        args = (str(resolved.path), resolved.storage, resolved.study.search.trials, data_root, cache_dir, ends_at)
        processes = [context.Process(target=_worker, args=(*args, rank, ready)) for rank in range(workers)]
        for process, env in zip(processes, envs):
            placement.start(process, env)  # its CUDA_VISIBLE_DEVICES, before it imports torch
        for process in processes:
            process.join()
        failed = [rank for rank, p in enumerate(processes) if p.exitcode != 0]
        if failed:
            raise SplitExplorerError(f"search workers {failed} exited with an error (see above); "
                                     "re-run the same command to resume")
        if halving:  # rung 0 is done (or the grid exhausted): the later rungs, here
            _optimize(resolved, data, rdb, grid, oracle, progress=progress, cache_dir=cache_dir, rungs=True,
                      deadline=deadline)
    return open_study(resolved, storage=rdb, grid=grid)
