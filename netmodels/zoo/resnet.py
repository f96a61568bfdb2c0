"""ResNets (He et al. 2016): every residual block is one unit."""
from __future__ import annotations

import torch
from torch import nn

from netmodels.zoo.base import UnitModel, conv_bn_act, fully_connected, global_pool


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut: ResNet-18/34."""

    expansion = 1

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out = width * self.expansion
        self.body = nn.Sequential(
            conv_bn_act(in_channels, width, 3, stride=stride),
            conv_bn_act(width, out, 3, activation=None),
        )
        self.shortcut = _shortcut(in_channels, out, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4); the stride sits on the 3x3 conv (ResNet v1.5)."""

    expansion = 4

    def __init__(self, in_channels: int, width: int, stride: int) -> None:
        super().__init__()
        out = width * self.expansion
        self.body = nn.Sequential(
            conv_bn_act(in_channels, width, 1),
            conv_bn_act(width, width, 3, stride=stride),
            conv_bn_act(width, out, 1, activation=None),
        )
        self.shortcut = _shortcut(in_channels, out, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return conv_bn_act(in_channels, out_channels, 1, stride=stride, activation=None)


def resnet(
    block: type[BasicBlock] | type[Bottleneck],
    depths: tuple[int, int, int, int],
    *,
    in_channels: int,
    num_classes: int,
    input_size: int,
    cifar: bool,
) -> UnitModel:
    """ResNet with blocks `layer{stage}.{i}` as units.

    ImageNet stem: 7x7 stride-2 conv + 3x3 stride-2 max-pool. CIFAR stem (BottleNet++ and the
    three-step framework): one 3x3 stride-1 conv, no max-pool.
    """
    units: list[tuple[str, nn.Module]] = []
    if cifar:
        units.append(("conv1", conv_bn_act(in_channels, 64, 3)))
    else:
        units.append(("conv1", conv_bn_act(in_channels, 64, 7, stride=2)))
        units.append(("maxpool", nn.MaxPool2d(3, stride=2, padding=1)))
    channels = 64
    for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), depths), start=1):
        for i in range(depth):
            stride = 2 if stage > 1 and i == 0 else 1
            units.append((f"layer{stage}.{i}", block(channels, width, stride)))
            channels = width * block.expansion
    units.append(("avgpool", global_pool()))
    units.append(("fc", fully_connected(channels, num_classes, relu=False)))
    return UnitModel(units, input_shape=(in_channels, input_size, input_size),
                     num_classes=num_classes)
