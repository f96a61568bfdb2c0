"""Candidates: a split point, a method and a channel, built as one trainable module plus its cost record.

`build_candidate(spec, input_shape=..., num_classes=...)` returns a `Candidate`: the `SplitModel`
to train, the method's training stages, and a `CandidateProfile`, the plain record the cost
evaluator prices (explorer.cost.evaluate; no torch types in it).

Compression ratio (DESIGN.md "Words"), exactly as achieved, never as requested:

    compression_ratio = raw_feature_bits / payload_bits
    raw_feature_bits  = feature elements x 32 (float32), or x 8 for the input image (k = -1)
    payload_bits      = sent_elements x bits_per_element + header_bits

bits_per_element is n on a digital channel (BEC, BSC), 32 on the ideal channel (raw float32;
8 for the image), and 32 per real value on the analog AWGN channel: a real value is counted as
the float32 it would be if sent digitally, so on AWGN the ratio is the reduction in the number
of real values (BottleNet++'s "bandwidth reduction"). `analog_values` and `channel_uses`
(= ceil(values / 2): quadrature modulation, I and Q each carry one value, paper 000 IV.B) are
what a link model needs for the analog channel. header_bits is reliable side information (a
per-sample min/max: 64 bits). For a codec with a data-dependent size (BottleNet's JPEG) the
payload is nominal until `measure_payload` measures the real files.

Sparsity (netmodels.pruning; papers 001/003 step 2): a candidate with sparsity s > 0 (or option
feature_sparsity > 0) first runs pruning stages on the full model, then its method's stages on
the physically pruned head. The shapes of the pruned model depend on the sparsities only, so it
is built here already (channels chosen by the base weights' l2 norms, one shot): `module.head`
is always the deployable, physically pruned head, the method's encoder is built for the pruned
feature, and the profile is exact before training. The pruning stages train `pruning.model`
(masks, incremental) and, after the last one, `Candidate.install_pruned` replaces module.head
and module.tail in place by the incrementally pruned ones (same shapes, other channels).
raw_feature_bits counts the feature the pruned head sends (after activation pruning), so the
compression ratio is the encoder's own, as for an unpruned candidate; unpruned_feature_bits is
the base model's feature at the split, for the total reduction. The pruning options (any
method): feature_sparsity (default: the sparsity), prune_schedule ("cubic" or "linear"),
prune_ramp (fraction of the stage over which the sparsity rises, 0.75), prune_levels (8
increments), prune_lr_scale (1.0).
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, Mapping

import numpy as np
import torch
from torch import Tensor, nn

from netmodels.channels import Channel, build_channel
from netmodels.codecs import build_codec
from netmodels.data import ImageDataset, eval_batches
from netmodels.methods import Method, MethodParts, Stage, feature_shape_at, get_method
from netmodels.methods.base import FLOAT32_BITS, INPUT_IMAGE_BITS, elements, parameter_count
from netmodels.pruning import (
    PruneStep,
    SparsitySchedule,
    forward_macs,
    head_pruning_steps,
    one_shot_keep,
    plan_pruning,
    prune_physically,
    removed_channels,
)
from netmodels.zoo import UnitModel, build_model
from splitbase import ModelError

ChannelKind = Literal["none", "awgn", "bec", "bsc"]
DEFAULT_PSNR_DB = 20.0  # paper 000 IV.B: PSNR = 20 dB in the AWGN comparison
DEFAULT_P = 0.01        # paper 000 IV.B: bit erasure rate p = 0.01 in the BEC comparison
DEFAULT_BITS = 8
# Options of the pruning stages, taken by every method (split off before the method's own).
PRUNING_OPTIONS: dict[str, Any] = {"feature_sparsity": None, "prune_schedule": "cubic", "prune_ramp": 0.75,
                                   "prune_levels": 8, "prune_lr_scale": 1.0}


@dataclass(frozen=True)
class ChannelSpec:
    """The channel layer of a candidate (netmodels.channels).

    kind: "none" (ideal, float32), "awgn" (analog, state psnr_db, default 20 dB), "bec" / "bsc"
    (digital, state p = erasure / flip probability per bit, default 0.01, `bits` per element,
    default 8). train_range: (low, high) of the state drawn per batch in training (None: the
    fixed state). per_sample: one state per sample instead of per batch.
    """

    kind: ChannelKind = "none"
    psnr_db: float | None = None
    p: float | None = None
    bits: int | None = None
    train_range: tuple[float, float] | None = None
    per_sample: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("none", "awgn", "bec", "bsc"):
            raise ModelError(f"channel kind must be none, awgn, bec or bsc, got {self.kind!r}")
        given = {k for k in ("psnr_db", "p", "bits", "train_range") if getattr(self, k) is not None}
        allowed = {"none": set(), "awgn": {"psnr_db", "train_range"},
                   "bec": {"p", "bits", "train_range"}, "bsc": {"p", "bits", "train_range"}}[self.kind]
        if given - allowed:
            raise ModelError(f"channel {self.kind!r} takes no {', '.join(sorted(given - allowed))}")
        if self.kind == "awgn" and self.psnr_db is None:
            object.__setattr__(self, "psnr_db", DEFAULT_PSNR_DB)
        if self.kind in ("bec", "bsc"):
            object.__setattr__(self, "p", DEFAULT_P if self.p is None else self.p)
            object.__setattr__(self, "bits", DEFAULT_BITS if self.bits is None else self.bits)
        if self.train_range is not None:
            object.__setattr__(self, "train_range", tuple(float(v) for v in self.train_range))
        self.build()  # the channel validates its state, range and bits

    def build(self) -> Channel:
        """A fresh channel layer."""
        if self.kind == "none":
            return build_channel("none")
        options: dict[str, Any] = {"train_range": self.train_range, "per_sample": self.per_sample}
        if self.kind == "awgn":
            return build_channel("awgn", psnr_db=self.psnr_db, **options)
        return build_channel(self.kind, p=self.p, bits=self.bits, **options)


@dataclass(frozen=True)
class CandidateSpec:
    """One point of the design space: model, data set, split point, sparsity, requested
    compression ratio (raw bits / bits sent; None for the plain split), method, channel and
    method options (see each method's OPTIONS). A dict is accepted for `channel`.
    """

    model: str
    dataset: str
    split: int | str
    sparsity: float = 0.0
    compression_ratio: float | None = None
    method: str = "none"
    channel: ChannelSpec = field(default_factory=ChannelSpec)
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.channel, Mapping):
            try:
                object.__setattr__(self, "channel", ChannelSpec(**self.channel))
            except TypeError as exc:
                raise ModelError(f"channel settings: {exc}") from None
        if not isinstance(self.sparsity, (int, float)) or not 0.0 <= self.sparsity < 1.0:
            raise ModelError(f"sparsity must be in [0, 1), got {self.sparsity!r}")
        if self.compression_ratio is not None and not (
                isinstance(self.compression_ratio, (int, float)) and self.compression_ratio > 0
                and math.isfinite(self.compression_ratio)):
            raise ModelError(f"compression_ratio must be a positive number, got {self.compression_ratio!r}")
        object.__setattr__(self, "options", dict(self.options))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SplitModel(nn.Module):
    """head -> encoder -> channel -> decoder -> tail, one trainable module.

    forward(x) = tail(decoder(channel(encoder(head(x), s), s))), s the channel state: drawn per
    batch from the channel's training range in training mode, its fixed value in eval mode. An
    encoder may return (z, side) with reliable side information, which the decoder then takes
    as decoder(y, side). The channel runs in float32 with autocast off (noise and quantisation
    at full precision). encoder / decoder may be None (the feature passes unchanged).
    """

    def __init__(self, head: nn.Module, tail: nn.Module, *, channel: Channel,
                 encoder: nn.Module | None = None, decoder: nn.Module | None = None,
                 split_index: int, split_name: str) -> None:
        super().__init__()
        self.head, self.encoder, self.channel, self.decoder, self.tail = head, encoder, channel, decoder, tail
        self.split_index, self.split_name = split_index, split_name

    def encode(self, feature: Tensor, state: Tensor) -> tuple[Tensor, Any]:
        """(z, side): what is sent for the head's feature, and its side information (or None)."""
        if self.encoder is None:
            return feature, None
        out = self.encoder(feature, state)
        return out if isinstance(out, tuple) else (out, None)

    def transmit(self, z: Tensor, state: Tensor) -> Tensor:
        with torch.autocast(device_type=z.device.type, enabled=False):
            return self.channel(z.float(), state)

    def decode(self, y: Tensor, side: Any) -> Tensor:
        if self.decoder is None:
            return y
        return self.decoder(y) if side is None else self.decoder(y, side)

    def forward(self, x: Tensor) -> Tensor:
        feature = self.head(x)
        state = self.channel.sample_state(feature.shape[0], feature.device)
        z, side = self.encode(feature, state)
        return self.tail(self.decode(self.transmit(z, state), side))

    def sent(self, x: Tensor) -> Tensor:
        """What the device sends for inputs x: the encoder's output z (no channel, no grad)."""
        with torch.no_grad():
            feature = self.head(x)
            return self.encode(feature, self.channel.sample_state(feature.shape[0], feature.device))[0]


@dataclass(frozen=True)
class CandidateProfile:
    """What the cost evaluator prices for one candidate, per frame (batch 1); plain values only.

    MACs are multiply-accumulates (FLOPs = 2 MACs): encoder_macs run on the device after the
    head, decoder_macs on the server before the tail. Shapes exclude the batch dimension.
    Bits as defined in the module docstring; channel_uses is 0 on digital channels (bits go to
    the link model). payload_measured: the payload is a measured mean of a codec's real output
    (True), or exact by construction / nominal before measuring (False; `codec` names the codec
    whose size is still to be measured). sparsity: the spec's; feature_sparsity: the fraction of
    the feature's elements removed by activation pruning; pruned_channels: output channels removed
    from the head (the feature's included); unpruned_feature_bits: raw bits of the base model's
    feature at the split. head_macs / head_params and tail_macs / tail_params: the deployed
    (physically pruned) head and tail, encoder and decoder excluded.
    """

    model: str
    dataset: str
    method: str
    split_index: int
    split_name: str
    channel: str
    feature_shape: tuple[int, ...]
    sent_shape: tuple[int, ...]
    sent_elements: int
    bits_per_element: int
    header_bits: int
    payload_bits: float
    raw_feature_bits: int
    compression_ratio: float
    analog_values: int
    channel_uses: int
    encoder_macs: int
    decoder_macs: int
    encoder_params: int
    decoder_params: int
    sparsity: float = 0.0
    pruned_channels: int = 0
    codec: str | None = None
    payload_measured: bool = False
    feature_sparsity: float = 0.0
    unpruned_feature_bits: int = 0
    head_macs: int = 0
    head_params: int = 0
    tail_macs: int = 0
    tail_params: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


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


@dataclass
class Candidate:
    """A built candidate: the module to train, its training stages and its cost profile.

    `module.head` is the deployable head, physically pruned when the candidate has a sparsity;
    `pruning` holds what the pruning stages train (None without pruning). `unit_names`,
    `input_shape` and `num_classes` are the base model's, for `head_model`.
    """

    spec: CandidateSpec
    module: SplitModel
    profile: CandidateProfile
    method: Method
    options: dict[str, Any]
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


def _profile(spec: CandidateSpec, module: SplitModel, *, input_shape: tuple[int, ...], unpruned_shape: tuple[int, ...],
             feature_shape: tuple[int, ...], parts: MethodParts, channel: Channel,
             pruned_channels: int) -> CandidateProfile:
    k = module.split_index
    width = INPUT_IMAGE_BITS if k == -1 else FLOAT32_BITS
    raw_bits = elements(feature_shape) * width
    sent = elements(parts.sent_shape)
    payload = sent * parts.bits_per_element + parts.header_bits
    analog = sent if channel.unit == "real" else 0
    first = next(module.parameters(), None)
    x = torch.zeros(1, *input_shape, device=first.device if first is not None else None)
    head_macs, feature = forward_macs(module.head, x)
    # The tail takes the feature the decoder restores (BottleFit's head sends a smaller one).
    tail_macs, _ = forward_macs(module.tail, feature.new_zeros(1, *feature_shape))
    return CandidateProfile(
        model=spec.model, dataset=spec.dataset, method=spec.method, split_index=k, split_name=module.split_name,
        channel=spec.channel.kind, feature_shape=tuple(feature_shape), sent_shape=tuple(parts.sent_shape),
        sent_elements=sent, bits_per_element=parts.bits_per_element, header_bits=parts.header_bits,
        payload_bits=float(payload), raw_feature_bits=raw_bits, compression_ratio=raw_bits / payload,
        analog_values=analog, channel_uses=math.ceil(analog / 2),
        encoder_macs=parts.encoder_macs, decoder_macs=parts.decoder_macs,
        encoder_params=parts.encoder_params, decoder_params=parts.decoder_params,
        sparsity=spec.sparsity, pruned_channels=pruned_channels, codec=parts.codec,
        feature_sparsity=1.0 - elements(feature_shape) / elements(unpruned_shape),
        unpruned_feature_bits=elements(unpruned_shape) * width,
        head_macs=head_macs, head_params=parameter_count(module.head),
        tail_macs=tail_macs, tail_params=parameter_count(module.tail),
    )


def _split_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pruning options merged over PRUNING_OPTIONS, the method's options)."""
    pruning = {k: v for k, v in options.items() if k in PRUNING_OPTIONS}
    return {**PRUNING_OPTIONS, **pruning}, {k: v for k, v in options.items() if k not in PRUNING_OPTIONS}


def _pruning_steps(spec: CandidateSpec, method: Method, options: Mapping[str, Any]) -> tuple[PruneStep, ...]:
    """The method's pruning steps (2-step pruning has its own) or the default head pruning."""
    fs = options["feature_sparsity"]
    if fs is not None and (isinstance(fs, bool) or not isinstance(fs, (int, float)) or not 0.0 <= fs < 1.0):
        raise ModelError(f"feature_sparsity must be in [0, 1), got {fs!r}")
    feature_sparsity = spec.sparsity if fs is None else float(fs)
    make = getattr(method, "pruning_steps", None)
    steps = make(spec.sparsity, feature_sparsity) if make is not None else head_pruning_steps(spec.sparsity, feature_sparsity)
    if steps and not getattr(method, "supports_sparsity", True):
        raise ModelError(f"method {spec.method!r} does not support sparsity (pruning); use sparsity 0")
    return tuple(steps)


def _prune_at_build(spec: CandidateSpec, method: Method, model: UnitModel, k: int,
                    options: Mapping[str, Any]) -> tuple[UnitModel, PruningState | None, int]:
    """(the model pruned one-shot to the final shapes, the pruning stages' state, channels removed
    from the head); ModelError, before any training, if there is nothing to prune."""
    steps = _pruning_steps(spec, method, options)
    if not steps:
        return model, None, 0
    split_name = model.split_name(k)
    if k == -1:
        raise ModelError(f"sparsity at split {split_name!r}: nothing runs on the device, there is nothing to prune")
    schedule = SparsitySchedule(options["prune_schedule"], float(options["prune_ramp"]), options["prune_levels"])
    current, removed, stages = model, 0, []
    for step in steps:
        plan = plan_pruning(current, k, scope=step.scope)
        if step.feature_sparsity > 0 and not plan.has_feature:
            if options["feature_sparsity"] is not None:
                raise ModelError(f"feature_sparsity: the feature after {split_name!r} of {spec.model} is not the output "
                                 "of a prunable conv layer or residual block")
            step = replace(step, feature_sparsity=0.0)  # the default follows the sparsity where it can
        if not ((step.sparsity > 0 and plan.internal) or (step.feature_sparsity > 0 and plan.has_feature)):
            raise ModelError(f"sparsity {spec.sparsity:g} at split {split_name!r} of {spec.model}: no prunable channels "
                             f"in the {'network' if step.scope == 'network' else 'head'} (prunable: output channels of "
                             "dense convs feeding convs or linear layers, internal channels of ResNet blocks, "
                             "the feature's channels)")
        keep = one_shot_keep(current, plan, sparsity=step.sparsity, feature_sparsity=step.feature_sparsity)
        removed += removed_channels(plan, keep, up_to_unit=k)
        current = prune_physically(current, plan, keep)
        stages.append(PruningStage(step.name, None, lr_scale=float(options["prune_lr_scale"]), step=step,
                                   schedule=schedule,
                                   description=f"incremental channel pruning ({step.scope}): sparsity "
                                               f"{step.sparsity:g}, feature {step.feature_sparsity:g}"))
    return current, PruningState(model, k, tuple(stages)), removed


def build_candidate(spec: CandidateSpec, *, input_shape: tuple[int, int, int], num_classes: int,
                    base_model: UnitModel | None = None) -> Candidate:
    """Build `spec` for inputs of `input_shape` (C, H, W) and `num_classes`.

    base_model: the trained base model (netmodels.baseline) to start from; it is copied, never
    changed. Without it a freshly initialised zoo model is used. ModelError for a split point not
    in the model (listing its units), a method that does not apply there (with the reason),
    options the method does not take, or a sparsity with nothing to prune there.
    """
    method = get_method(spec.method)
    prune_options, method_options = _split_options(spec.options)
    options = method.check_options(method_options)
    if base_model is not None:
        if tuple(base_model.input_shape) != tuple(input_shape) or base_model.num_classes != num_classes:
            raise ModelError(f"base model takes {base_model.input_shape} with {base_model.num_classes} classes, "
                             f"the candidate {tuple(input_shape)} with {num_classes}")
        model = copy.deepcopy(base_model)
    else:
        model = build_model(spec.model, input_shape=input_shape, num_classes=num_classes)
    k = model.split_index(spec.split)
    split_name = model.split_name(k)
    unpruned_shape = feature_shape_at(model, k)
    reason = method.applies_to(model, k, feature_shape=unpruned_shape)
    if reason is not None:
        raise ModelError(f"method {spec.method!r} does not apply at split {split_name!r} of {spec.model}: {reason}")
    deployed, pruning, removed = _prune_at_build(spec, method, model, k, prune_options)
    shape = feature_shape_at(deployed, k) if pruning is not None else unpruned_shape
    channel = spec.channel.build()
    raw_bits = INPUT_IMAGE_BITS if k == -1 else FLOAT32_BITS
    # A method that reshapes the model itself around the split (bottlefit) builds head and tail too.
    build_split = getattr(method, "build_split", None)
    if build_split is None:
        parts = method.build(shape, compression_ratio=spec.compression_ratio, channel=channel,
                             raw_bits_per_element=raw_bits, options=options)
        head, tail = deployed.head(k), deployed.tail(k)
    else:
        head, tail, parts = build_split(deployed, k, compression_ratio=spec.compression_ratio, channel=channel,
                                        raw_bits_per_element=raw_bits, options=options)
    module = SplitModel(head, tail, channel=channel, encoder=parts.encoder,
                        decoder=parts.decoder, split_index=k, split_name=split_name)
    _check_stages_train_something(spec, method, options, module)
    first = next(model.parameters(), None)
    if first is not None:
        module.to(first.device)
    profile = _profile(spec, module, input_shape=tuple(input_shape), unpruned_shape=unpruned_shape,
                       feature_shape=shape, parts=parts, channel=channel, pruned_channels=removed)
    return Candidate(spec, module, profile, method, options, parts, pruning,
                     unit_names=model.unit_names, input_shape=tuple(input_shape), num_classes=num_classes)


def _check_stages_train_something(spec: CandidateSpec, method: Method, options: Mapping[str, Any],
                                  module: nn.Module) -> None:
    """A stage that trains parts without parameters (the tail at the last split) fails here,
    when the candidate is built, not minutes later when its training starts."""
    present = {name.split(".", 1)[0] for name, _ in module.named_parameters()}
    for stage in method.stages(options):
        if stage.trainable is not None and not present.intersection(stage.trainable):
            raise ModelError(f"method {spec.method!r} stage {stage.name!r} trains the {' and '.join(stage.trainable)}, "
                             f"which has no parameters at split {spec.split!r} of {spec.model}")


def measure_payload(candidate: Candidate, data: ImageDataset, *, max_samples: int = 256,
                    batch_size: int = 256) -> CandidateProfile:
    """The profile with payload_bits replaced by the mean real codec size over the first
    `max_samples` test images (for a codec of data-dependent size, e.g. BottleNet's JPEG), and
    the compression ratio recomputed; the profile unchanged when the payload is exact.
    """
    profile = candidate.profile
    if profile.codec is None:
        return profile
    codec = build_codec(profile.codec, **candidate.parts.codec_options)
    module = candidate.module
    first = next(module.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    bits: list[np.ndarray] = []
    try:
        for x, _ in eval_batches(data, batch_size=batch_size, device=device):
            bits.append(codec.batch_bits(module.sent(x).float().cpu()))
            if sum(len(b) for b in bits) >= max_samples:
                break
    finally:
        for m, mode in modes:
            m.training = mode
    measured = np.concatenate(bits)[:max_samples] if bits else np.zeros(0)
    if measured.size == 0:
        raise ModelError(f"{data.name}: no test images to measure the {profile.codec} payload on")
    payload = float(measured.mean())
    return replace(profile, payload_bits=payload, compression_ratio=profile.raw_feature_bits / payload,
                   payload_measured=True)
