"""The trial record: written and read back in one module, every objective a field it holds."""
import optuna
import pytest
import torch

from explorer.search import record
from explorer.search.objectives import FRONT_FIGURES, OBJECTIVES, figure_name
from explorer.search.record import COLUMNS, TrialRecord
from explorer.search.samplers import GP_ACQUISITION, SAMPLERS, make_sampler, sampler_name
from netmodels.candidate import CandidateSpec, build_candidate
from netmodels.channels import ChannelSpec
from splitbase import StudyError

COST = {"latency_s": 0.01, "energy_j": 0.02, "throughput_fps": 90.0, "head_macs": 1e6, "encoder_macs": 1e4,
        "sent_bits": 512.0, "feasible": True, "infeasible_reason": ""}


def recorded_trial(drop: float = 2.0):
    torch.manual_seed(0)
    spec = CandidateSpec(model="small-cnn", dataset="synthetic", split="pool2", method="bottlenetpp",
                         compression_ratio=8, channel=ChannelSpec("bec"))
    candidate = build_candidate(spec, input_shape=(1, 32, 32), num_classes=10)
    study = optuna.create_study(directions=["maximize", "minimize"])
    trial = study.ask({"split": optuna.distributions.CategoricalDistribution(["pool2"]),
                       "sparsity": optuna.distributions.CategoricalDistribution([0.0]),
                       "compression_ratio": optuna.distributions.CategoricalDistribution([8]),
                       "method": optuna.distributions.CategoricalDistribution(["bottlenetpp"]),
                       "channel": optuna.distributions.CategoricalDistribution([0])})
    record.write_start(trial, "abc", {"split": "pool2", "sparsity": 0.0, "compression_ratio": 8,
                                      "method": "bottlenetpp", "channel": 0}, budget=1.0)
    record.write_candidate(trial, spec)
    record.write_cost(trial, COST, candidate.profile, candidate.parts.codec_options)
    record.write_other_device(trial, "pi4", COST)
    record.write_training(trial, accuracy=0.9, baseline_accuracy=0.92, accuracy_drop_points=drop,
                          train_wall_time_s=1.5, weights="/w.pt", resumed_steps=0)
    trial.set_constraint("accuracy_drop", drop - 2.5)
    study.tell(trial, [0.9, 0.01])
    return study.trials[0], spec


def test_a_trial_is_read_back_as_written():
    frozen, spec = recorded_trial()
    trial = TrialRecord.of(frozen)
    assert trial.feasible and trial.candidate == spec and trial.reused_from is None
    assert trial.get("encoder_macs") == 1e4 and trial.other_devices == {"pi4": {k: COST[k] for k in record.DEVICE_FIELDS}}
    row = trial.row()
    assert list(row)[:len(COLUMNS)] == list(COLUMNS) and row["channel"] == "bec" and row["feasible"]
    assert row["split"] == "pool2" and row["infeasible_reason"] == "" and row["candidate_key"] == "abc"
    assert row["latency_s@pi4"] == 0.01 and row["head_macs"] == 1e6
    assert row["rung"] == 0 and row["budget"] == 1.0


def test_an_infeasible_trial_says_why():
    frozen, _ = recorded_trial(drop=3.1)
    trial = TrialRecord.of(frozen)
    assert not trial.feasible and trial.row()["infeasible_reason"] == "accuracy drop 3.1 points > 2.5"
    assert record.verdict(optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED,
                                                    user_attrs={"pruned_reason": "not buildable: x"})) == "not buildable: x"


def test_every_objective_is_a_field_the_search_writes():
    written = set(record.COST_FIELDS) | set(record.TRAINING_FIELDS)
    for name in OBJECTIVES:
        objective = OBJECTIVES.get(name)
        assert objective.field in written and objective.field in COLUMNS
        assert objective.sign == (-1.0 if objective.direction == "maximize" else 1.0)
    figures = [figure_name(x, y) for x, y in FRONT_FIGURES]
    assert len(set(figures)) == len(figures) and all(x in OBJECTIVES and y in OBJECTIVES for x, y in FRONT_FIGURES)
    with pytest.raises(StudyError, match="unknown objective 'beauty'"):
        OBJECTIVES.get("beauty")


def test_the_training_record_is_complete_or_refused():
    study = optuna.create_study()
    with pytest.raises(ValueError, match="needs exactly"):
        record.write_training(study.ask(), accuracy=0.5)


def test_every_sampler_is_optunas_own():
    choices = {"split": ["a", "b"], "sparsity": [0.0]}
    for name in SAMPLERS:
        assert isinstance(make_sampler(name, choices, trials=12, seed=0), optuna.samplers.BaseSampler)
    assert sampler_name("auto", 2) == "random" and sampler_name("auto", 1) == "tpe"
    gp = make_sampler("gp", choices, trials=12, seed=0)
    assert all(getattr(gp, name) == value for name, value in GP_ACQUISITION.items())
    with pytest.raises(StudyError, match="unknown sampler 'cma'"):
        sampler_name("cma", 2)
