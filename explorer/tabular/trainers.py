"""Where a table's candidates train: in this process, or in N worker processes sharing the GPUs.

A trainer takes the jobs (candidate key, parameters, budget) lazily and yields each with its
result as it finishes. It draws the next job only while `fits()` says that a candidate started now
ends within the call's time limit, and `stopped` tells afterwards whether it left jobs undrawn.

`InlineTrainer` trains one job at a time here. `WorkerPool` starts `workers` processes (spawned,
each with its own CUDA_VISIBLE_DEVICES from explorer.search.placement, as the search's workers:
worker i on GPU i mod G), each of which resolves the study, loads the data set and the cached base
model once, then trains the jobs it is sent, at most one each, so up to `workers` candidates train
at once; the parent alone writes the table. Every job is trained with the study's seed, so a
candidate's result does not depend on which worker trained it (bit-identical on the CPU).
"""
from __future__ import annotations

import multiprocessing
import os
import queue
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from explorer.search import placement
from explorer.studies.search import ResolvedSearch, candidate_spec, resolve_search
from explorer.tabular.grid import long_config
from netmodels.baseline import Baseline, get_baseline
from netmodels.candidate import CandidateProfile
from netmodels.data import ImageDataset
from netmodels.recipes import retrain
from splitbase import SplitExplorerError

POLL_S = 5.0  # how often the parent checks that its workers are alive while it waits


@dataclass(frozen=True)
class Job:
    """One candidate to train: its grid key and parameters, at the long budget or not."""

    key: str
    params: dict[str, Any]
    long: bool = False


@dataclass(frozen=True)
class Trained:
    """A trained candidate: test accuracy (fraction), training wall time (s), its profile as trained."""

    accuracy: float
    wall_time_s: float
    profile: CandidateProfile


def train_job(resolved: ResolvedSearch, base: Baseline, data: ImageDataset, job: Job, long_factor: int) -> Trained:
    """Retrain the job's candidate from the base model at the study's candidate budget, or at
    long_factor x that budget."""
    config = long_config(resolved.training, long_factor) if job.long else resolved.training
    _, result = retrain(candidate_spec(resolved, job.params), base, data, config, progress=False)
    return Trained(result.test_accuracy, result.wall_time_s, result.profile)


class Trainer:
    """What both trainers share: `stopped`, and drawing the next job only while it fits in time."""

    stopped = False

    def _next_job(self, pending: Iterator[Job], fits: Callable[[], bool]) -> Job | None:
        """The next job, or None: none is left, or (then `stopped`) one is but would not end in time."""
        if not fits():
            self.stopped = next(pending, None) is not None
            return None
        return next(pending, None)


class InlineTrainer(Trainer):
    """Trains each job in this process, one after the other."""

    def __init__(self, resolved: ResolvedSearch, base: Baseline, data: ImageDataset, long_factor: int) -> None:
        self.resolved, self.base, self.data, self.long_factor = resolved, base, data, long_factor

    def train(self, jobs: Iterable[Job], fits: Callable[[], bool]) -> Iterator[tuple[Job, Trained]]:
        self.stopped, pending = False, iter(jobs)
        while (job := self._next_job(pending, fits)) is not None:
            yield job, train_job(self.resolved, self.base, self.data, job, self.long_factor)

    def close(self) -> None:
        """Nothing to release."""


def _serve(path: str, data_root: str | None, cache_dir: str | None, long_factor: int, threads: int,
           jobs: multiprocessing.Queue, results: multiprocessing.Queue) -> None:
    """A worker process: train the jobs it is sent until it gets None; an error is sent back as
    text (the parent stops the call) and ends the worker."""
    import torch

    torch.set_num_threads(threads)
    resolved = resolve_search(path)
    data = resolved.study.dataset.load(data_root)
    base = get_baseline(resolved.study.model, data, resolved.baseline, cache_dir=cache_dir, progress=False)
    while (job := jobs.get()) is not None:
        try:
            results.put((job, train_job(resolved, base, data, job, long_factor), None))
        except Exception as exc:  # the parent reports it and stops the call: nothing is lost but this job
            results.put((job, None, f"{type(exc).__name__}: {exc}"))
            return


class WorkerPool(Trainer):
    """`workers` processes training jobs side by side; see the module docstring."""

    def __init__(self, resolved: ResolvedSearch, envs: list[dict[str, str]], *, data_root: str | None,
                 cache_dir: str | None, long_factor: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.jobs, self.results = context.Queue(), context.Queue()
        threads = max(1, (os.cpu_count() or 1) // len(envs))
        args = (str(resolved.path), data_root, cache_dir, long_factor, threads, self.jobs, self.results)
        self.processes = [context.Process(target=_serve, args=args, daemon=True) for _ in envs]
        for process, env in zip(self.processes, envs):
            placement.start(process, env)  # its CUDA_VISIBLE_DEVICES, before it imports torch

    def train(self, jobs: Iterable[Job], fits: Callable[[], bool]) -> Iterator[tuple[Job, Trained]]:
        self.stopped, pending, in_flight, drawn_all = False, iter(jobs), 0, False
        while True:
            while in_flight < len(self.processes) and not drawn_all:
                job = self._next_job(pending, fits)
                if job is None:
                    drawn_all = True
                else:
                    self.jobs.put(job)
                    in_flight += 1
            if in_flight == 0:
                return
            yield self._result()
            in_flight -= 1

    def _result(self) -> tuple[Job, Trained]:
        """The next finished job; SplitExplorerError when a worker failed or died."""
        while True:
            try:
                job, trained, error = self.results.get(timeout=POLL_S)
                break
            except queue.Empty:
                dead = [rank for rank, p in enumerate(self.processes) if not p.is_alive()]
                if dead:
                    raise SplitExplorerError(f"tabulate workers {dead} exited (exit status "
                                             f"{[self.processes[r].exitcode for r in dead]}); finished rows "
                                             "are kept: re-run the same command to continue") from None
        if error is not None:
            raise SplitExplorerError(f"tabulate worker: training {job.key} failed: {error}; finished rows "
                                     "are kept: re-run the same command to continue")
        return job, trained

    def close(self) -> None:
        """Stop every worker: those idle end at the None they read, any other is terminated."""
        for _ in self.processes:
            self.jobs.put(None)
        for process in self.processes:
            process.join(timeout=POLL_S)
            if process.is_alive():
                process.terminate()
                process.join()
