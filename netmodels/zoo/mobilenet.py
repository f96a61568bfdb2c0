"""MobileNetV2 (Sandler et al. 2018): the stem, each inverted-residual block, the 1x1 head conv."""
from __future__ import annotations

import torch
from torch import nn

from netmodels.zoo.base import UnitModel, conv_bn_act, global_pool

# (expansion t, output channels c, repeats n, first stride s), Table 2 of the paper.
INVERTED_RESIDUAL_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class InvertedResidual(nn.Module):
    """1x1 expand (skipped at t = 1), 3x3 depthwise, 1x1 linear projection; residual at stride 1."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_channels * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(conv_bn_act(in_channels, hidden, 1, activation=nn.ReLU6))
        layers.append(conv_bn_act(hidden, hidden, 3, stride=stride, groups=hidden,
                                  activation=nn.ReLU6))
        layers.append(conv_bn_act(hidden, out_channels, 1, activation=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


def mobilenetv2(*, in_channels: int, num_classes: int, input_size: int) -> UnitModel:
    units: list[tuple[str, nn.Module]] = [
        ("features.0", conv_bn_act(in_channels, 32, 3, stride=2, activation=nn.ReLU6))
    ]
    channels = 32
    for expansion, width, repeats, first_stride in INVERTED_RESIDUAL_SETTINGS:
        for i in range(repeats):
            stride = first_stride if i == 0 else 1
            units.append((f"features.{len(units)}",
                          InvertedResidual(channels, width, stride, expansion)))
            channels = width
    units.append((f"features.{len(units)}", conv_bn_act(channels, 1280, 1, activation=nn.ReLU6)))
    units.append(("avgpool", global_pool()))
    units.append(("classifier", nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))))
    return UnitModel(units, input_shape=(in_channels, input_size, input_size),
                     num_classes=num_classes)
