"""A candidate's sparsity: its pruning stages, and the pruned model it is built on.

Sparsity (netmodels.pruning; papers 001/003 step 2): a candidate with sparsity s > 0 (or option
feature_sparsity > 0) first runs pruning stages on the full model, then its method's stages on
the physically pruned head. The shapes of the pruned model depend on the sparsities only, so it
is built here already (channels chosen by the base weights' l2 norms, one shot): `module.head`
is always the deployable, physically pruned head, the method's encoder is built for the pruned
feature, and the profile is exact before training. The pruning stages train `PruningState.model`
(masks, incremental) and, after the last one, `Candidate.install_pruned` replaces module.head
and module.tail in place by the incrementally pruned ones (same shapes, other channels).
raw_feature_bits counts the feature the pruned head sends (after activation pruning), so the
compression ratio is the encoder's own, as for an unpruned candidate; unpruned_feature_bits is
the base model's feature at the split, for the total reduction.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from netmodels.candidate.spec import CandidateSpec, PruningOptions
from netmodels.methods import Method, Stage
from netmodels.pruning import (
    PruneStep,
    SparsitySchedule,
    one_shot_keep,
    plan_pruning,
    prune_physically,
    removed_channels,
)
from netmodels.zoo import UnitModel
from splitbase import ModelError


@dataclass(frozen=True)
class PruningStage(Stage):
    """A stage that prunes (netmodels.recipes runs it with a ChannelPruner on the candidate's
    full model): `step` says which channels and at what sparsities, `schedule` how fast."""

    step: PruneStep | None = None
    schedule: SparsitySchedule = field(default_factory=SparsitySchedule)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.step is None:
            raise ModelError(f"pruning stage {self.name!r} needs a PruneStep")


@dataclass
class PruningState:
    """The full model (units 0..last) the pruning stages train with masks; each stage replaces it
    by its physically pruned copy. `split`: the candidate's split index; `finished`: the names of
    the pruning stages done (pruning again would compound the sparsity)."""

    model: UnitModel
    split: int
    stages: tuple[PruningStage, ...]
    finished: list[str] = field(default_factory=list)


def pruning_steps(spec: CandidateSpec, method: Method, options: PruningOptions) -> tuple[PruneStep, ...]:
    """The method's pruning steps for the spec's sparsities; ModelError for a method that
    supports none."""
    feature_sparsity = spec.sparsity if options.feature_sparsity is None else options.feature_sparsity
    steps = method.pruning_steps(spec.sparsity, feature_sparsity)
    if steps and not method.supports_sparsity:
        raise ModelError(f"method {spec.method!r} does not support sparsity (pruning); use sparsity 0")
    return tuple(steps)


def _checked_step(spec: CandidateSpec, model: UnitModel, k: int, step: PruneStep, options: PruningOptions):
    """(the plan of `step`, the step with a default feature sparsity dropped where the feature
    cannot be pruned); ModelError when there is nothing to prune."""
    split_name = model.split_name(k)
    plan = plan_pruning(model, k, scope=step.scope)
    if step.feature_sparsity > 0 and not plan.has_feature:
        if options.feature_sparsity is not None:
            raise ModelError(f"feature_sparsity: the feature after {split_name!r} of {spec.model} is not the output "
                             "of a prunable conv layer or residual block")
        step = replace(step, feature_sparsity=0.0)  # the default follows the sparsity where it can
    if not ((step.sparsity > 0 and plan.internal) or (step.feature_sparsity > 0 and plan.has_feature)):
        raise ModelError(f"sparsity {spec.sparsity:g} at split {split_name!r} of {spec.model}: no prunable channels "
                         f"in the {'network' if step.scope == 'network' else 'head'} (prunable: output channels of "
                         "dense convs feeding convs or linear layers, internal channels of ResNet blocks, "
                         "the feature's channels)")
    return plan, step


def prune_at_build(spec: CandidateSpec, method: Method, model: UnitModel, k: int,
                   options: PruningOptions) -> tuple[UnitModel, PruningState | None, int]:
    """(the model pruned one-shot to the final shapes, the pruning stages' state, channels removed
    from the head); ModelError, before any training, if there is nothing to prune."""
    steps = pruning_steps(spec, method, options)
    if not steps:
        return model, None, 0
    if k == -1:
        raise ModelError(f"sparsity at split {model.split_name(k)!r}: nothing runs on the device, "
                         "there is nothing to prune")
    schedule = SparsitySchedule(options.prune_schedule, options.prune_ramp, options.prune_levels)
    current, removed, stages = model, 0, []
    for step in steps:
        plan, step = _checked_step(spec, current, k, step, options)
        keep = one_shot_keep(current, plan, sparsity=step.sparsity, feature_sparsity=step.feature_sparsity)
        removed += removed_channels(plan, keep, up_to_unit=k)
        current = prune_physically(current, plan, keep)
        stages.append(PruningStage(step.name, None, lr_scale=options.prune_lr_scale, step=step, schedule=schedule,
                                   description=f"incremental channel pruning ({step.scope}): sparsity "
                                               f"{step.sparsity:g}, feature {step.feature_sparsity:g}"))
    return current, PruningState(model, k, tuple(stages)), removed
