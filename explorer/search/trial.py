"""One search trial: sample a candidate, price it as built, prune it or retrain it, record it.

The sampled point is a new allowed point of the pre-filtered grid (explorer.search.space,
explorer.search.distinct); a point the pre-filter took out is pruned with its reason and never
trained, whatever proposed it (an enqueued trial, a retry). The trial prices the candidate on the study's hardware (explorer.cost.candidate) and prunes it
before any training if an analytic constraint fails (memory, latency, energy, throughput),
recording why; otherwise it retrains it from the cached base model (netmodels.recipes.retrain)
and records accuracy, latency, energy, throughput, bits sent and MACs (explorer.search.record).
The accuracy drop limit enters NSGA-II / TPE as a constraint (a value > 0 is a violation).
An identical candidate is trained once: the trial that claims it first trains it
(explorer.search.claims), its twins wait for that trial and reuse its results; it trains only
within the budget (one of its slots, explorer.search.claims), so workers together train exactly
`search.trials` candidates (a trial that finds the budget spent by the others is pruned, saying
so). In oracle mode (explorer.search.oracle) the trial reads the candidate's measurements from a tabular benchmark
instead of building and retraining it. A successive-halving trial (explorer.search.halving) of
rung r trains at its rung's budget; its twins are the trials of the same candidate and rung.
A training checkpoints in the cache as it goes (checkpoint_dir), so the retry of a trial whose
worker was killed resumes where it stopped (recorded as resumed_steps); the checkpoints go once
the candidate's weights are saved.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from explorer.cost.candidate import price_candidate
from explorer.search import record
from explorer.search.claims import TrainingClaims
from explorer.search.feasibility import analytic_violation
from explorer.search.halving import budget_factor
from explorer.search.oracle import OracleTable
from explorer.search.space import SearchGrid, candidate_key
from explorer.search.storage import beat, fail_stale, recover_lost
from explorer.studies.search import ResolvedSearch, candidate_spec
from explorer.tabular.grid import long_config
from netmodels.baseline import get_baseline
from netmodels.candidate import CandidateSpec, build_candidate, save_candidate
from netmodels.data import ImageDataset
from netmodels.recipes import retrain
from netmodels.training.config import TrainConfig
from splitbase import SplitExplorerError, paths

WAIT_FOR_TWIN_S = 2.0


__all__ = ["TrialRunner", "candidate_key", "checkpoint_dir", "weights_path"]


def weights_path(resolved: ResolvedSearch, key: str, cache_dir: str | None = None) -> Path:
    """Where a trained candidate is kept: `<cache>/trials/<study>-<storage hash>/<key>.pt`, so two
    studies of one name on two storages never share a file (export copies the chosen one)."""
    storage = hashlib.sha1(resolved.storage.encode()).hexdigest()[:8]
    return paths.cache_dir(cache_dir) / "trials" / f"{resolved.study.name}-{storage}" / f"{key}.pt"


def checkpoint_dir(resolved: ResolvedSearch, claimed: str, spec: CandidateSpec, config: TrainConfig,
                   cache_dir: str | None = None) -> Path:
    """Where the training of one candidate checkpoints while it runs (a file per stage,
    netmodels.recipes.train_candidate): beside its weights, named by its claim key and a hash of
    what it trains (the spec, its training and the base model's training config), so that only a
    retry of the same training resumes from it."""
    identity = json.dumps([spec.record(), config.fingerprint(), resolved.baseline.fingerprint()], sort_keys=True,
                          default=str)
    digest = hashlib.sha1(identity.encode()).hexdigest()[:8]
    return weights_path(resolved, claimed, cache_dir).with_name(f"{claimed}-{digest}.checkpoints")


class TrialRunner:
    """Price, prune or retrain one sampled candidate; returns the study's objective values."""

    def __init__(self, resolved: ResolvedSearch, data: ImageDataset | None, claims: TrainingClaims, grid: SearchGrid,
                 *, progress: bool, cache_dir: str | None = None, oracle: OracleTable | None = None,
                 budget: int | None = None) -> None:
        """budget: the rung-0 candidates the study trains in all (None: no limit here)."""
        self.resolved, self.data, self.claims, self.grid, self.progress = resolved, data, claims, grid, progress
        self.cache_dir, self.oracle, self.budget = cache_dir, oracle, budget

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        beat(trial)
        # Optuna failed the stale trials just before this one began; a worker killed there lost retries
        recover_lost(trial.study)
        try:
            return self._run(trial)
        except optuna.TrialPruned:
            raise
        except Exception as error:
            record.write_error(trial, error)
            raise

    def _run(self, trial: optuna.Trial) -> tuple[float, ...]:
        row = self.grid.suggest(trial)
        key, choice = self.grid.keys[row], self.grid.choice(row)
        record.write_start(trial, key, choice,
                           budget=budget_factor(self.resolved.study.search, record.rung(trial), self.oracle))
        if self.grid.reasons[row]:  # out of the space: never built, never trained
            return self._prune(trial, self.grid.reasons[row])
        twin = self._finished_twin(trial, key)
        if twin is not None:
            return self._reuse(trial, twin)
        spec = candidate_spec(self.resolved, choice)
        record.write_candidate(trial, spec)
        if self.oracle is not None:
            return self._from_table(trial, key)
        try:
            candidate = build_candidate(spec, input_shape=self.data.input_shape, num_classes=self.data.num_classes)
        except SplitExplorerError as exc:
            return self._prune(trial, f"not buildable: {exc}")
        reason = self._price(trial, candidate)
        if reason:
            return self._prune(trial, reason)
        twin = self._claim_or_wait(trial, key)
        if twin is not None:
            return self._reuse(trial, twin)
        if not self._within_budget(trial, key):
            self.claims.release(key, trial.number)
            return self._prune(trial, f"the budget of {self.budget} candidates was spent by other trials")
        return self._train(trial, spec, key)

    def _from_table(self, trial: optuna.Trial, key: str) -> tuple[float, ...]:
        """The candidate's row of the tabular benchmark, recorded as a trained trial's."""
        measured = self.oracle.measured(key, long=record.rung(trial) > 0)
        if measured.reason:
            return self._prune(trial, measured.reason)
        record.write_table_row(trial, measured)
        self._constrain(trial, measured.accuracy_drop_points)
        return self._values(trial.user_attrs)

    def _constrain(self, trial: optuna.Trial, drop: float) -> None:
        """Optuna's constrained samplers read this: a value > 0 violates the accuracy-drop limit."""
        limit = self.resolved.study.constraints.max_accuracy_drop
        trial.set_constraint("accuracy_drop", drop - limit if limit is not None else 0.0)

    def _price(self, trial: optuna.Trial, candidate) -> str:
        """Record the candidate's price; the analytic constraint it breaks ("" when none)."""
        cost = price_candidate(candidate.profile, self.resolved.hardware, bits=self.resolved.bits)
        record.write_cost(trial, cost, candidate.profile, candidate.parts.codec_options)
        return analytic_violation(cost, self.resolved.study.constraints)

    def _train(self, trial: optuna.Trial, spec: CandidateSpec, key: str) -> tuple[float, ...]:
        """Retrain the candidate this trial holds the claim of, checkpointing as it goes: a retry
        of a killed trial resumes from the killed one's checkpoints. The checkpoints are removed
        and the claim released when the training ends here, saved or failed."""
        resolved = self.resolved
        base = get_baseline(resolved.study.model, self.data, resolved.baseline, cache_dir=self.cache_dir,
                            progress=self.progress)
        rung = record.rung(trial)
        config = long_config(resolved.training, int(budget_factor(resolved.study.search, rung, None))) if rung \
            else resolved.training
        claimed = _claim_key(key, rung)
        checkpoints = checkpoint_dir(resolved, claimed, spec, config, self.cache_dir)
        try:
            candidate, result = retrain(spec, base, self.data, config, checkpoint_dir=checkpoints,
                                        progress=self.progress)
            path = save_candidate(weights_path(resolved, claimed, self.cache_dir), candidate)
        except BaseException:
            self.claims.release(claimed, trial.number)  # a failed trial is not retried: no one resumes
            raise
        finally:
            shutil.rmtree(checkpoints, ignore_errors=True)
        # price again: training may change what is sent (measured payload)
        self._price(trial, candidate)
        for other in resolved.also:  # the same trained candidate on other devices
            record.write_other_device(trial, other.device_name,
                                      price_candidate(result.profile, other, bits=resolved.bits))
        drop = 100 * (base.test_accuracy - result.test_accuracy)
        record.write_training(trial, accuracy=result.test_accuracy, baseline_accuracy=base.test_accuracy,
                              accuracy_drop_points=drop, train_wall_time_s=result.wall_time_s, weights=str(path),
                              resumed_steps=sum(stage.result.resumed_from_step for stage in result.stages))
        self._constrain(trial, drop)
        return self._values(trial.user_attrs)

    def _values(self, attrs: dict[str, Any]) -> tuple[float, ...]:
        return tuple(float(attrs[o.field]) for o in self.resolved.objectives)

    def _prune(self, trial: optuna.Trial, reason: str) -> tuple[float, ...]:
        record.write_pruned(trial, reason)
        raise optuna.TrialPruned(reason)

    def _twins(self, trial: optuna.Trial, key: str) -> list[FrozenTrial]:
        """The other trials of the same candidate at the same rung."""
        rung = record.rung(trial)
        return [t for t in trial.study.get_trials(deepcopy=False) if t.number != trial.number
                and t.user_attrs.get("candidate_key") == key and record.rung(t) == rung]

    def _finished_twin(self, trial: optuna.Trial, key: str) -> FrozenTrial | None:
        """A trial that has already trained the same candidate."""
        return next((t for t in self._twins(trial, key) if record.trained(t)), None)

    def _claim_or_wait(self, trial: optuna.Trial, key: str) -> FrozenTrial | None:
        """None once this trial holds the candidate's training claim (it trains); otherwise the
        twin holding it, after waiting for the twin's training to finish."""
        claimed = _claim_key(key, record.rung(trial))
        while True:
            holder = self.claims.claim(claimed, trial.number)
            if holder == trial.number:
                return None
            fail_stale(trial.study)  # a holder whose worker was killed stays RUNNING until someone fails it
            twin = next((t for t in self._twins(trial, key) if t.number == holder), None)
            if twin is not None and record.trained(twin):
                return twin
            if twin is None or twin.state not in (TrialState.RUNNING, TrialState.WAITING):
                self.claims.release(claimed, holder)  # its trial failed: the training is ours to do
                continue
            time.sleep(WAIT_FOR_TWIN_S)

    def _within_budget(self, trial: optuna.Trial, key: str) -> bool:
        """Whether this trial may train `key`, holding its claim: a rung-0 trial takes one of the
        budget's slots (explorer.search.claims), waiting while every slot is held by a candidate
        in training; False once every slot holds a trained candidate."""
        if self.budget is None or record.rung(trial) > 0:
            return True
        while True:
            trials = trial.study.get_trials(deepcopy=False)
            standing = {t.user_attrs["candidate_key"]: "training" for t in trials
                        if t.state == TrialState.RUNNING and "candidate_key" in t.user_attrs}
            standing |= {t.user_attrs["candidate_key"]: "trained" for t in trials
                         if record.trained(t) and record.rung(t) == 0 and "reused_from" not in t.user_attrs}
            taken = self.claims.take_slot(key, self.budget, standing)
            if taken is not None:
                return taken
            fail_stale(trial.study)  # a slot's trial whose worker was killed stays RUNNING until failed
            time.sleep(WAIT_FOR_TWIN_S)

    def _reuse(self, trial: optuna.Trial, twin: FrozenTrial) -> tuple[float, ...]:
        record.copy_twin(trial, twin)
        return self._values(twin.user_attrs)


def _claim_key(key: str, rung: int) -> str:
    """What one training is claimed and saved by: the candidate key, `@rung` after it above rung 0."""
    return key if rung == 0 else f"{key}@{rung}"
