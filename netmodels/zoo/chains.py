"""Chain networks (AlexNet, VGG16, a small CNN): one unit per conv, pool and fc layer."""
from __future__ import annotations

from torch import nn

from netmodels.zoo.base import UnitModel, conv_bn_act, fully_connected

# VGG16 configuration D: (stage, output channels of each conv of the stage).
VGG16_STAGES = ((1, (64, 64)), (2, (128, 128)), (3, (256, 256, 256)), (4, (512, 512, 512)),
                (5, (512, 512, 512)))


def _pooled(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def vgg16(*, in_channels: int, num_classes: int, input_size: int, cifar: bool) -> UnitModel:
    """VGG16 (Simonyan & Zisserman, configuration D).

    ImageNet: the original (no BN), classifier fc6/fc7 of 4096 on the 7x7x512 pool5 output.
    CIFAR (as BottleNet++ built it): the same conv stack with BN, classifier 512-512-classes.
    """
    units: list[tuple[str, nn.Module]] = []
    channels, size = in_channels, input_size
    for stage, widths in VGG16_STAGES:
        for i, width in enumerate(widths, start=1):
            units.append((f"conv{stage}_{i}", conv_bn_act(channels, width, 3, batch_norm=cifar)))
            channels = width
        units.append((f"pool{stage}", nn.MaxPool2d(2, 2)))
        size = _pooled(size, 2, 2)
    hidden = 512 if cifar else 4096
    dropout = 0.5
    units += [
        ("fc6", fully_connected(channels * size * size, hidden, flatten=True, dropout=dropout)),
        ("fc7", fully_connected(hidden, hidden, dropout=dropout)),
        ("fc8", fully_connected(hidden, num_classes, relu=False)),
    ]
    return UnitModel(units, input_shape=(in_channels, input_size, input_size),
                     num_classes=num_classes)


def alexnet(*, in_channels: int, num_classes: int, input_size: int) -> UnitModel:
    """AlexNet as in the BVLC Caffe reference model the 004 paper partitions (3x227x227).

    Grouped conv2/conv4/conv5 (two GPU halves) and local response normalisation after conv1 and
    conv2, as Krizhevsky et al. 2012; MACs about 7.2e8.
    """
    size = _pooled(input_size, 11, 4)
    size = _pooled(size, 3, 2)       # pool1
    size = _pooled(size, 3, 2)       # pool2 (conv2 keeps the size)
    size = _pooled(size, 3, 2)       # pool5
    lrn = dict(size=5, alpha=1e-4, beta=0.75, k=1.0)
    units: list[tuple[str, nn.Module]] = [
        ("conv1", nn.Sequential(nn.Conv2d(in_channels, 96, 11, stride=4), nn.ReLU(inplace=True),
                                nn.LocalResponseNorm(**lrn))),
        ("pool1", nn.MaxPool2d(3, 2)),
        ("conv2", nn.Sequential(nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(inplace=True),
                                nn.LocalResponseNorm(**lrn))),
        ("pool2", nn.MaxPool2d(3, 2)),
        ("conv3", conv_bn_act(256, 384, 3, batch_norm=False)),
        ("conv4", conv_bn_act(384, 384, 3, groups=2, batch_norm=False)),
        ("conv5", conv_bn_act(384, 256, 3, groups=2, batch_norm=False)),
        ("pool5", nn.MaxPool2d(3, 2)),
        ("fc6", fully_connected(256 * size * size, 4096, flatten=True, dropout=0.5)),
        ("fc7", fully_connected(4096, 4096, dropout=0.5)),
        ("fc8", fully_connected(4096, num_classes, relu=False)),
    ]
    return UnitModel(units, input_shape=(in_channels, input_size, input_size),
                     num_classes=num_classes)


def small_cnn(*, in_channels: int, num_classes: int, input_size: int) -> UnitModel:
    """A three-stage CNN (16-32-64 channels) that retrains in seconds on 2 CPU cores."""
    units: list[tuple[str, nn.Module]] = []
    channels, size = in_channels, input_size
    for stage, width in enumerate((16, 32, 64), start=1):
        units.append((f"conv{stage}", conv_bn_act(channels, width, 3)))
        units.append((f"pool{stage}", nn.MaxPool2d(2, 2)))
        channels, size = width, _pooled(size, 2, 2)
    units.append(("fc", fully_connected(channels * size * size, num_classes, flatten=True,
                                        relu=False)))
    return UnitModel(units, input_shape=(in_channels, input_size, input_size),
                     num_classes=num_classes)
