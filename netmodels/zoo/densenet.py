"""DenseNet-BC (Huang et al. 2017): each dense block and each transition is one unit."""
from __future__ import annotations

import torch
from torch import nn

from netmodels.zoo.base import UnitModel, conv_bn_act


def _bn_relu_conv(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True),
                         nn.Conv2d(in_channels, out_channels, kernel_size,
                                   padding=kernel_size // 2, bias=False))


class DenseBlock(nn.Module):
    """`depth` layers of BN-ReLU-1x1 conv (bn_size x growth) then BN-ReLU-3x3 conv (growth),
    each fed the concatenation of every earlier output."""

    def __init__(self, in_channels: int, depth: int, growth: int, bn_size: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(_bn_relu_conv(in_channels + i * growth, bn_size * growth, 1),
                          _bn_relu_conv(bn_size * growth, growth, 3))
            for i in range(depth)
        )
        self.out_channels = in_channels + depth * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


def densenet(
    depths: tuple[int, int, int, int],
    *,
    in_channels: int,
    num_classes: int,
    input_size: int,
    growth: int = 32,
    bn_size: int = 4,
    stem_channels: int = 64,
) -> UnitModel:
    units: list[tuple[str, nn.Module]] = [
        ("conv0", conv_bn_act(in_channels, stem_channels, 7, stride=2)),
        ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
    ]
    channels = stem_channels
    for stage, depth in enumerate(depths, start=1):
        block = DenseBlock(channels, depth, growth, bn_size)
        units.append((f"denseblock{stage}", block))
        channels = block.out_channels
        if stage < len(depths):
            units.append((f"transition{stage}",
                          nn.Sequential(_bn_relu_conv(channels, channels // 2, 1),
                                        nn.AvgPool2d(2, 2))))
            channels //= 2
    # norm5 has no split point of its own: nothing is gained by sending a BN output.
    units.append(("avgpool", nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
                                           nn.AdaptiveAvgPool2d(1), nn.Flatten())))
    units.append(("classifier", nn.Linear(channels, num_classes)))
    return UnitModel(units, input_shape=(in_channels, input_size, input_size),
                     num_classes=num_classes)
