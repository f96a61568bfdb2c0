"""Where BottleFit's bottleneck goes in a zoo head, and the layers that make and undo it.

Paper 002 section III-B builds the bottleneck from the model's own layers: decompose high-level
layers (residual blocks) into low-level ones (step 1), prune some (step 2: a split block's
shortcut), place the bottleneck at a conv (step 3) and adjust its output channels, kernel and
stride (step 4); a deconv after the bottleneck restores the shape the next layers expect.

Here the bottleneck conv is the last convolution of the head, found by walking the head's
layers back from the split: the layers met on the way must take any channel count (ReLU,
pooling, LRN, dropout: kept) or be batch norms (re-made for C' channels). Chain units and DenseNet
transitions are walked as they are; ResNet and MobileNetV2 blocks are decomposed first.
"""
from __future__ import annotations

import copy
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor, nn

from netmodels.modules import eval_mode, module_device
from netmodels.zoo import UnitModel
from netmodels.zoo.mobilenet import InvertedResidual
from netmodels.zoo.resnet import BasicBlock, Bottleneck
from splitbase import ModelError

# Layers that work on any number of channels, passed over between the bottleneck conv and the split.
CHANNEL_AGNOSTIC = (nn.ReLU, nn.ReLU6, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
                    nn.LocalResponseNorm, nn.Dropout, nn.Identity)
ACTIVATIONS = (nn.ReLU, nn.ReLU6)


@dataclass(frozen=True)
class InjectionSite:
    """The bottleneck conv of a head: head unit `unit`, path `conv` inside it (after `decompose`;
    "" when the unit is the conv), the batch norms after it (unit, path) to re-make for C'
    channels, and the activation the feature at the split comes out of (None: a linear feature,
    e.g. after MobileNetV2's projection or a DenseNet transition).
    """

    unit: int
    conv: str
    norms: tuple[tuple[int, str], ...]
    activation: type[nn.Module] | None


def decompose(unit: nn.Module) -> nn.Module:
    """A residual block as the plain sequence of its body (its shortcut dropped), ResNet's final
    ReLU kept; any other unit unchanged. Shares the block's layers (copy the block first to keep it).
    """
    if isinstance(unit, (BasicBlock, Bottleneck)):
        return nn.Sequential(*unit.body, unit.relu)
    if isinstance(unit, InvertedResidual):
        return nn.Sequential(*unit.body)
    return unit


def _leaves(module: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]] | None:
    """(path, layer) of every layer in execution order, or None if a container is not a Sequential."""
    children = list(module.named_children())
    if not children:
        return [(prefix.rstrip("."), module)]
    if not isinstance(module, nn.Sequential):
        return None
    found: list[tuple[str, nn.Module]] = []
    for name, child in children:
        sub = _leaves(child, f"{prefix}{name}.")
        if sub is None:
            return None
        found += sub
    return found


def locate_bottleneck(units: Sequence[nn.Module], names: Sequence[str]) -> InjectionSite | str:
    """The bottleneck conv of the head `units` (their names `names`), or why there is none."""
    norms: list[tuple[int, str]] = []
    activation: type[nn.Module] | None = None
    decided = False  # whether the feature's last non-pooling layer (activation or not) was met
    for i in reversed(range(len(units))):
        layers = _leaves(decompose(units[i]))
        if layers is None:
            return (f"unit {names[i]!r} is a {type(units[i]).__name__}; BottleFit's bottleneck is worked out for "
                    "chain units and ResNet / MobileNetV2 blocks")
        for path, layer in reversed(layers):
            if isinstance(layer, nn.Conv2d):
                return InjectionSite(i, path, tuple(norms), activation)
            if isinstance(layer, nn.BatchNorm2d):
                norms.append((i, path))
                decided = True
            elif isinstance(layer, ACTIVATIONS):
                activation = activation if decided else type(layer)
                decided = True
            elif not isinstance(layer, CHANNEL_AGNOSTIC):
                return (f"a {type(layer).__name__} in unit {names[i]!r} lies between the head's last convolution and "
                        "the split and cannot take a reshaped channel count")
    return "the head has no convolution to reshape into a bottleneck"


def reshape_conv(conv: nn.Conv2d, *, channels: int, stride: int) -> nn.Conv2d:
    """A fresh conv like `conv` with `channels` outputs, its stride times `stride`, dense (groups 1).

    Where the new stride exceeds the kernel (a 1 x 1 conv at stride 2) the kernel grows to the
    stride, unpadded, so every input pixel still reaches the output.
    """
    new_stride = tuple(s * stride for s in conv.stride)
    kernel = tuple(max(k, s) for k, s in zip(conv.kernel_size, new_stride))
    if isinstance(conv.padding, str):
        raise ModelError(f"cannot stride a conv with padding={conv.padding!r}")
    padding = tuple(p if k == k0 else 0 for p, k, k0 in zip(conv.padding, kernel, conv.kernel_size))
    new = nn.Conv2d(conv.in_channels, channels, kernel, stride=new_stride, padding=padding, dilation=conv.dilation,
                    bias=conv.bias is not None, padding_mode=conv.padding_mode)
    return new.to(conv.weight.device)


def _replace(unit: nn.Module, path: str, layer: nn.Module) -> nn.Module:
    """`unit` with the layer at `path` replaced (the layer itself when path is "")."""
    if not path:
        return layer
    parent, _, name = path.rpartition(".")
    setattr(unit.get_submodule(parent) if parent else unit, name, layer)
    return unit


def inject_bottleneck(units: Sequence[nn.Module], site: InjectionSite, *, channels: int, stride: int) -> nn.Sequential:
    """The head with its bottleneck conv re-made for `channels` outputs at `stride` (and the batch
    norms after it for `channels`). The units touched are copies; the others are `units`' own.
    """
    new = list(units)
    for u in {site.unit, *(u for u, _ in site.norms)}:
        new[u] = decompose(copy.deepcopy(units[u]))
    conv = new[site.unit].get_submodule(site.conv)
    new[site.unit] = _replace(new[site.unit], site.conv, reshape_conv(conv, channels=channels, stride=stride))
    for u, path in site.norms:
        bn = new[u].get_submodule(path)
        fresh = nn.BatchNorm2d(channels, eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                               track_running_stats=bn.track_running_stats)
        device = bn.weight.device if bn.weight is not None else torch.device("cpu")
        new[u] = _replace(new[u], path, fresh.to(device))
    return nn.Sequential(OrderedDict((str(i), unit) for i, unit in enumerate(new)))


def dry_run(head: nn.Module, model: UnitModel, *, what: str) -> tuple[int, ...]:
    """Output shape (no batch dim) of `head` for one zero frame of the model's input, eval mode."""
    try:
        with eval_mode(head), torch.no_grad():
            out = head(torch.zeros(1, *model.input_shape, device=module_device(model)))
    except RuntimeError as exc:
        raise ModelError(f"{what} does not fit this head: {str(exc).splitlines()[0]}") from None
    return tuple(out.shape[1:])


def restore_geometry(sent: int, target: int) -> tuple[int, int, int]:
    """(kernel, stride, padding) of a transposed conv taking `sent` pixels to exactly `target`.

    stride r = ceil(target / sent); the r * sent - target extra pixels d are cut by padding
    ceil(d / 2) and, when d is odd, one more kernel tap: (sent - 1) r - 2 ceil(d/2) + r + (d mod 2)
    = target. d = 0 (the usual even case) is BottleNet++'s s x s kernel at stride s.
    """
    r = max(1, math.ceil(target / sent))
    d = r * sent - target
    return r + d % 2, r, math.ceil(d / 2)


class RestoreDeconv(nn.Module):
    """The tail's first layers: transposed conv (no bias) + BN (+ the feature's activation),
    C' x H' x W' -> the C x H x W the rest of the tail expects. forward(y) -> (B, C, H, W).
    """

    def __init__(self, sent: tuple[int, ...], feature: tuple[int, ...], *,
                 activation: type[nn.Module] | None) -> None:
        super().__init__()
        (cs, hs, ws), (c, h, w) = sent, feature
        (kh, sh, ph), (kw, sw, pw) = restore_geometry(hs, h), restore_geometry(ws, w)
        self.deconv = nn.ConvTranspose2d(cs, c, (kh, kw), stride=(sh, sw), padding=(ph, pw), bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.act = activation(inplace=True) if activation is not None else nn.Identity()

    def forward(self, y: Tensor) -> Tensor:
        return self.act(self.bn(self.deconv(y)))
