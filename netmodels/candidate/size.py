"""A candidate's encoder sized without building it: what the search's grid pre-filter prices.

`size_encoder(spec, model, feature_shape)` parses the spec's options and checks that the method
applies at the split as build_candidate does, prunes the feature's channels as the pruning
stages would (round(s C) of C, at the feature's sparsity, netmodels.pruning.plan.pruned_count)
and asks the method's analytic hook (netmodels.methods.base: `size_encoder`). A spec refused
here is refused by the build with the same error, so the point can be taken out of a search
before any training.
"""
from __future__ import annotations

from netmodels.candidate.build import check_applies
from netmodels.candidate.spec import CandidateSpec
from netmodels.methods import EncoderSize, get_method
from netmodels.pruning.plan import pruned_count
from netmodels.zoo import FLOAT32_BITS, INPUT_IMAGE_BITS, UnitModel


def pruned_feature_shape(feature_shape: tuple[int, ...], sparsity: float) -> tuple[int, ...]:
    """The feature's shape once round(s C) of its C channels are pruned (C x H x W or flat C)."""
    if not sparsity:
        return tuple(feature_shape)
    channels = int(feature_shape[0])
    return (channels - pruned_count(sparsity, channels), *feature_shape[1:])


def size_encoder(spec: CandidateSpec, model: UnitModel, feature_shape: tuple[int, ...]) -> EncoderSize | None:
    """The encoder `spec` adds at its split of `model` (the base model, unpruned; only its
    structure is read), whose feature there has `feature_shape` (no batch dimension); None
    where its method does not size one. ModelError for options the method does not take, a
    split where it does not apply, or an encoder it cannot build."""
    method = get_method(spec.method)
    prune_options, method_options = spec.split_options()
    options = method.parse_options(method_options)
    k = model.split_index(spec.split)
    check_applies(spec, method, model, k, feature_shape)
    sparsity = spec.sparsity if prune_options.feature_sparsity is None else prune_options.feature_sparsity
    shape = feature_shape if k == -1 else pruned_feature_shape(feature_shape, sparsity)
    return method.size_encoder(shape, compression_ratio=spec.compression_ratio, channel=spec.channel.build(),
                               raw_bits_per_element=INPUT_IMAGE_BITS if k == -1 else FLOAT32_BITS, options=options)
