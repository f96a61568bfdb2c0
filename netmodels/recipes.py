"""Recipes: a candidate's training stages run in order by the one training loop.

`train_candidate(candidate, data, config)` runs `candidate.stages` (e.g. BottleNet++ step 2
"codec" then step 3 "finetune"), each as `train(module, data, stage_config, trainable=parts)`,
then measures a data-dependent payload (BottleNet's JPEG) and, if asked, the accuracy over a
list of channel states. A pruning stage (netmodels.candidate.build.PruningStage, first when the
candidate has a sparsity) trains the candidate's full model with a ChannelPruner as the loop's
step hooks and, after the last one, installs the physically pruned head and tail in the
candidate's module (`run_pruning_stage`). `retrain(spec, base, data, config)` is the whole path
of one search trial or study candidate: from the cached base model (step 1), build_candidate ->
train_candidate.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

from torch import nn

from netmodels.baseline import Baseline
from netmodels.candidate import (
    Candidate,
    CandidateProfile,
    CandidateSpec,
    PruningStage,
    build_candidate,
    measure_payload,
)
from netmodels.data import ImageDataset
from netmodels.methods import Stage
from netmodels.methods.losses import stage_loss
from netmodels.pruning import ChannelPruner, plan_pruning
from netmodels.training.config import TrainConfig
from netmodels.training.evaluate import evaluate, evaluate_over_channel
from netmodels.training.loop import seed_everything, train, TrainResult
from splitbase import ModelError, StudyError


@dataclass
class StageResult:
    """A stage's name and what its training run returned."""

    stage: str
    result: TrainResult


@dataclass
class CandidateResult:
    """test_accuracy: top-1 fraction after the last stage (of the base model when no stage
    trains). stages: each stage's run. channel_accuracy: [(state, accuracy)] over the states
    asked; told_accuracy: the same with the encoder told one state (`told_state`). profile: the candidate's cost record, payload measured where a codec decides it.
    wall_time_s: training seconds summed over the stages.
    """

    test_accuracy: float | None
    stages: list[StageResult]
    profile: CandidateProfile
    channel_accuracy: list[tuple[float, float]] = field(default_factory=list)
    told_accuracy: list[tuple[float, float]] = field(default_factory=list)

    @property
    def wall_time_s(self) -> float:
        return sum(s.result.wall_time_s for s in self.stages)


def parts_filter(parts: tuple[str, ...] | None) -> Callable[[str, nn.Parameter], bool] | None:
    """A trainable predicate selecting the parameters of the named SplitModel parts (None: all)."""
    if parts is None:
        return None
    chosen = frozenset(parts)
    return lambda name, _param: name.split(".", 1)[0] in chosen


def stage_config(config: TrainConfig, stage: Stage, index: int, checkpoint_dir: str | Path | None) -> TrainConfig:
    """The candidate's config with the stage's lr scale and overrides, and its own checkpoint file."""
    unknown = sorted(set(stage.overrides) - set(TrainConfig.field_names()))
    if unknown:
        raise StudyError(f"stage {stage.name!r} overrides unknown training fields: {', '.join(unknown)}")
    checkpoint = str(Path(checkpoint_dir) / f"stage{index}-{stage.name}.pt") if checkpoint_dir else None
    return replace(config, **{"lr": config.lr * stage.lr_scale, "checkpoint_path": checkpoint, **dict(stage.overrides)})


def stage_desc(candidate: Candidate, stage: Stage, index: int, count: int) -> str:
    """The progress line's name of stage `index` (from 1) of `count`: method, split unit, stage
    name and its place, e.g. "threestep conv2: prune 1/3"."""
    place = f" {index}/{count}" if count > 1 else ""
    return f"{candidate.spec.method} {candidate.profile.split_name}: {stage.name}{place}"


def run_pruning_stage(candidate: Candidate, stage: PruningStage, data: ImageDataset, config: TrainConfig, *,
                      progress: bool = True, evaluate_after: bool = True, desc: str | None = None) -> TrainResult:
    """Train the candidate's full model with incremental channel pruning (every layer trains),
    then replace it by its physically pruned copy; after the last pruning stage, install that
    copy's head and tail in candidate.module. `desc` names its progress line (default: the
    stage's name after the method and split). A run resumed from a finished checkpoint only
    evaluated the unmasked weights, so its accuracy is taken again on the pruned copy."""
    state = candidate.pruning
    if stage.name in state.finished:
        raise ModelError(f"pruning stage {stage.name!r} already ran on this candidate; build it again to retrain")
    step = stage.step
    plan = plan_pruning(state.model, state.split, scope=step.scope)
    pruner = ChannelPruner(state.model, plan, sparsity=step.sparsity, feature_sparsity=step.feature_sparsity,
                           schedule=stage.schedule)
    with pruner.attached():
        result = train(state.model, data, config, trainable=parts_filter(stage.trainable), hooks=pruner,
                       progress=progress, desc=desc or stage_desc(candidate, stage, 1, 1),
                       evaluate_after=evaluate_after)
    if not result.completed:
        return result
    state.model = pruner.physical_model()
    if evaluate_after and result.resumed_from_step >= result.total_steps:
        result.test_accuracy = evaluate(state.model, data, **config.eval_settings())
    state.finished.append(stage.name)
    if stage is state.stages[-1]:
        candidate.install_pruned(state.model)
    return result


def train_candidate(
    candidate: Candidate,
    data: ImageDataset,
    config: TrainConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    channel_states: Sequence[float] = (),
    told_state: float | None = None,
    progress: bool = True,
) -> CandidateResult:
    """Run the candidate's stages with `config` (per stage: lr x lr_scale, overrides), then
    measure the payload and the accuracy over `channel_states` (and, with `told_state`, again
    with the encoder told that state: evaluate_over_channel). With checkpoint_dir, each stage
    checkpoints to its own file there and an interrupted call resumes where it stopped.
    """
    module = candidate.module
    results: list[StageResult] = []
    stages = candidate.stages
    for index, stage in enumerate(stages, start=1):
        cfg = stage_config(config, stage, index, checkpoint_dir)
        last = index == len(stages)  # only the last stage's accuracy is the candidate's
        desc = stage_desc(candidate, stage, index, len(stages))
        if isinstance(stage, PruningStage):
            results.append(StageResult(stage.name, run_pruning_stage(candidate, stage, data, cfg, progress=progress,
                                                                     evaluate_after=last, desc=desc)))
            if not results[-1].result.completed:
                return CandidateResult(None, results, candidate.profile)
            continue
        with stage_loss(stage, module, candidate.parts) as loss_fn:  # None: cross-entropy
            result = train(module, data, cfg, loss_fn=loss_fn, trainable=parts_filter(stage.trainable),
                           progress=progress, desc=desc, evaluate_after=last)
        results.append(StageResult(stage.name, result))
        if not result.completed:  # stopped on purpose (stop_after_steps): the later stages wait
            return CandidateResult(None, results, candidate.profile)
    accuracy = results[-1].result.test_accuracy if results else evaluate(module, data, **config.eval_settings())
    channel_accuracy = evaluate_over_channel(module, data, states=channel_states, **config.eval_settings()) \
        if channel_states else []
    told_accuracy = evaluate_over_channel(module, data, states=channel_states, told=told_state,
                                          **config.eval_settings()) if channel_states and told_state is not None else []
    profile = measure_payload(candidate, data)
    candidate.profile = profile
    return CandidateResult(accuracy, results, profile, channel_accuracy, told_accuracy)


def retrain(
    spec: CandidateSpec,
    base: Baseline,
    data: ImageDataset,
    config: TrainConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    channel_states: Sequence[float] = (),
    told_state: float | None = None,
    progress: bool = True,
) -> tuple[Candidate, CandidateResult]:
    """One trial: the candidate of `spec` built from the trained base model (`base`, of
    netmodels.baseline.get_baseline), its stages trained with `config`. Every random number
    (new layers' initial weights, channel noise, batch order) follows from `config.seed`, so a
    candidate's result does not depend on what ran before it in this process."""
    seed_everything(config.seed)
    candidate = build_candidate(spec, input_shape=data.input_shape, num_classes=data.num_classes,
                                base_model=base.model)
    result = train_candidate(candidate, data, config, checkpoint_dir=checkpoint_dir,
                             channel_states=channel_states, told_state=told_state, progress=progress)
    return candidate, result
