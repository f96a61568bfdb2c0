"""The model zoo: every model a `UnitModel` (a chain of named units), built by name.

Adding a model is one `ModelSpec` line in `_CATALOG` below. A user's own network (a file and a
factory, traced with torch.fx) is added at run time to `USER_MODELS` by
netmodels.graph.user.register_user_model; `build_model` builds both alike.
"""
from __future__ import annotations

from functools import partial

from splitbase import ModelError, Registry
from netmodels.widths import FLOAT32_BITS, INPUT_IMAGE_BITS
from netmodels.zoo.base import INPUT_NAME, ModelSpec, UnitModel
from netmodels.zoo.chains import alexnet, small_cnn, vgg16
from netmodels.zoo.densenet import densenet
from netmodels.zoo.mobilenet import mobilenetv2
from netmodels.zoo.resnet import BasicBlock, Bottleneck, resnet

MODELS: Registry[ModelSpec] = Registry("model", error=ModelError)
USER_MODELS: Registry[ModelSpec] = Registry("user model", error=ModelError)

IMAGENET = (3, 224, 224)
CIFAR = (3, 32, 32)

_CATALOG = (
    ModelSpec("alexnet", alexnet, (3, 227, 227), 1000, "AlexNet (BVLC Caffe, grouped convs, LRN)"),
    ModelSpec("vgg16", partial(vgg16, cifar=False), IMAGENET, 1000, "VGG16, configuration D"),
    ModelSpec("resnet18", partial(resnet, BasicBlock, (2, 2, 2, 2), cifar=False), IMAGENET, 1000,
              "ResNet-18"),
    ModelSpec("resnet50", partial(resnet, Bottleneck, (3, 4, 6, 3), cifar=False), IMAGENET, 1000,
              "ResNet-50 (v1.5: stride on the 3x3 conv)"),
    ModelSpec("resnet152", partial(resnet, Bottleneck, (3, 8, 36, 3), cifar=False), IMAGENET,
              1000, "ResNet-152 (v1.5)"),
    ModelSpec("mobilenetv2", mobilenetv2, IMAGENET, 1000, "MobileNetV2 (width 1.0)"),
    ModelSpec("densenet169", partial(densenet, (6, 12, 32, 32)), IMAGENET, 1000,
              "DenseNet-169 (BC, growth 32)"),
    ModelSpec("vgg16-cifar", partial(vgg16, cifar=True), CIFAR, 10,
              "VGG16 with BN for 32x32 inputs, classifier 512-512-classes (BottleNet++)"),
    ModelSpec("resnet18-cifar", partial(resnet, BasicBlock, (2, 2, 2, 2), cifar=True), CIFAR, 10,
              "ResNet-18, 3x3 stride-1 stem, no max-pool (three-step framework)"),
    ModelSpec("resnet50-cifar", partial(resnet, Bottleneck, (3, 4, 6, 3), cifar=True), CIFAR, 10,
              "ResNet-50 v1.5, 3x3 stride-1 stem, no max-pool (BottleNet++)"),
    ModelSpec("small-cnn", small_cnn, CIFAR, 10, "three-stage CNN for CPU runs (the quickstart)"),
)
for _spec in _CATALOG:
    MODELS.add(_spec.name, _spec)


def build_model(
    name: str,
    *,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
) -> UnitModel:
    """Build zoo model `name` for inputs of `input_shape` (C, H, W; H = W) and `num_classes`.

    Defaults are the shape and class count the model was published with. A user model
    (USER_MODELS) is traced for one input and class count: others are refused.
    """
    if name in USER_MODELS:
        return _build_user(USER_MODELS.get(name), input_shape, num_classes)
    spec = MODELS.get(name)
    channels, height, width = input_shape or spec.input_shape
    if height != width:
        raise ModelError(f"input {channels}x{height}x{width}: zoo models take square inputs")
    try:
        return spec.build(in_channels=channels, num_classes=num_classes or spec.num_classes,
                          input_size=height)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"model {name!r} cannot take input {channels}x{height}x{width}: {exc}") \
            from None


def _build_user(spec: ModelSpec, input_shape: tuple[int, int, int] | None, num_classes: int | None) -> UnitModel:
    shape, classes = tuple(input_shape or spec.input_shape), num_classes or spec.num_classes
    if shape != tuple(spec.input_shape) or classes != spec.num_classes:
        raise ModelError(f"model {spec.name!r} is traced for input {'x'.join(map(str, spec.input_shape))} and "
                         f"{spec.num_classes} classes, not {'x'.join(map(str, shape))} and {classes}")
    return spec.build()


__all__ = ["FLOAT32_BITS", "INPUT_IMAGE_BITS", "INPUT_NAME", "MODELS", "ModelSpec", "USER_MODELS", "UnitModel", "build_model"]
