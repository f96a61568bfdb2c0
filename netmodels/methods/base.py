"""The method family: what a split-computing method adds at a split point and how it is trained.

A `Method` builds the extra modules for one split (`build` -> `MethodParts`: encoder, decoder,
what is sent and what it costs) and lists its training `stages`; `applies_to` says why a split
does not suit it. Each stage is run by the one training loop (netmodels.training.train) on the
candidate's SplitModel, training the parameters of the named parts only.

Order of use (netmodels.candidate.build.build_candidate): check_options -> applies_to -> build; then
netmodels.recipes.train_candidate runs `stages(options)` in order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from netmodels.channels import Channel, IdealChannel
from netmodels.zoo import UnitModel
from splitbase import ModelError, Registry

# The parts of a SplitModel a stage can train (None = all of them).
PARTS = ("head", "encoder", "decoder", "tail")

# Bits counted for one real value sent over the analog AWGN channel: the 32 bits it would take as
# the float32 the raw feature is counted in. So on AWGN the compression ratio is the reduction in
# the number of real values, BottleNet++'s "bandwidth reduction" (paper 000, section IV.B).
ANALOG_BITS_PER_VALUE = 32
FLOAT32_BITS = 32
INPUT_IMAGE_BITS = 8


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
    """What a method adds at one split point, per frame (batch 1).

    encoder: nn.Module called encoder(feature, channel_state) -> z, or -> (z, side) where side
    is reliable side information (its bits are `header_bits`) passed to decoder(y, side);
    None sends the feature itself. decoder: nn.Module, y -> restored feature (or (y, side) ->);
    None passes y on. sent_shape: shape of z (no batch dim). bits_per_element: bits counted per
    sent element (n for a digital channel, 32 for float32 or an analog real value, 8 for an
    8-bit image). header_bits: side information per frame. encoder_macs / decoder_macs: MACs
    per frame of the encoder (device side) and decoder (server side); *_params: parameter
    counts. codec: name of the netmodels.codecs codec whose real output size replaces the
    nominal payload when measured (None: the payload size is exact).
    """

    encoder: nn.Module | None
    decoder: nn.Module | None
    sent_shape: tuple[int, ...]
    bits_per_element: int
    header_bits: int = 0
    encoder_macs: int = 0
    decoder_macs: int = 0
    encoder_params: int = 0
    decoder_params: int = 0
    codec: str | None = None
    codec_options: dict[str, Any] = field(default_factory=dict)


class Method:
    """Base class of split-computing methods; subclasses are registered in METHODS by `name`.

    OPTIONS: the method's options and their defaults (an unknown option is a ModelError listing
    them). Subclasses implement `build` and `stages`, and may refine `applies_to`.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    OPTIONS: ClassVar[Mapping[str, Any]] = {}
    needs_baseline: ClassVar[bool] = True  # starts from the cached, trained base model

    def check_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """options merged over OPTIONS; ModelError naming unknown ones."""
        unknown = sorted(set(options) - set(self.OPTIONS))
        if unknown:
            known = ", ".join(sorted(self.OPTIONS)) or "none"
            raise ModelError(f"method {self.name!r} has no option {', '.join(unknown)} (options: {known})")
        return {**self.OPTIONS, **options}

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        """None if the method can run at split point `split` of `model`, else the reason why not."""
        return None

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: Mapping[str, Any]) -> MethodParts:
        """The extra modules for a feature of `feature_shape` (no batch dim) sent over `channel`.

        compression_ratio: the requested ratio (raw bits / bits sent; None = the method's
        default); the achieved one is computed from the returned parts, never assumed.
        raw_bits_per_element: 32 (a float32 feature) or 8 (the input image, k = -1).
        """
        raise NotImplementedError

    def stages(self, options: Mapping[str, Any]) -> tuple[Stage, ...]:
        """Training stages run in order after the base model (step 1, the cached baseline)."""
        raise NotImplementedError


METHODS: Registry[type[Method]] = Registry("method", error=ModelError)


def get_method(name: str) -> Method:
    """An instance of the method registered as `name` (ModelError listing the known ones)."""
    return METHODS.get(name)()


def feature_shape_at(model: UnitModel, split: int) -> tuple[int, ...]:
    """Shape (no batch dim) of the tensor sent at split point `split`: one zero frame through the head."""
    if split == -1:
        return tuple(model.input_shape)
    head = model.head(split)
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    modes = [(m, m.training) for m in head.modules()]
    head.eval()
    try:
        with torch.no_grad():
            out = head(torch.zeros(1, *model.input_shape, device=device))
    finally:
        for m, mode in modes:
            m.training = mode
    return tuple(out.shape[1:])


def channel_bits_per_element(channel: Channel, raw_bits_per_element: int = FLOAT32_BITS) -> int:
    """Bits counted per element sent on `channel`: the raw width on the ideal channel, n bits on a
    digital one, ANALOG_BITS_PER_VALUE per real value on the analog AWGN channel.
    """
    if isinstance(channel, IdealChannel):
        return raw_bits_per_element
    if channel.unit == "real":
        return ANALOG_BITS_PER_VALUE
    return int(channel.bits)


def is_noisy(channel: Channel) -> bool:
    return not isinstance(channel, IdealChannel)


def elements(shape: tuple[int, ...]) -> int:
    return math.prod(int(s) for s in shape)


def parameter_count(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())
