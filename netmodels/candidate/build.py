"""Building a candidate: a split point, a method and a channel as one trainable module plus its cost record.

`build_candidate(spec, input_shape=..., num_classes=...)` returns a `Candidate`: the `SplitModel`
to train, the method's training stages (after the pruning stages of its sparsity,
netmodels.candidate.pruning), and a `CandidateProfile` (netmodels.candidate.profile), the plain
record the cost evaluator prices (explorer.cost; no torch types in it). The method's hooks are
called in the order netmodels.methods.base documents.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from torch import nn

from netmodels.candidate.module import SplitModel
from netmodels.candidate.profile import CandidateProfile, profile_candidate
from netmodels.candidate.pruning import PruningState, prune_at_build
from netmodels.candidate.spec import CandidateSpec
from netmodels.graph import GraphUnitModel
from netmodels.methods import Method, MethodParts, Stage, feature_shape_at, get_method
from netmodels.modules import module_device
from netmodels.zoo import FLOAT32_BITS, INPUT_IMAGE_BITS, UnitModel, build_model
from splitbase import ModelError


@dataclass
class Candidate:
    """A built candidate: the module to train, its training stages and its cost profile.

    `module.head` is the deployable head, physically pruned when the candidate has a sparsity;
    `pruning` holds what the pruning stages train (None without pruning). `options` are the
    method's Options. `unit_names`, `input_shape` and `num_classes` are the base model's, for
    `head_model`.
    """

    spec: CandidateSpec
    module: SplitModel
    profile: CandidateProfile
    method: Method
    options: Any
    parts: MethodParts
    pruning: PruningState | None = None
    unit_names: tuple[str, ...] = ()
    input_shape: tuple[int, ...] = ()
    num_classes: int = 0

    @property
    def stages(self) -> tuple[Stage, ...]:
        """The pruning stages (if any), then the method's."""
        return (self.pruning.stages if self.pruning else ()) + tuple(self.method.stages(self.options))

    def install_pruned(self, model: UnitModel) -> None:
        """Replace module.head and module.tail, in place, by those of a physically pruned full model."""
        k = self.module.split_index
        self.module.head, self.module.tail = model.head(k), model.tail(k)

    def head_model(self) -> UnitModel:
        """The deployed head as a UnitModel named as the zoo names its units (sharing the
        head's modules), e.g. for explorer.profile.table.profile_model."""
        k = self.module.split_index
        units = list(zip(self.unit_names[:k + 1], self.module.head))
        return UnitModel(units, input_shape=self.input_shape, num_classes=self.num_classes)


def _base(spec: CandidateSpec, base_model: UnitModel | None, input_shape: tuple[int, ...],
          num_classes: int) -> UnitModel:
    """A private copy of the trained base model, or a freshly initialised zoo model."""
    if base_model is None:
        return build_model(spec.model, input_shape=input_shape, num_classes=num_classes)
    if tuple(base_model.input_shape) != tuple(input_shape) or base_model.num_classes != num_classes:
        raise ModelError(f"base model takes {base_model.input_shape} with {base_model.num_classes} classes, "
                         f"the candidate {tuple(input_shape)} with {num_classes}")
    return copy.deepcopy(base_model)


def build_candidate(spec: CandidateSpec, *, input_shape: tuple[int, int, int], num_classes: int,
                    base_model: UnitModel | None = None) -> Candidate:
    """Build `spec` for inputs of `input_shape` (C, H, W) and `num_classes`.

    base_model: the trained base model (netmodels.baseline) to start from; it is copied, never
    changed. Without it a freshly initialised zoo model is used. ModelError for a split point not
    in the model (listing its units), a method that does not apply there (with the reason),
    options the method does not take, or a sparsity with nothing to prune there.
    """
    method = get_method(spec.method)
    prune_options, method_options = spec.split_options()
    options = method.parse_options(method_options)
    model = _base(spec, base_model, input_shape, num_classes)
    k = model.split_index(spec.split)
    _check_graph_split(spec, model, k)
    unpruned_shape = feature_shape_at(model, k)
    check_applies(spec, method, model, k, unpruned_shape)
    deployed, pruning, removed = prune_at_build(spec, method, model, k, prune_options)
    channel = spec.channel.build()
    head, tail, parts = method.build_split(deployed, k, compression_ratio=spec.compression_ratio, channel=channel,
                                           raw_bits_per_element=INPUT_IMAGE_BITS if k == -1 else FLOAT32_BITS,
                                           options=options)
    module = SplitModel(head, tail, channel=channel, encoder=parts.encoder, decoder=parts.decoder,
                        codec_proxy=parts.codec_proxy, split_index=k, split_name=model.split_name(k))
    _check_stages_train_something(spec, method.stages(options), module)
    module.to(module_device(model))
    shape = feature_shape_at(deployed, k) if pruning is not None else unpruned_shape
    profile = profile_candidate(spec, module, parts, input_shape=tuple(input_shape), unpruned_shape=unpruned_shape,
                                feature_shape=shape, pruned_channels=removed)
    return Candidate(spec, module, profile, method, options, parts, pruning,
                     unit_names=model.unit_names, input_shape=tuple(input_shape), num_classes=num_classes)


def check_applies(spec: CandidateSpec, method: Method, model: UnitModel, k: int, feature_shape: tuple[int, ...]) -> None:
    """ModelError, with the method's reason, if `method` cannot run at split `k` of `model`
    (whose feature there has `feature_shape`)."""
    reason = method.applies_to(model, k, feature_shape=feature_shape)
    if reason is not None:
        raise ModelError(f"method {spec.method!r} does not apply at split {model.split_name(k)!r} of "
                         f"{spec.model}: {reason}")


def _check_graph_split(spec: CandidateSpec, model: UnitModel, k: int) -> None:
    """A traced user model (netmodels.graph) is not pruned, and sends one tensor: a cut several
    cross is profiled and priced, but no method, channel or codec is built for a tuple of them."""
    if not isinstance(model, GraphUnitModel):
        return
    if spec.sparsity > 0:
        raise ModelError(f"sparsity {spec.sparsity:g} on {spec.model}: pruning plans the zoo's units (conv units, "
                         "residual blocks); a traced user model's units are graph segments it does not know: use sparsity 0")
    sent = model.sent_tensors(k)
    if len(sent) > 1:
        raise ModelError(f"split {model.split_name(k)!r} of {spec.model} sends {len(sent)} tensors "
                         f"({', '.join(t.name for t in sent)}): candidates (retraining, search, export) take a cut "
                         "one tensor crosses (cuts: single lists only those)")


def _check_stages_train_something(spec: CandidateSpec, stages: tuple[Stage, ...], module: nn.Module) -> None:
    """A stage that trains parts without parameters (the tail at the last split) fails here,
    when the candidate is built, not minutes later when its training starts."""
    present = {name.split(".", 1)[0] for name, _ in module.named_parameters()}
    for stage in stages:
        if stage.trainable is not None and not present.intersection(stage.trainable):
            raise ModelError(f"method {spec.method!r} stage {stage.name!r} trains the {' and '.join(stage.trainable)}, "
                             f"which has no parameters at split {spec.split!r} of {spec.model}")



