"""What a search trial stores, written and read as Optuna user attributes in this module alone.

A trial's user attributes are flat JSON values (so optuna-dashboard shows them as they are):

- at the start: candidate_key (the sampled parameters' hash), worker (host:pid);
- the candidate: candidate (the CandidateSpec record), codec_options;
- its price as built: latency_s, energy_j, throughput_fps, head_macs (the head alone),
  encoder_macs, sent_bits, feasible, infeasible_reason, compression_ratio (achieved), profile
  (the CandidateProfile record); on every `also_price_on` device D the same candidate's
  latency_s@D, energy_j@D, throughput_fps@D, feasible@D (`DEVICE_FIELDS`, `device_key`);
- a pruned trial: pruned_reason; a trained one: accuracy, baseline_accuracy,
  accuracy_drop_points, train_wall_time_s, weights (the saved candidate, explorer.search.weights);
- a trial that reused an identical candidate's training: reused_from (the twin's number) and
  the twin's attributes.

`TrialRecord` reads one trial back; `TrialRecord.row()` is its line of trials.csv.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from typing import Any, Mapping

import optuna
from optuna.trial import FrozenTrial, TrialState

from netmodels.candidate import CandidateProfile, CandidateSpec

COST_FIELDS = ("latency_s", "energy_j", "throughput_fps", "head_macs", "encoder_macs", "sent_bits", "feasible",
               "infeasible_reason")
DEVICE_FIELDS = ("latency_s", "energy_j", "throughput_fps", "feasible")
TRAINING_FIELDS = ("accuracy", "baseline_accuracy", "accuracy_drop_points", "train_wall_time_s", "weights")
# attributes a reusing trial does not copy from its twin: they describe the trial itself
OWN_FIELDS = ("candidate_key", "worker")
# trials.csv: the trial, its sampled parameters, its channel's kind, these attributes, `ok`,
# then the other devices' columns
PARAM_COLUMNS = ("split", "sparsity", "compression_ratio", "method")
ATTRIBUTE_COLUMNS = ("accuracy", "accuracy_drop_points", "latency_s", "energy_j", "throughput_fps", "sent_bits",
                     "head_macs", "encoder_macs", "feasible", "reused_from", "pruned_reason", "baseline_accuracy")
COLUMNS = ("number", "state", *PARAM_COLUMNS, "channel", *ATTRIBUTE_COLUMNS)


def device_key(name: str, device: str) -> str:
    """The attribute (and trials.csv column) of field `name` priced on another device."""
    return f"{name}@{device}"


def write_start(trial: optuna.Trial, key: str) -> None:
    trial.set_user_attr("candidate_key", key)
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")


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


def write_training(trial: optuna.Trial, **values: Any) -> None:
    """accuracy, baseline_accuracy, accuracy_drop_points, train_wall_time_s and weights."""
    if set(values) != set(TRAINING_FIELDS):
        raise ValueError(f"training record needs exactly {TRAINING_FIELDS}, got {sorted(values)}")
    for name, value in values.items():
        trial.set_user_attr(name, value)


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


@dataclass(frozen=True)
class TrialRecord:
    """One trial as read back. `ok`: complete and meeting every constraint (memory and the
    accuracy drop); `other_devices`: device -> {latency_s, energy_j, throughput_fps, feasible}."""

    number: int
    state: str
    params: Mapping[str, Any]
    attrs: Mapping[str, Any]
    ok: bool
    other_devices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, trial: FrozenTrial) -> "TrialRecord":
        attrs = dict(trial.user_attrs)
        ok = (trial.state == TrialState.COMPLETE and bool(attrs.get("feasible", True))
              and all(v <= 0 for v in trial.constraints.values()))
        others: dict[str, dict[str, Any]] = {}
        for key, value in attrs.items():
            name, at, device = key.partition("@")
            if at:
                others.setdefault(device, {})[name] = value
        return cls(trial.number, trial.state.name, dict(trial.params), attrs, ok, others)

    def get(self, name: str) -> Any:
        return self.attrs.get(name)

    @property
    def reused_from(self) -> int | None:
        return self.attrs.get("reused_from")

    @property
    def candidate(self) -> CandidateSpec:
        return CandidateSpec.from_record(self.attrs["candidate"])

    def row(self) -> dict[str, Any]:
        """The trial's line of trials.csv: COLUMNS, `ok`, then the other devices' columns."""
        row: dict[str, Any] = {"number": self.number, "state": self.state,
                               **{name: self.params.get(name) for name in PARAM_COLUMNS},
                               "channel": self.attrs.get("candidate", {}).get("channel", {}).get(
                                   "kind", self.params.get("channel"))}
        row.update({name: self.attrs.get(name) for name in ATTRIBUTE_COLUMNS})
        row["ok"] = self.ok
        for device, values in self.other_devices.items():
            row.update({device_key(name, device): value for name, value in values.items()})
        return row
