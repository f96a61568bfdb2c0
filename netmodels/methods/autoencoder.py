"""`autoencoder`: a convolutional autoencoder at the split, BottleFit's comparison (paper 002 section IV-C).

"A lightweight AE using 4 convolution layers (encoder) and 4 deconvolution layers (decoder),
with batch normalization and ReLU layers between convolution (and deconvolution) layers",
inserted at the split of the unchanged base model: the encoder runs on the device after the
head, the decoder on the server before the tail. Trained on reconstruction (the paper's
squared error; here its mean, netmodels.methods.losses) with the base model frozen, then
evaluated; option `finetune` adds a stage fine-tuning every layer at finetune_lr_scale.

Geometry: the first conv is s x s at stride s (s = 1: 3 x 3), as BottleNet++'s encoder, so
the sent map is C' x floor(H/s) x floor(W/s) (netmodels.methods.parts.layers.plan_bottleneck picks
C' from the requested ratio); the other convs are 3 x 3 at stride 1, their widths falling
geometrically from C to C'. The decoder mirrors it, its last deconv restoring H x W. The sent
feature is linear (no BN or ReLU after the last conv, nor after the last deconv, which
reconstructs a feature of any sign). With `quantize` (default, as BottleFit) the sent feature
is 8-bit quantised after training (BQ: 8 bits per element + 40 header bits), else float32.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from netmodels.channels import Channel
from netmodels.methods.base import METHODS, MethodParts, Stage
from netmodels.methods.bottlefit import BQ_BITS, BQ_HEADER_BITS, BottleneckQuantizer
from netmodels.methods.bottlenet import require_reliable
from netmodels.methods.bottlenetpp import ConvCodingMethod, require_ratio
from netmodels.methods.losses import LossStage, reconstruction_objective
from netmodels.methods.parts.layers import BottleneckPlan, auto_stride, plan_bottleneck
from netmodels.zoo import FLOAT32_BITS
from splitbase.schema import Positive, PositiveInt

LAYERS = 4  # convs in the encoder, deconvs in the decoder (paper 002 section IV-C)


def widths(plan: BottleneckPlan) -> list[int]:
    """Channels C = w0 > w1 > ... > w4 = C' of the encoder's layers: w_i = C (C'/C)^(i/4), at least C'."""
    c, cs = plan.channels, plan.sent_channels
    inner = [max(cs, round(c * (cs / c) ** (i / LAYERS))) for i in range(1, LAYERS)]
    return [c, *inner, cs]


def _first_kernel(stride: int) -> tuple[int, int]:
    """(kernel, padding) of the resizing layer: s x s unpadded at stride s, 3 x 3 padded at s = 1."""
    return (stride, 0) if stride > 1 else (3, 1)


class AutoencoderEncoder(nn.Module):
    """4 convs with BN + ReLU between them, then (eval mode) the optional 8-bit BQ.
    forward(x (B, C, H, W), state) -> (B, C', H', W').
    """

    def __init__(self, plan: BottleneckPlan, *, quantize: bool) -> None:
        super().__init__()
        w = widths(plan)
        kernel, padding = _first_kernel(plan.stride)
        layers: list[nn.Module] = []
        for i in range(LAYERS):
            k, s, p = (kernel, plan.stride, padding) if i == 0 else (3, 1, 1)
            last = i == LAYERS - 1
            layers.append(nn.Conv2d(w[i], w[i + 1], k, stride=s, padding=p, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(w[i + 1]), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)
        self.quantizer = BottleneckQuantizer() if quantize else None

    def forward(self, x: Tensor, state: Tensor | None = None) -> Tensor:
        z = self.layers(x)
        return z if self.quantizer is None else self.quantizer(z)


class AutoencoderDecoder(nn.Module):
    """4 deconvs with BN + ReLU between them, mirroring the encoder. forward(y) -> (B, C, H, W)."""

    def __init__(self, plan: BottleneckPlan) -> None:
        super().__init__()
        w = widths(plan)[::-1]
        kernel, padding = _first_kernel(plan.stride)
        layers: list[nn.Module] = []
        for i in range(LAYERS):
            last = i == LAYERS - 1
            if last:
                layers.append(nn.ConvTranspose2d(w[i], w[i + 1], kernel, stride=plan.stride, padding=padding,
                                                 output_padding=plan.output_padding, bias=True))
            else:
                layers += [nn.ConvTranspose2d(w[i], w[i + 1], 3, padding=1, bias=False),
                           nn.BatchNorm2d(w[i + 1]), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)

    def forward(self, y: Tensor) -> Tensor:
        return self.layers(y)


@dataclass(frozen=True)
class AutoencoderOptions:
    stride: PositiveInt | None = None
    quantize: bool = True
    finetune: bool = False
    finetune_lr_scale: Positive = 0.1
    lr: Positive = 1e-3  # the reconstruction stage's Adam learning rate (002 IV-C: Adam, 0.001)


@METHODS.register()
class Autoencoder(ConvCodingMethod):
    """A 4-conv / 4-deconv autoencoder at the split, trained on reconstruction, base model frozen."""

    name = "autoencoder"
    description = "autoencoder (4 conv + 4 deconv, BN + ReLU) at the split, reconstruction training (paper 002 IV-C)"
    Options = AutoencoderOptions

    def build(self, feature_shape: tuple[int, ...], *, compression_ratio: float | None,
              channel: Channel, raw_bits_per_element: int, options: AutoencoderOptions) -> MethodParts:
        ratio = require_ratio(self.name, compression_ratio)
        require_reliable(self.name, channel)
        bits = BQ_BITS if options.quantize else FLOAT32_BITS
        stride = options.stride if options.stride is not None else auto_stride(feature_shape)
        plan = plan_bottleneck(feature_shape, ratio=ratio, bits_per_element=bits,
                               raw_bits_per_element=raw_bits_per_element, stride=stride)
        return MethodParts(AutoencoderEncoder(plan, quantize=options.quantize), AutoencoderDecoder(plan),
                           plan.sent_shape, bits, header_bits=BQ_HEADER_BITS if options.quantize else 0)

    def stages(self, options: AutoencoderOptions) -> tuple[Stage, ...]:
        # 002 IV-C: "learned with Adam ... initial learning rate of 0.001"
        reconstruction = LossStage("reconstruction", ("encoder", "decoder"), loss=reconstruction_objective,
                                   overrides={"optimizer": "adam", "lr": options.lr},
                                   description="encoder and decoder on reconstruction (mse to the feature), "
                                               "base model frozen, Adam at 1e-3 as 002")
        if not options.finetune:
            return (reconstruction,)
        return (reconstruction, Stage("finetune", None, lr_scale=options.finetune_lr_scale,
                                      description="every layer fine-tuned on cross-entropy"))
