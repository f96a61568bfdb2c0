"""`threestep`: the three-step framework of Shao & Zhang (papers 001/003): split point, channel
pruning of the on-device model, two-step task-oriented feature encoding.

Step 2 (communication-aware pruning) is generic: a candidate with sparsity s > 0 is pruned first
(netmodels.pruning; netmodels.candidate.build adds the stage), and this method's encoder sits on the
physically pruned head's feature. Step 3 (section IV.B), the two-step feature encoding:

1. dimension reduction: a conv (1 x 1, or 2 x 2 at stride 2 with option stride=2) + BN + ReLU
   reduces the channels of a C x H x W feature to C1 (option reduced_channels; default C / 4,
   raised where the FC would otherwise have fewer inputs than outputs, at most C);
   the reshaped output passes a fully connected layer to D values (a flat feature, such as the
   output of a global pool, goes to the FC directly). The decoder is the complementary FC
   (D -> C1 H' W') + ReLU, then a transposed conv (C1 -> C, same kernel and stride) + BN + ReLU.
2. learning-driven coding, chosen by the candidate's channel:
   - ideal channel ("none"): learned source coding. A codebook of 2^n scalar codewords (a
     trainable tensor, `bits` = n, default 4) quantises each of the D values (tanh output) to
     its nearest codeword; n bits per value are sent (an index into the codebook, which both
     ends hold). Forward: exactly the codewords. Backward: straight-through to the encoder, and
     the codebook learns through a soft assignment (softmax of minus the squared distances over
     `temperature` x the initial codeword spacing squared; soft-to-hard, Agustsson et al. 2017),
     so the task loss alone moves the codewords (the authors' code adds VQ-VAE codebook and
     commitment losses; the one training loop optimises the task loss only).
   - AWGN / BEC / BSC: learned joint source-channel coding. The D values (sigmoid output, in
     [0, 1] as the channels expect) go through the non-trainable channel layer (analog AWGN, or
     n-bit quantisation with bit errors), trained end to end.

Compression ratio, as for every method (netmodels.candidate.build): raw bits of the feature the
(pruned) head outputs, C H W x 32, divided by the bits sent, D x b (b = n for source coding or a
digital channel, 32 per real value on AWGN). The requested ratio picks D (nearest, at least 1);
the achieved ratio is reported. The profile also holds the unpruned model's raw feature bits.

Training stages (after the pruning stage, if any): "codec" trains encoder and decoder alone
(head and tail frozen), "finetune" every layer at finetune_lr_scale (0.1) of the rate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.codecs.quantize import check_bits
from netmodels.methods.base import METHODS, EncoderSize, FeatureMethod, MethodParts, Stage
from netmodels.methods.bottlenetpp import require_ratio
from netmodels.methods.parts.layers import BottleneckPlan, conv_encoder_size
from netmodels.zoo import FLOAT32_BITS, UnitModel
from splitbase import ModelError
from splitbase.schema import Bounds, Positive, PositiveInt

MAX_CODEBOOK_BITS = 8  # 256 codewords: the soft assignment holds B x D x 2^n distances
DEFAULT_SOURCE_BITS = 4


class CodebookQuantizer(nn.Module):
    """Nearest-codeword quantiser with a learned scalar codebook of 2^bits codewords.

    The codebook starts evenly spaced on [-1, 1] (the encoder's tanh range). forward(z (B, D))
    -> the nearest codeword of each value (exact codebook values, float32); see the module
    docstring for the gradients. `indices(z)` are what is sent (bits each).
    """

    def __init__(self, bits: int, *, temperature: float = 1.0) -> None:
        super().__init__()
        self.bits = check_bits(bits, what="source coding bits", high=MAX_CODEBOOK_BITS)
        levels = 1 << self.bits
        self.codebook = nn.Parameter(torch.linspace(-1.0, 1.0, levels))
        spacing = 2.0 / (levels - 1) if levels > 1 else 1.0
        if not temperature > 0:
            raise ModelError(f"codebook temperature must be > 0, got {temperature!r}")
        self.tau = float(temperature) * spacing**2

    def _distances(self, z: Tensor, codebook: Tensor) -> Tensor:
        return (z.unsqueeze(-1) - codebook).square()

    def indices(self, z: Tensor) -> Tensor:
        """Index of the nearest codeword of each value (int64, z's shape)."""
        with torch.no_grad():
            return self._distances(z.float(), self.codebook.float()).argmin(-1)

    def forward(self, z: Tensor) -> Tensor:
        with torch.autocast(device_type=z.device.type, enabled=False):
            z = z.float()
            codebook = self.codebook.float()
            hard = codebook.detach()[self._distances(z.detach(), codebook.detach()).argmin(-1)]
            if not self.training:
                return hard
            weights = F.softmax(-self._distances(z.detach(), codebook) / self.tau, dim=-1)
            soft = (weights * codebook).sum(-1)
            # value: exactly `hard` (x - x is +0); gradient: identity to z, soft path to the codebook
            return hard + (z - z.detach()) + (soft - soft.detach())

    def extra_repr(self) -> str:
        return f"bits={self.bits}, tau={self.tau:g}"


@dataclass(frozen=True)
class EncodingPlan:
    """Geometry of the two-step encoder: an optional conv step (`conv`, None for a flat
    feature) and the FC from `fc_inputs` to `values` (D)."""

    feature_shape: tuple[int, ...]
    conv: BottleneckPlan | None
    values: int

    @property
    def fc_inputs(self) -> int:
        return math.prod(self.conv.sent_shape if self.conv is not None else self.feature_shape)


def plan_encoding(feature_shape: tuple[int, ...], *, ratio: float, bits_per_element: int,
                  reduced_channels: int | None, stride: int, max_fc_params: int) -> EncodingPlan:
    """D = round(raw bits / (ratio b)), at least 1, raw bits = elements x 32; ModelError if D
    exceeds the FC's inputs (no reduction) or the FC would exceed max_fc_params weights."""
    if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 0):
        raise ModelError(f"compression ratio must be a positive number, got {ratio!r}")
    raw_bits = math.prod(feature_shape) * 32
    values = max(1, round(raw_bits / (ratio * bits_per_element)))
    conv = None
    if len(feature_shape) == 3:
        c, h, w = (int(s) for s in feature_shape)
        if isinstance(stride, bool) or stride not in (1, 2) or stride > min(h, w):
            raise ModelError(f"threestep stride must be 1 (1x1 conv) or 2 (2x2 conv, maps of at least 2x2), got {stride!r}")
        if reduced_channels is None:  # C / 4, but never fewer inputs than the FC must output
            reduced_channels = min(c, max(1, c // 4, math.ceil(values / ((h // stride) * (w // stride)))))
        if isinstance(reduced_channels, bool) or not isinstance(reduced_channels, int) or reduced_channels < 1:
            raise ModelError(f"threestep reduced_channels must be a positive integer, got {reduced_channels!r}")
        conv = BottleneckPlan(c, h, w, reduced_channels, stride)
    plan = EncodingPlan(tuple(int(s) for s in feature_shape), conv, values)
    if values > plan.fc_inputs:
        raise ModelError(f"compression ratio {ratio:g} is too low for the FC encoder of a {'x'.join(map(str, feature_shape))} "
                         f"feature: D = {values} values from {plan.fc_inputs} inputs; ask a higher ratio or more reduced_channels")
    if plan.fc_inputs * values > max_fc_params:
        raise ModelError(f"the FC encoder would have {plan.fc_inputs} x {values} = {plan.fc_inputs * values} weights "
                         f"(max_fc_params {max_fc_params}); ask a higher compression ratio, stride 2 or fewer reduced_channels")
    return plan


class FCEncoder(nn.Module):
    """[conv + BN + ReLU, flatten] -> FC -> tanh (source coding, then the codebook) or sigmoid
    (JSCC). forward(x (B, *feature_shape), state=None) -> (B, D)."""

    def __init__(self, plan: EncodingPlan, *, quantizer: CodebookQuantizer | None) -> None:
        super().__init__()
        conv = plan.conv
        self.reduce = None if conv is None else nn.Sequential(
            nn.Conv2d(conv.channels, conv.sent_channels, conv.stride, stride=conv.stride, bias=False),
            nn.BatchNorm2d(conv.sent_channels), nn.ReLU(inplace=True))
        self.fc = nn.Linear(plan.fc_inputs, plan.values)
        self.squash = nn.Tanh() if quantizer is not None else nn.Sigmoid()
        self.quantizer = quantizer

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        if self.reduce is not None:
            x = self.reduce(x)
        z = self.squash(self.fc(x.flatten(1)))
        return self.quantizer(z) if self.quantizer is not None else z


class FCDecoder(nn.Module):
    """FC (D -> C1 H' W') + ReLU [-> reshape -> transposed conv (C1 -> C) + BN + ReLU].
    forward(y (B, D)) -> (B, *feature_shape), the shape the tail expects."""

    def __init__(self, plan: EncodingPlan) -> None:
        super().__init__()
        conv = plan.conv
        self.fc = nn.Sequential(nn.Linear(plan.values, plan.fc_inputs), nn.ReLU(inplace=True))
        self.shape = conv.sent_shape if conv is not None else plan.feature_shape
        self.restore = None if conv is None else nn.Sequential(
            nn.ConvTranspose2d(conv.sent_channels, conv.channels, conv.stride, stride=conv.stride,
                               output_padding=conv.output_padding, bias=False),
            nn.BatchNorm2d(conv.channels), nn.ReLU(inplace=True))

    def forward(self, y: Tensor) -> Tensor:
        x = self.fc(y)
        x = x.view(x.shape[0], *self.shape)
        return self.restore(x) if self.restore is not None else x


def fc_encoding_reason(model: UnitModel, split: int, feature_shape: tuple[int, ...] | None) -> str | None:
    """Why the two-step FC encoder cannot sit at `split` (None if it can)."""
    if split == -1:
        return "nothing runs on the device at the input split; send the image with an image codec"
    if split == model.last_split:
        return "the split after the last unit sends the result; there is no feature to encode"
    if feature_shape is not None and len(feature_shape) not in (1, 3):
        return f"the feature has shape {tuple(feature_shape)}; the encoder takes a C x H x W map or a flat vector"
    return None


@dataclass(frozen=True)
class ThreeStepOptions:
    bits: Annotated[int, Bounds(low=1, high=MAX_CODEBOOK_BITS)] | None = None
    reduced_channels: PositiveInt | None = None
    stride: Literal[1, 2] = 1
    temperature: Positive = 1.0
    max_fc_params: PositiveInt = 1 << 24
    finetune: bool = True
    finetune_lr_scale: Positive = 0.1


@METHODS.register()
class ThreeStep(FeatureMethod):
    """Three-step framework: pruning (from the candidate's sparsity) + conv/FC encoding + learned coding."""

    name = "threestep"
    description = ("three-step framework: channel pruning + conv/FC feature encoding + learned codebook "
                   "or JSCC (papers 001/003)")
    Options = ThreeStepOptions

    def applies_to(self, model: UnitModel, split: int, *,
                   feature_shape: tuple[int, ...] | None = None) -> str | None:
        return fc_encoding_reason(model, split, feature_shape)

    def _plan(self, feature_shape: tuple[int, ...], compression_ratio: float | None, channel: Channel,
              options: ThreeStepOptions) -> tuple[EncodingPlan, int, int | None]:
        """The encoder's geometry, the bits per sent value and the codebook's bits (None: JSCC,
        no codebook)."""
        ratio = require_ratio(self.name, compression_ratio)
        if channel.noisy:
            if options.bits is not None:
                raise ModelError("method 'threestep': option bits is for learned source coding on channel 'none'; "
                                 "on a noisy channel (JSCC) the channel's own bits apply")
            bits, codebook_bits = channel.bits_per_element(FLOAT32_BITS), None
        else:
            bits = codebook_bits = DEFAULT_SOURCE_BITS if options.bits is None else options.bits
        plan = plan_encoding(feature_shape, ratio=ratio, bits_per_element=bits,
                             reduced_channels=options.reduced_channels, stride=options.stride,
                             max_fc_params=options.max_fc_params)
        return plan, bits, codebook_bits

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: ThreeStepOptions) -> MethodParts:
        plan, bits, codebook_bits = self._plan(feature_shape, compression_ratio, channel, options)
        quantizer = None if codebook_bits is None else CodebookQuantizer(codebook_bits, temperature=options.temperature)
        return MethodParts(FCEncoder(plan, quantizer=quantizer), FCDecoder(plan), (plan.values,), bits)

    def size_encoder(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None, channel: Channel,
                     raw_bits_per_element: int, options: ThreeStepOptions) -> EncoderSize:
        """[the conv step, sized as BottleNet++'s conv encoder (conv_encoder_size)] + the FC's
        inputs x D weights and MACs + D biases [+ the 2^bits codebook]."""
        plan, bits, codebook_bits = self._plan(feature_shape, compression_ratio, channel, options)
        conv = conv_encoder_size(plan.conv, bits) if plan.conv is not None else None
        fc_weights = plan.fc_inputs * plan.values
        codebook = 0 if codebook_bits is None else 1 << codebook_bits
        return EncoderSize(sent_values=plan.values, bits_per_element=bits,
                           weights=(conv.weights if conv else 0) + fc_weights + plan.values + codebook,
                           macs=(conv.macs if conv else 0) + fc_weights)

    def stages(self, options: ThreeStepOptions) -> tuple[Stage, ...]:
        codec = Stage("codec", ("encoder", "decoder"),
                      description="encoder, codebook and decoder alone, head and tail frozen")
        if not options.finetune:
            return (codec,)
        return (codec, Stage("finetune", None, lr_scale=options.finetune_lr_scale,
                             description="every layer fine-tuned at a low learning rate"))
