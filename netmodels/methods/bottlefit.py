"""`bottlefit`: BottleFit (Matsubara et al., arXiv 2201.02693, 2022; paper 002).

The bottleneck is injected into the head without adding layers (section III-B): the head's last
convolution before the split is re-made with few output channels C' (the paper's 3-12; here
from the requested compression ratio, or option `channels`) and an extra stride s (a smaller
map, as its SP2), the batch norms after it resized to C'; a transposed conv ("deconv") + BN
(+ the activation the feature came out of) at the start of the tail restores the C x H x W
feature the rest of the tail expects. Worked out for our zoo (netmodels.methods.parts.inject):

- chain models (small-cnn, VGG16, AlexNet): the last conv at or before the split, e.g. conv2
  for a split at pool2 (the pool then pools the C'-channel map);
- ResNet (resnet18/50, CIFAR or ImageNet) at a block: the block is decomposed into its body
  convs (step 1 of section III-B), its shortcut dropped (step 2), the last body conv reshaped
  (step 4; a 1 x 1 conv given an s x s kernel so the stride sees every pixel), its ReLU kept;
- MobileNetV2 blocks likewise (linear bottleneck), DenseNet transitions as chain units.

Every other layer keeps its pretrained weights. Sent: the head's output C' x H' x W'; with
`quantize` (default) 8-bit post-training bottleneck quantisation (BQ, section IV-B, Jacob et
al. 2018): per frame one float32 scale and one 8-bit zero point (40 header bits), applied in
eval mode only (training runs in float). Compression ratio as for every method: raw float32
bits of the base model's feature at the split / (C' H' W' 8 + 40).

Training (section III-C): the teacher is the cached base model. Stage "ghnd" trains head and
deconv on GHND (eq. 4): mse(deconv output, teacher feature at the split) + sum over later,
frozen units j of mse(student unit j output, teacher unit j output); stage "ft" (cross-entropy)
or "kd" (eq. 6, alpha 0.5, tau 1) then fine-tunes deconv and tail, the head frozen
(`freeze_encoder`, the paper's FE) or not. Baselines (section IV-A) as option `training`:
"conventional" (CE end to end), "kd" (KD end to end), "hnd" (head + deconv distilled at the
split only, with stage 1's optimiser); and "ghnd", stage 1 alone (no fine-tuning), which HND
differs from only in the points it matches.

The reshaped head is `candidate.module.head`, the deconv the decoder (server side), the quantiser
the encoder; the candidate's profile traces them like any other part.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.graph import GraphUnitModel
from netmodels.methods.base import METHODS, Method, Stage, feature_shape_at
from netmodels.methods.bottlenet import require_reliable
from netmodels.methods.losses import DistillParts, LossStage, ghnd_objective, hnd_objective, kd_objective
from netmodels.methods.parts.inject import (
    InjectionSite,
    RestoreDeconv,
    dry_run,
    inject_bottleneck,
    locate_bottleneck,
)
from netmodels.methods.parts.layers import auto_stride
from netmodels.zoo import FLOAT32_BITS, UnitModel
from netmodels.zoo.base import unit_shapes
from splitbase import ModelError
from splitbase.schema import Fraction, Positive, PositiveInt

BQ_BITS = 8
BQ_HEADER_BITS = 32 + 8  # per frame: the float32 scale and the 8-bit zero point


def quantize_per_tensor(x: Tensor, bits: int = BQ_BITS) -> tuple[Tensor, Tensor, Tensor]:
    """Asymmetric per-tensor quantisation of each sample of x (B, ...), Jacob et al. 2018 eq. 1:

        scale = (max - min) / (2^bits - 1),  zero = round(-min / scale),
        q = clamp(round(x / scale) + zero, 0, 2^bits - 1),

    with [min, max] widened to hold 0 (so 0 is exact). Returns (q float32 levels, scale, zero),
    scale and zero of shape (B, 1, ...). |x - dequantize(q)| <= scale / 2 everywhere.
    """
    dims = tuple(range(1, x.dim()))
    xf = x.detach().float()
    # -max(-x), not amin: the profiler's operator table (netmodels.profiling.ops) prices amax, not amin.
    lo = -(-xf).amax(dim=dims, keepdim=True).clamp(min=0.0)
    hi = xf.amax(dim=dims, keepdim=True).clamp(min=0.0)
    top = float((1 << bits) - 1)
    # An all-zero sample gets the smallest positive scale and level 0 (clamp, not a comparison:
    # the profiler's operator table prices clamp).
    scale = ((hi - lo) / top).clamp(min=torch.finfo(torch.float32).tiny)
    zero = torch.round(-lo / scale).clamp(0.0, top)
    q = torch.clamp(torch.round(xf / scale) + zero, 0.0, top)
    return q, scale, zero


def dequantize_per_tensor(q: Tensor, scale: Tensor, zero: Tensor) -> Tensor:
    """(q - zero) scale: what the server restores from the levels, float32."""
    return (q - zero) * scale


class BottleneckQuantizer(nn.Module):
    """BQ as the candidate's encoder: identity in training, the 8-bit round trip in eval mode
    (post-training quantisation). forward(x (B, ...), state) -> x's shape and dtype.
    """

    def __init__(self, bits: int = BQ_BITS) -> None:
        super().__init__()
        self.bits = bits

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        if self.training:
            return x
        with torch.autocast(device_type=x.device.type, enabled=False):
            return dequantize_per_tensor(*quantize_per_tensor(x, self.bits)).to(x.dtype)

    def extra_repr(self) -> str:
        return f"bits={self.bits}"


def matched_units(model: UnitModel, split: int, names: tuple[str, ...] | None) -> tuple[int, ...]:
    """Teacher units after `split` whose outputs GHND matches: the named ones, or by default the
    last unit at each spatial resolution among the later units with a C x H x W output (ResNet:
    the end of each stage, layer2.1, layer3.1, ... as torchdistill's GHND configurations match;
    VGG: the last conv before each pool, then pool5).
    """
    if names is not None:
        indices = tuple(model.split_index(name) for name in names)
        if any(j <= split for j in indices):
            raise ModelError(f"ghnd_units must come after the split {model.split_name(split)!r}, got {list(names)}")
        return tuple(sorted(set(indices)))
    shapes = unit_shapes(model)[1:]  # the output of every unit
    maps = [j for j in range(split + 1, model.last_split + 1) if len(shapes[j]) == 3]
    return tuple(j for j in maps if j + 1 not in maps or shapes[j + 1][1:] != shapes[j][1:])


@dataclass(frozen=True)
class BottleFitOptions:
    channels: PositiveInt | None = None
    stride: PositiveInt | None = None
    quantize: bool = True
    training: Literal["bottlefit", "conventional", "kd", "hnd", "ghnd"] = "bottlefit"
    finetune: Literal["ft", "kd"] = "ft"
    freeze_encoder: bool = True
    alpha: Fraction = 0.5
    tau: Positive = 1.0
    ghnd_units: tuple[str, ...] | None = None
    finetune_lr_scale: Positive = 0.1
    ghnd_lr: Positive = 1e-3  # stage 1's Adam learning rate (002 IV-A: 0.001)


@METHODS.register()
class BottleFit(Method):
    """BottleFit: bottleneck injected into the head's convs, deconv in the tail, GHND then FT/KD."""

    name = "bottlefit"
    description = "BottleFit: head convs reshaped to a C'-channel bottleneck + tail deconv, GHND -> FT/KD (paper 002)"
    Options = BottleFitOptions
    supports_sparsity = False

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        if split == -1:
            return ("nothing runs on the device at the input split, so there is no head conv to reshape "
                    "into a bottleneck")
        if isinstance(model, GraphUnitModel):
            return ("BottleFit injects its bottleneck into the zoo's chain units and ResNet / MobileNetV2 blocks; "
                    "a traced user model's units are graph segments it does not know")
        shape = feature_shape if feature_shape is not None else feature_shape_at(model, split)
        if len(shape) != 3:
            return (f"the feature after {model.split_name(split)!r} has shape {tuple(shape)}; "
                    "BottleFit's bottleneck conv needs a C x H x W map")
        site = locate_bottleneck(list(model.head(split)), model.unit_names)
        return site if isinstance(site, str) else None

    def build_split(self, model: UnitModel, split: int, *, compression_ratio: float | None, channel: Channel,
                    raw_bits_per_element: int, options: BottleFitOptions) -> tuple[nn.Module, nn.Module, DistillParts]:
        """(reshaped head, tail, parts) at `split` of `model` (the candidate's private copy; its
        head units at the bottleneck are replaced, not changed in place). The teacher in the
        parts is a frozen copy of `model` as it came in (the base model).
        """
        require_reliable(self.name, channel)
        site = locate_bottleneck(list(model.head(split)), model.unit_names)
        if isinstance(site, str):
            raise ModelError(f"method 'bottlefit' does not apply at {model.split_name(split)!r}: {site}")
        feature = feature_shape_at(model, split)
        stride = options.stride if options.stride is not None else auto_stride(feature)
        bits = BQ_BITS if options.quantize else FLOAT32_BITS
        channels = self._channels(model, split, site, feature, stride, compression_ratio, bits,
                                  raw_bits_per_element, options.channels)
        units = list(model.head(split))
        head = inject_bottleneck(units, site, channels=channels, stride=stride)
        sent = dry_run(head, model, what=f"bottleneck stride {stride}")
        decoder = RestoreDeconv(sent, feature, activation=site.activation)
        encoder = BottleneckQuantizer() if options.quantize else None
        # The teacher (GHND, HND, KD) is the model as it came in: the base model, frozen.
        teacher = None if options.training == "conventional" else _frozen_copy(model)
        parts = DistillParts(
            encoder, decoder, sent, bits, header_bits=BQ_HEADER_BITS if options.quantize else 0,
            teacher=teacher, split_index=split, matched_units=matched_units(model, split, options.ghnd_units),
        )
        return head, model.tail(split), parts

    @staticmethod
    def _channels(model: UnitModel, split: int, site: InjectionSite, feature: tuple[int, ...], stride: int,
                  ratio: float | None, bits: int, raw_bits: int, asked: int | None) -> int:
        """C': as asked, or the count whose sent bits come nearest to raw bits / ratio (1..C)."""
        c, h, w = feature
        if asked is not None:
            if ratio is not None:
                raise ModelError("method 'bottlefit': give either compression_ratio or the option channels, not both")
            if asked > c:
                raise ModelError(f"method 'bottlefit': channels {asked} is more than the {c} of the feature "
                                 "it replaces")
            return asked
        if ratio is None:
            raise ModelError("method 'bottlefit' needs a compression_ratio (raw float32 bits / bits sent) "
                             "or the option channels (the paper's 3-12)")
        _, hs, ws = dry_run(inject_bottleneck(list(model.head(split)), site, channels=1, stride=stride), model,
                            what=f"bottleneck stride {stride}")
        exact = c * h * w * raw_bits / (ratio * hs * ws * bits)
        if exact < 0.5:
            raise ModelError(f"compression ratio {ratio:g} is beyond BottleFit at {model.split_name(split)!r}: at most "
                             f"{c * h * w * raw_bits / (hs * ws * bits):g} with stride {stride} (one channel sent); "
                             "ask a larger stride")
        channels = max(1, round(exact))
        if channels > c:
            raise ModelError(f"compression ratio {ratio:g} at {model.split_name(split)!r} needs {channels} bottleneck "
                             f"channels, more than the feature's {c}: not a bottleneck; ask a higher ratio "
                             "(or stride 1, or quantize false)")
        return channels

    def stages(self, options: BottleFitOptions) -> tuple[Stage, ...]:
        kd = functools.partial(kd_objective, alpha=options.alpha, tau=options.tau)
        training = options.training
        if training == "conventional":
            return (Stage("ce", None, description="baseline: the bottleneck-injected model trained end to end on CE"),)
        if training == "kd":
            return (LossStage("kd", None, loss=kd, description="baseline: end to end on KD from the base model"),)
        # 002 IV-A: stage 1 with Adam, stage 2 with SGD, both from a learning rate of 0.001. HND
        # differs from stage 1 only in the points it matches, so it is optimised alike.
        distil = {"optimizer": "adam", "lr": options.ghnd_lr}
        if training == "hnd":
            return (LossStage("hnd", ("head", "decoder"), loss=hnd_objective, overrides=distil,
                              description="baseline: head + deconv distilled at the split only (HND, Adam as GHND)"),)
        ghnd = LossStage("ghnd", ("head", "decoder"), loss=ghnd_objective, overrides=distil,
                         description="stage 1: head + deconv on GHND (Adam at 1e-3), later units frozen")
        if training == "ghnd":
            return (ghnd,)
        trainable = ("decoder", "tail") if options.freeze_encoder else None
        scale = options.finetune_lr_scale
        if options.finetune == "kd":
            second: Stage = LossStage("kd", trainable, lr_scale=scale, loss=kd,
                                      description="stage 2: fine-tuning on KD")
        else:
            second = Stage("ft", trainable, lr_scale=scale, description="stage 2: fine-tuning on cross-entropy")
        return (ghnd, second)


def _frozen_copy(model: nn.Module) -> nn.Module:
    teacher = copy.deepcopy(model).eval()
    teacher.requires_grad_(False)
    return teacher
