"""`split-explorer search`: Optuna over split x sparsity x compression x method x channel.

Each trial samples a candidate, prices it as built (explorer.cost.candidate) and prunes it
before any training if it breaks an analytic constraint (memory, latency, energy, throughput),
recording why; otherwise retrains it from the cached base model (netmodels.recipes) and stores
accuracy, latency, energy, throughput, bits sent and head MACs as trial attributes. The accuracy
drop limit enters NSGA-II / TPE as a constraint (a value > 0 is a violation).

Storage is Optuna's RDB storage (SQLite by default, any SQLAlchemy URL); trials heartbeat, so a
killed worker's trial is failed by the next worker and retried with the same parameters. The
same command resumes a study up to its trial count; `workers` processes share one storage. An
identical candidate is trained once: the trial that claims it first trains it
(explorer.search.claims), its twins wait for that trial and reuse its results.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.storages import RDBStorage
from optuna.study import MaxTrialsCallback
from optuna.trial import FrozenTrial, TrialState

from splitbase import SplitExplorerError
from explorer.cost.candidate import price_candidate
from explorer.search.claims import TrainingClaims
from explorer.search.storage import open_storage
from explorer.studies.search import ATTRIBUTE, ResolvedSearch, candidate_spec, resolve_search, space_choices, spec_record
from netmodels.baseline import get_baseline
from netmodels.candidate.build import build_candidate
from netmodels.data import ImageDataset, load_dataset
from netmodels.recipes import train_candidate

DONE = (TrialState.COMPLETE, TrialState.PRUNED)
WAIT_FOR_TWIN_S = 2.0


def search_storage(resolved: ResolvedSearch) -> RDBStorage:
    settings = resolved.study.search
    return open_storage(resolved.storage, heartbeat_s=settings.heartbeat_s, max_retry=settings.max_retry)


def make_sampler(resolved: ResolvedSearch, *, rank: int = 0) -> optuna.samplers.BaseSampler:
    """The study's sampler; worker `rank` gets seed + rank so workers do not sample in step."""
    seed = resolved.study.search.seed + rank
    name = resolved.sampler
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(
            seed=seed, population_size=max(4, min(50, resolved.study.search.trials // 3)))
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space_choices(resolved), seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def open_study(resolved: ResolvedSearch, *, rank: int = 0, storage: RDBStorage | None = None) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if storage is None:
        storage = search_storage(resolved)
    study = optuna.create_study(study_name=resolved.study.name, storage=storage,
                                sampler=make_sampler(resolved, rank=rank), directions=resolved.directions,
                                load_if_exists=True)
    if study.metric_names is None:  # named once, so optuna-dashboard shows "latency", not "Objective 1"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(resolved.study.objectives))
    return study


def candidate_key(params: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:16]


def weights_path(resolved: ResolvedSearch, key: str) -> Path:
    """Where a trained candidate module is kept (git-ignored; export copies the chosen one)."""
    return Path(".cache") / "trials" / resolved.study.name / f"{key}.pt"


class Objective:
    """Price, prune or retrain one sampled candidate; returns the study's objective values."""

    def __init__(self, resolved: ResolvedSearch, data: ImageDataset, claims: TrainingClaims, *,
                 progress: bool) -> None:
        self.resolved, self.data, self.claims, self.progress = resolved, data, claims, progress

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        choices = space_choices(self.resolved)
        params = {name: trial.suggest_categorical(name, values) for name, values in choices.items()}
        key = candidate_key(params)
        trial.set_user_attr("candidate_key", key)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        twin = self._finished_twin(trial, key)
        if twin is not None:
            return self._reuse(trial, twin)
        spec = candidate_spec(self.resolved, params)
        trial.set_user_attr("candidate", spec_record(spec))
        shape = self.data.input_shape
        try:
            candidate = build_candidate(spec, input_shape=shape, num_classes=self.data.num_classes)
        except SplitExplorerError as exc:
            return self._prune(trial, f"not buildable: {exc}")
        trial.set_user_attr("codec_options", dict(candidate.parts.codec_options))
        cost = price_candidate(candidate, self.resolved.hardware, input_shape=shape, bits=self.resolved.bits)
        reason = self._analytic_violation(cost)
        self._record_cost(trial, cost, candidate.profile)
        if reason:
            return self._prune(trial, reason)
        twin = self._claim_or_wait(trial, key)
        if twin is not None:
            return self._reuse(trial, twin)
        base = get_baseline(self.resolved.study.model, self.data, self.resolved.baseline, progress=self.progress)
        candidate = build_candidate(spec, input_shape=shape, num_classes=self.data.num_classes,
                                    base_model=base.model)
        result = train_candidate(candidate, self.data, self.resolved.training, progress=self.progress)
        # price again: training may change what is sent (measured payload) or the head (pruning)
        cost = price_candidate(candidate, self.resolved.hardware, input_shape=shape, bits=self.resolved.bits)
        self._record_cost(trial, cost, result.profile)
        for other in self.resolved.also:  # the same trained candidate on other devices
            priced = price_candidate(candidate, other, input_shape=shape, bits=self.resolved.bits)
            for name in ("latency_s", "energy_j", "throughput_fps", "feasible"):
                trial.set_user_attr(f"{name}@{other.device_name}", priced[name])
        drop = 100 * (base.test_accuracy - result.test_accuracy)
        limit = self.resolved.study.constraints.max_accuracy_drop
        trial.set_user_attr("accuracy", result.test_accuracy)
        trial.set_user_attr("baseline_accuracy", base.test_accuracy)
        trial.set_user_attr("accuracy_drop_points", drop)
        trial.set_user_attr("train_wall_time_s", result.wall_time_s)
        # Optuna's constrained samplers read this: a value > 0 violates the accuracy-drop limit
        trial.set_constraint("accuracy_drop", drop - limit if limit is not None else 0.0)
        path = weights_path(self.resolved, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(candidate.module.cpu(), path)
        trial.set_user_attr("weights", str(path))
        return self._values(trial.user_attrs)

    def _values(self, attrs: dict[str, Any]) -> tuple[float, ...]:
        return tuple(float(attrs[ATTRIBUTE[o]]) for o in self.resolved.study.objectives)

    def _record_cost(self, trial: optuna.Trial, cost: dict, profile) -> None:
        for name in ("latency_s", "energy_j", "throughput_fps", "head_macs", "sent_bits",
                     "feasible", "infeasible_reason"):
            trial.set_user_attr(name, cost[name])
        trial.set_user_attr("compression_ratio", profile.compression_ratio)
        trial.set_user_attr("profile", profile.to_dict())

    def _analytic_violation(self, cost: dict) -> str:
        limits = self.resolved.study.constraints
        if limits.fits_device and not cost["feasible"]:
            return str(cost["infeasible_reason"])
        checks = ((limits.max_latency_s, cost["latency_s"], "latency", "s", 1),
                  (limits.max_energy_j, cost["energy_j"], "energy", "J", 1),
                  (limits.min_throughput_fps, cost["throughput_fps"], "throughput", "frames/s", -1))
        for limit, value, what, unit, sign in checks:
            if limit is not None and sign * value > sign * limit:
                return f"{what} {value:.3g} {unit} breaks the limit {limit:g} {unit}"
        return ""

    def _prune(self, trial: optuna.Trial, reason: str) -> tuple[float, ...]:
        trial.set_user_attr("pruned_reason", reason)
        raise optuna.TrialPruned(reason)

    def _twins(self, trial: optuna.Trial, key: str) -> list[FrozenTrial]:
        return [t for t in trial.study.get_trials(deepcopy=False)
                if t.number != trial.number and t.user_attrs.get("candidate_key") == key]

    def _finished_twin(self, trial: optuna.Trial, key: str) -> FrozenTrial | None:
        """A trial that has already trained the same candidate."""
        return next((t for t in self._twins(trial, key)
                     if t.state == TrialState.COMPLETE and "accuracy" in t.user_attrs), None)

    def _claim_or_wait(self, trial: optuna.Trial, key: str) -> FrozenTrial | None:
        """None once this trial holds the candidate's training claim (it trains); otherwise the
        twin holding it, after waiting for the twin's training to finish."""
        while True:
            holder = self.claims.claim(key, trial.number)
            if holder == trial.number:
                return None
            # a holder whose worker was killed stays RUNNING until someone fails it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(trial.study)
            twin = next((t for t in self._twins(trial, key) if t.number == holder), None)
            if twin is not None and twin.state == TrialState.COMPLETE and "accuracy" in twin.user_attrs:
                return twin
            if twin is None or twin.state not in (TrialState.RUNNING, TrialState.WAITING):
                self.claims.release(key, holder)  # its trial failed: the training is ours to do
                continue
            time.sleep(WAIT_FOR_TWIN_S)

    def _reuse(self, trial: optuna.Trial, twin: FrozenTrial) -> tuple[float, ...]:
        for name, value in twin.user_attrs.items():
            if name not in ("candidate_key", "worker"):
                trial.set_user_attr(name, value)
        for name, value in twin.constraints.items():
            trial.set_constraint(name, value)
        trial.set_user_attr("reused_from", twin.number)
        return self._values(twin.user_attrs)


def finished(study: optuna.Study) -> int:
    return sum(t.state in DONE for t in study.get_trials(deepcopy=False))


def load_data(resolved: ResolvedSearch, data_root: str | None) -> ImageDataset:
    spec = resolved.study.dataset
    return load_dataset(spec.name, root=data_root or spec.root, **spec.options)


def _optimize(resolved: ResolvedSearch, data: ImageDataset, storage: RDBStorage, *, progress: bool,
              rank: int = 0) -> None:
    study = open_study(resolved, rank=rank, storage=storage)
    total = resolved.study.search.trials
    if finished(study) >= total:
        return
    claims = TrainingClaims(storage.engine, study.study_name)
    study.optimize(Objective(resolved, data, claims, progress=progress), n_trials=None,
                   callbacks=[MaxTrialsCallback(total, states=DONE), _report(total)],
                   catch=(SplitExplorerError, RuntimeError, ValueError))


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
        print(f"[{finished(study)}/{total}] trial {trial.number} ({params}): {what}",
              file=sys.stderr, flush=True)
    return show


def _worker(path: str, storage: str, trials: int, data_root: str | None, rank: int, ready) -> None:
    torch.set_num_threads(1)
    resolved = resolve_search(path, storage=storage)
    resolved.study.search.trials = trials  # the parent's, which --trials may have changed
    data = load_data(resolved, data_root)
    ready.wait()  # start together: a worker slow to import must not find the study finished
    _optimize(resolved, data, search_storage(resolved), progress=False, rank=rank)


def run_search(resolved: ResolvedSearch, *, workers: int = 1, data_root: str | None = None,
               progress: bool = True) -> optuna.Study:
    """Run (or resume) the study until it has `search.trials` finished trials."""
    data = load_data(resolved, data_root)
    # opened before any training, so that a storage out of reach fails at once; tables and
    # study are created here once, before workers race to create them
    rdb = search_storage(resolved)
    open_study(resolved, storage=rdb)
    # the base model is trained once, before workers start, so they share the cached one
    get_baseline(resolved.study.model, data, resolved.baseline, progress=progress)
    if workers <= 1:
        _optimize(resolved, data, rdb, progress=progress)
    else:
        context = multiprocessing.get_context("spawn")
        ready = context.Barrier(workers)
        args = (str(resolved.path), resolved.storage, resolved.study.search.trials, data_root)
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
