"""The method family: what a split-computing method adds at a split point and how it is trained.

Every hook a method may implement is declared here with its default. build_candidate
(netmodels.candidate.build) calls them in this order, once per candidate:

1. `parse_options(mapping)`: the candidate's options as the method's `Options` (a frozen
   dataclass; types, choices and bounds checked by splitbase.schema, rules across options by its
   `check(path)`). Unknown options are errors listing the known ones.
2. `applies_to(model, split, feature_shape=...)`: None, or why the method cannot run there.
3. `pruning_steps(sparsity, feature_sparsity)`: the pruning stages to run first, only when the
   candidate asks for a sparsity; refused for a method with `supports_sparsity = False`.
4. `build_split(model, split, compression_ratio=..., channel=..., raw_bits_per_element=...,
   options=...)`: the head, the tail and the `MethodParts` (encoder, decoder, codec proxy, what
   is sent). `FeatureMethod` implements it for the methods that only add modules at the
   feature: they implement `build(feature_shape, ...)` instead.
5. `stages(options)`: the training stages, which netmodels.recipes.train_candidate runs in order
   after the pruning stages, each by the one training loop on the candidate's SplitModel,
   training the parameters of the named parts only.

One hook is analytic and runs before any build: `size_encoder(feature_shape, ...)` (after
`parse_options`) sizes the encoder that `build_split` would add, without building it, for the
search's grid pre-filter (netmodels.candidate.size); it raises the ModelError the build would.

A new method is one file (its class, `name` given once as a class attribute, registered with
`@METHODS.register()`) plus its import line in netmodels/methods/__init__.py.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from torch import nn

from netmodels.channels import Channel
from netmodels.modules import output_shape
from netmodels.pruning import PruneStep, head_pruning_steps
from netmodels.zoo import UnitModel
from splitbase import ModelError, Registry
from splitbase.schema import parse

# The parts of a SplitModel a stage can train (None = all of them).
PARTS = ("head", "encoder", "decoder", "tail")


@dataclass(frozen=True)
class Stage:
    """One training stage: train `trainable` parts (None: every part) with the candidate's
    TrainConfig, its lr multiplied by `lr_scale` and then `overrides` (TrainConfig fields) applied.
    """

    name: str
    trainable: tuple[str, ...] | None
    lr_scale: float = 1.0
    overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)
    description: str = ""

    def __post_init__(self) -> None:
        if self.trainable is not None:
            unknown = sorted(set(self.trainable) - set(PARTS))
            if unknown or not self.trainable:
                raise ModelError(f"stage {self.name!r}: trainable parts must be among {', '.join(PARTS)}, got {self.trainable}")
        if not self.lr_scale > 0:
            raise ModelError(f"stage {self.name!r}: lr_scale must be > 0, got {self.lr_scale}")


@dataclass
class MethodParts:
    """What a method adds at one split point.

    encoder: nn.Module called encoder(feature, channel_state) -> z, or -> (z, side) where side is
    reliable side information (its bits are `header_bits`) passed to decoder(y, side); None sends
    the feature itself. decoder: nn.Module on the server, y -> restored feature (or (y, side) ->);
    None passes y on. codec: the CODECS name whose real output is sent (its measured size
    replaces the nominal payload); codec_proxy: the codec's effect on the values inside the
    training graph (straight-through gradient), which the real codec replaces when deployed
    (None: nothing between channel and decoder). sent_shape: shape of z (no batch dim).
    bits_per_element: bits counted per sent element (n for a digital channel, 32 for float32 or
    an analog real value, 8 for an 8-bit image). header_bits: side information per frame.
    MACs and parameter counts are not stated here: the candidate's profile traces the parts.
    """

    encoder: nn.Module | None
    decoder: nn.Module | None
    sent_shape: tuple[int, ...]
    bits_per_element: int
    header_bits: int = 0
    codec: str | None = None
    codec_options: dict[str, Any] = field(default_factory=dict)
    codec_proxy: nn.Module | None = None


@dataclass(frozen=True)
class EncoderSize:
    """The device side of a method's encoder, sized from its geometry without building it (one
    frame): `sent_values` values of `bits_per_element` bits each, `weights` parameters (elements)
    and `macs` MACs, counted as the one MAC counter (netmodels.profiling) counts the built
    encoder; tests/netmodels/candidate/test_size.py holds the two equal for every method."""

    sent_values: int
    bits_per_element: int
    weights: int
    macs: int


@dataclass(frozen=True)
class NoOptions:
    """A method without options."""


class Method(ABC):
    """Base class of split-computing methods (the hooks and their order: module docstring)."""

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type] = NoOptions
    # A method whose build replaces head layers (BottleFit) cannot be pruned: the pruning stages
    # re-install the pruned model's own head after training.
    supports_sparsity: ClassVar[bool] = True

    def parse_options(self, options: Mapping[str, Any], *, path: str | None = None) -> Any:
        """`options` as the method's Options; ModelError naming the option (under `path`)."""
        return parse(self.Options, dict(options), path or f"method {self.name!r} options", error=ModelError)

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        """None if the method can run at split point `split` of `model`, else the reason why not."""
        return None

    def pruning_steps(self, sparsity: float, feature_sparsity: float) -> tuple[PruneStep, ...]:
        """The pruning stages of a candidate with these sparsities: by default one stage pruning
        the head (papers 001/003 step 2)."""
        return head_pruning_steps(sparsity, feature_sparsity)

    @abstractmethod
    def build_split(self, model: UnitModel, split: int, *, compression_ratio: float | None, channel: Channel,
                    raw_bits_per_element: int, options: Any) -> tuple[nn.Module, nn.Module, MethodParts]:
        """(head, tail, parts) at `split` of `model` (the candidate's private copy).

        compression_ratio: the requested ratio (raw bits / bits sent; None = the method's
        default); the achieved one is computed from the parts, never assumed.
        raw_bits_per_element: 32 (a float32 feature) or 8 (the input image, k = -1).
        """

    def stages(self, options: Any) -> tuple[Stage, ...]:
        """Training stages run in order after the base model (step 1, the cached baseline)."""
        return ()

    def size_encoder(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None, channel: Channel,
                     raw_bits_per_element: int, options: Any) -> EncoderSize | None:
        """The encoder `build_split` would add after a feature of `feature_shape` (the pruned
        one), sized analytically; None when the method does not say (the cost model's generic
        learned encoder stands in). ModelError exactly where the build would raise one."""
        return None


class FeatureMethod(Method):
    """A method that adds modules at the feature only: the head and tail are the model's own."""

    @abstractmethod
    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: Any) -> MethodParts:
        """The parts for a feature of `feature_shape` (no batch dim) sent over `channel`."""

    def build_split(self, model: UnitModel, split: int, *, compression_ratio: float | None, channel: Channel,
                    raw_bits_per_element: int, options: Any) -> tuple[nn.Module, nn.Module, MethodParts]:
        parts = self.build(feature_shape_at(model, split), compression_ratio=compression_ratio, channel=channel,
                           raw_bits_per_element=raw_bits_per_element, options=options)
        return model.head(split), model.tail(split), parts


METHODS: Registry[type[Method]] = Registry("method", error=ModelError)


def get_method(name: str) -> Method:
    """An instance of the method registered as `name` (ModelError listing the known ones)."""
    return METHODS.get(name)()


def feature_shape_at(model: UnitModel, split: int) -> tuple[int, ...]:
    """Shape (no batch dim) of the tensor sent at split point `split` (the input for k = -1)."""
    return tuple(model.input_shape) if split == -1 else output_shape(model.head(split), model.input_shape)
