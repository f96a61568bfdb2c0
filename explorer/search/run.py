"""`split-explorer search`: Optuna over split x sparsity x compression x method x channel.

Each trial is run by explorer.search.trial.TrialRunner. Storage is Optuna's RDB storage (SQLite
by default, any SQLAlchemy URL); trials heartbeat, so a killed worker's trial is failed by the
next worker and retried with the same parameters. The same command resumes a study up to its
trial count; `workers` processes share one storage.
"""
from __future__ import annotations

import multiprocessing
import sys

import optuna
import torch
from optuna.storages import RDBStorage
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState

from explorer.search.claims import TrainingClaims
from explorer.search.study import open_study, search_storage
from explorer.search.trial import TrialRunner
from explorer.studies.search import ResolvedSearch, resolve_search
from netmodels.baseline import get_baseline
from netmodels.data import ImageDataset
from splitbase import SplitExplorerError

DONE = (TrialState.COMPLETE, TrialState.PRUNED)


def finished(study: optuna.Study) -> int:
    return sum(t.state in DONE for t in study.get_trials(deepcopy=False))


def _optimize(resolved: ResolvedSearch, data: ImageDataset, storage: RDBStorage, *, progress: bool,
              cache_dir: str | None, rank: int = 0) -> None:
    study = open_study(resolved, rank=rank, storage=storage)
    total = resolved.study.search.trials
    if finished(study) >= total:
        return
    claims = TrainingClaims(storage.engine, study.study_name)
    runner = TrialRunner(resolved, data, claims, progress=progress, cache_dir=cache_dir)
    # a failing candidate (an error of ours, or torch's RuntimeError such as running out of
    # memory) becomes a FAIL trial with its parameters logged; anything else is a bug and stops
    study.optimize(runner, n_trials=None, callbacks=[MaxTrialsCallback(total, states=DONE), _report(total)],
                   catch=(SplitExplorerError, RuntimeError))


def _report(total: int):
    def show(study: optuna.Study, trial: FrozenTrial) -> None:
        attrs = trial.user_attrs
        if trial.state == TrialState.PRUNED:
            what = f"pruned: {attrs.get('pruned_reason', '')}"
        elif trial.state == TrialState.COMPLETE:
            what = (f"accuracy {attrs['accuracy']:.4f}, latency {1e3 * attrs['latency_s']:.3g} ms, "
                    f"energy {1e3 * attrs['energy_j']:.3g} mJ"
                    + (f" (reused trial {attrs['reused_from']})" if "reused_from" in attrs else ""))
        else:
            what = f"{trial.state.name.lower()}"
        params = ", ".join(f"{k}={v}" for k, v in trial.params.items())
        print(f"[{finished(study)}/{total}] trial {trial.number} ({params}): {what}", file=sys.stderr, flush=True)
    return show


def _worker(path: str, storage: str, trials: int, data_root: str | None, cache_dir: str | None, rank: int,
            ready) -> None:
    torch.set_num_threads(1)
    resolved = resolve_search(path, storage=storage, trials=trials)  # the parent's, --trials included
    data = resolved.study.dataset.load(data_root)
    ready.wait()  # start together: a worker slow to import must not find the study finished
    _optimize(resolved, data, search_storage(resolved), progress=False, cache_dir=cache_dir, rank=rank)


def run_search(resolved: ResolvedSearch, *, workers: int = 1, data_root: str | None = None,
               cache_dir: str | None = None, progress: bool = True) -> optuna.Study:
    """Run (or resume) the study until it has `search.trials` finished trials."""
    data = resolved.study.dataset.load(data_root)
    # opened before any training, so that a storage out of reach fails at once; tables and
    # study are created here once, before workers race to create them
    rdb = search_storage(resolved)
    open_study(resolved, storage=rdb)
    # the base model is trained once, before workers start, so they share the cached one
    get_baseline(resolved.study.model, data, resolved.baseline, cache_dir=cache_dir, progress=progress)
    if workers <= 1:
        _optimize(resolved, data, rdb, progress=progress, cache_dir=cache_dir)
    else:
        context = multiprocessing.get_context("spawn")
        ready = context.Barrier(workers)
        args = (str(resolved.path), resolved.storage, resolved.study.search.trials, data_root, cache_dir)
        processes = [context.Process(target=_worker, args=(*args, rank, ready)) for rank in range(workers)]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        failed = [rank for rank, p in enumerate(processes) if p.exitcode != 0]
        if failed:
            raise SplitExplorerError(f"search workers {failed} exited with an error (see above); "
                                     "re-run the same command to resume")
    return open_study(resolved, storage=rdb)
