"""What a search trial stores, written and read as Optuna user attributes in this module alone.

A trial's user attributes are flat JSON values (so optuna-dashboard shows them as they are):

- when sampled: candidate_key (explorer.search.space.candidate_key of the choice); at the start:
  choice (the user-facing split, sparsity, compression_ratio, method, channel), worker (host:pid),
  rung (0, or the successive-halving rung that promoted it: explorer.search.halving; an enqueued
  trial carries it from the start) and budget (its training budget over the candidate budget);
- the candidate: candidate (the CandidateSpec record), codec_options;
- its price as built: latency_s, energy_j, throughput_fps, head_macs (the head alone),
  encoder_macs, sent_bits, feasible, infeasible_reason, compression_ratio (achieved), profile
  (the CandidateProfile record); on every `also_price_on` device D the same candidate's
  latency_s@D, energy_j@D, throughput_fps@D, feasible@D (`DEVICE_FIELDS`, `device_key`);
- a pruned trial: pruned_reason; a trial whose code raised: error (its type and message: a
  failed trial without it was failed as stale, its worker killed, and is retried); a trained one: accuracy, baseline_accuracy,
  accuracy_drop_points, train_wall_time_s, weights (the saved candidate, explorer.search.weights),
  resumed_steps (optimiser steps, summed over the stages, taken from the checkpoints a killed
  trial of the same candidate left instead of trained again: 0 for a training from the start),
  and when trained on a GPU gpu (its CUDA_VISIBLE_DEVICES entry: the physical index a worker was
  placed on, explorer.search.placement) and gpu_name;
- read from a tabular benchmark (oracle mode): the same cost and training fields, oracle (true);
- a trial that reused an identical candidate's training: reused_from (the twin's number) and
  the twin's attributes.

`TrialRecord` reads one trial back; `TrialRecord.row()` is its line of trials.csv, where
`feasible` means complete and meeting every constraint (what the front counts) and
`infeasible_reason` says why not.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import optuna
from optuna.trial import FrozenTrial, TrialState

from explorer.search.placement import current_gpu

if TYPE_CHECKING:
    from netmodels.candidate import CandidateProfile, CandidateSpec

COST_FIELDS = ("latency_s", "energy_j", "throughput_fps", "head_macs", "encoder_macs", "sent_bits", "feasible",
               "infeasible_reason")
DEVICE_FIELDS = ("latency_s", "energy_j", "throughput_fps", "feasible")
TRAINING_FIELDS = ("accuracy", "baseline_accuracy", "accuracy_drop_points", "train_wall_time_s", "weights",
                   "resumed_steps")
# attributes a reusing trial does not copy from its twin: they describe the trial itself
OWN_FIELDS = ("candidate_key", "choice", "worker", "rung", "budget")
RUNG = "rung"
# trials.csv: the trial, its choice, its channel's kind, these attributes, `feasible` and
# `infeasible_reason` (the trial's verdict), then the other devices' columns
PARAM_COLUMNS = ("split", "sparsity", "compression_ratio", "method")
ATTRIBUTE_COLUMNS = ("accuracy", "accuracy_drop_points", "latency_s", "energy_j", "throughput_fps", "sent_bits",
                     "head_macs", "encoder_macs", "reused_from", "pruned_reason", "baseline_accuracy",
                     "train_wall_time_s", "gpu", "gpu_name", "rung", "budget", "candidate_key")
VERDICT_COLUMNS = ("feasible", "infeasible_reason")
COLUMNS = ("number", "state", *PARAM_COLUMNS, "channel", *ATTRIBUTE_COLUMNS, *VERDICT_COLUMNS)


def device_key(name: str, device: str) -> str:
    """The attribute (and trials.csv column) of field `name` priced on another device."""
    return f"{name}@{device}"


def mark_sampled(study: optuna.Study, trial: FrozenTrial, key: str) -> None:
    """The key of the candidate a sampler chose for `trial`, stored before the trial runs (so
    that other workers see it taken; the sampler has the frozen trial only)."""
    study._storage.set_trial_user_attr(trial._trial_id, "candidate_key", key)


def write_start(trial: optuna.Trial, key: str, choice: Mapping[str, Any], *, budget: float) -> None:
    """The trial's candidate, worker, rung and budget (x the candidate budget)."""
    trial.set_user_attr("candidate_key", key)
    trial.set_user_attr("choice", dict(choice))
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    trial.set_user_attr(RUNG, rung(trial))
    trial.set_user_attr("budget", budget)


def rung(trial: optuna.Trial | FrozenTrial) -> int:
    """The successive-halving rung of a trial (0 for a sampled one)."""
    return int(trial.user_attrs.get(RUNG, 0))


def write_candidate(trial: optuna.Trial, spec: CandidateSpec) -> None:
    trial.set_user_attr("candidate", spec.record())


def write_cost(trial: optuna.Trial, cost: Mapping[str, Any], profile: CandidateProfile,
               codec_options: Mapping[str, Any]) -> None:
    """The candidate's price on the study's hardware (explorer.cost.candidate) and its profile."""
    for name in COST_FIELDS:
        trial.set_user_attr(name, cost[name])
    trial.set_user_attr("compression_ratio", profile.compression_ratio)
    trial.set_user_attr("profile", profile.to_dict())
    trial.set_user_attr("codec_options", dict(codec_options))


def write_other_device(trial: optuna.Trial, device: str, cost: Mapping[str, Any]) -> None:
    for name in DEVICE_FIELDS:
        trial.set_user_attr(device_key(name, device), cost[name])


def write_pruned(trial: optuna.Trial, reason: str) -> None:
    trial.set_user_attr("pruned_reason", reason)


def write_error(trial: optuna.Trial, error: BaseException) -> None:
    trial.set_user_attr("error", f"{type(error).__name__}: {error}")


def started(trial: FrozenTrial) -> bool:
    """Whether the trial's objective began (write_start: its worker), not only Optuna's ask."""
    return "worker" in trial.user_attrs


def raised(trial: FrozenTrial) -> bool:
    """Whether the trial ended by raising (write_error), not by its worker's death."""
    return "error" in trial.user_attrs


def write_training(trial: optuna.Trial, **values: Any) -> None:
    """accuracy, baseline_accuracy, accuracy_drop_points, train_wall_time_s, weights and
    resumed_steps; gpu and gpu_name when this process trained on a GPU."""
    if set(values) != set(TRAINING_FIELDS):
        raise ValueError(f"training record needs exactly {TRAINING_FIELDS}, got {sorted(values)}")
    for name, value in values.items():
        trial.set_user_attr(name, value)
    gpu = current_gpu()
    if gpu is not None:
        trial.set_user_attr("gpu", gpu.index)
        trial.set_user_attr("gpu_name", gpu.name)


def write_table_row(trial: optuna.Trial, measured: Any) -> None:
    """A candidate's measurements read from a tabular benchmark (explorer.search.oracle.Measured):
    the cost and training fields, as the table holds them."""
    for name, value in measured.attrs.items():
        trial.set_user_attr(name, value)
    trial.set_user_attr("oracle", True)


def copy_twin(trial: optuna.Trial, twin: FrozenTrial) -> None:
    """Everything the twin measured (and its constraints), and where it came from."""
    for name, value in twin.user_attrs.items():
        if name not in OWN_FIELDS:
            trial.set_user_attr(name, value)
    for name, value in twin.constraints.items():
        trial.set_constraint(name, value)
    trial.set_user_attr("reused_from", twin.number)


def trained(trial: FrozenTrial) -> bool:
    """Whether the trial finished with a trained candidate's measurements."""
    return trial.state == TrialState.COMPLETE and "accuracy" in trial.user_attrs


def verdict(trial: FrozenTrial) -> str:
    """Why a trial is not feasible ("" when it is complete and meets every constraint): its
    state, the device memory it lacks, or the constraint its measurements break."""
    attrs = trial.user_attrs
    if trial.state == TrialState.PRUNED:
        return attrs.get("pruned_reason", "pruned")
    if trial.state != TrialState.COMPLETE:
        return f"failed: {attrs['error']}" if raised(trial) else trial.state.name.lower()
    if not attrs.get("feasible", True):
        return str(attrs.get("infeasible_reason", "does not fit the device"))
    drop = attrs.get("accuracy_drop_points")
    for name, value in trial.constraints.items():
        if value > 0:
            if name == "accuracy_drop" and drop is not None:
                return f"accuracy drop {drop:.1f} points > {drop - value:.1f}"
            return f"constraint {name} broken by {value:.3g}"
    return ""


@dataclass(frozen=True)
class TrialRecord:
    """One trial as read back. params: its user-facing choice (split, sparsity,
    compression_ratio, method, channel); `feasible`: complete and meeting every constraint
    (memory and the accuracy drop), `infeasible_reason` why not; `other_devices`: device ->
    {latency_s, energy_j, throughput_fps, feasible}."""

    number: int
    state: str
    params: Mapping[str, Any]
    attrs: Mapping[str, Any]
    infeasible_reason: str
    other_devices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, trial: FrozenTrial) -> "TrialRecord":
        attrs = dict(trial.user_attrs)
        others: dict[str, dict[str, Any]] = {}
        for key, value in attrs.items():
            name, at, device = key.partition("@")
            if at:
                others.setdefault(device, {})[name] = value
        return cls(trial.number, trial.state.name, dict(attrs.get("choice", trial.params)), attrs, verdict(trial),
                   others)

    @property
    def feasible(self) -> bool:
        return not self.infeasible_reason

    def get(self, name: str) -> Any:
        return self.attrs.get(name)

    @property
    def reused_from(self) -> int | None:
        return self.attrs.get("reused_from")

    @property
    def candidate(self) -> CandidateSpec:
        from netmodels.candidate import CandidateSpec  # torch: only for a caller that builds it

        return CandidateSpec.from_record(self.attrs["candidate"])

    def row(self) -> dict[str, Any]:
        """The trial's line of trials.csv: COLUMNS, then the other devices' columns."""
        row: dict[str, Any] = {"number": self.number, "state": self.state,
                               **{name: self.params.get(name) for name in PARAM_COLUMNS},
                               "channel": self.attrs.get("candidate", {}).get("channel", {}).get(
                                   "kind", self.params.get("channel"))}
        row.update({name: self.attrs.get(name) for name in ATTRIBUTE_COLUMNS})
        row.update(feasible=self.feasible, infeasible_reason=self.infeasible_reason)
        for device, values in self.other_devices.items():
            row.update({device_key(name, device): value for name, value in values.items()})
        return row
