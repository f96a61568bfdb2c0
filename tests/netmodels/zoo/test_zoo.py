import pytest
import torch

from splitbase import ModelError
from netmodels.zoo import MODELS, build_model

# Parameter counts of the published architectures (torchvision / BVLC reference models).
PUBLISHED_PARAMS = {
    "alexnet": 60_965_224,
    "vgg16": 138_357_544,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "resnet152": 60_192_808,
    "mobilenetv2": 3_504_872,
    "densenet169": 14_149_480,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_imagenet_models_have_published_parameter_counts(name):
    model = build_model(name)
    assert sum(p.numel() for p in model.parameters()) == PUBLISHED_PARAMS[name]


@pytest.mark.parametrize("name", ["vgg16-cifar", "resnet18-cifar", "resnet50-cifar", "small-cnn"])
def test_cifar_models_take_one_channel_fashion_mnist_shape(name):
    model = build_model(name, input_shape=(1, 32, 32), num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", ["resnet18-cifar", "vgg16-cifar", "small-cnn"])
def test_head_then_tail_is_the_whole_model(name):
    model = build_model(name).eval()
    x = torch.randn(2, *model.input_shape)
    with torch.no_grad():
        full = model(x)
        for k in range(-1, model.last_split + 1):
            assert torch.allclose(model.tail(k)(model.head(k)(x)), full)


def test_split_points_by_name_and_index():
    model = build_model("resnet18-cifar")
    assert model.split_index("input") == -1
    assert model.split_index("layer3.1") == model.unit_names.index("layer3.1")
    assert model.split_name(model.last_split) == "fc"
    assert len(model.head("conv1")) == 1
    with pytest.raises(ModelError, match="layer9"):
        model.split_index("layer9")
    with pytest.raises(ModelError, match="outside"):
        model.split_index(model.last_split + 1)


def test_cifar_resnet_stems_follow_the_papers():
    resnet50 = build_model("resnet50-cifar")
    stem = resnet50.units[0][0]
    assert stem.kernel_size == (3, 3) and stem.stride == (1, 1)
    assert "maxpool" not in resnet50.unit_names
    block = resnet50.units[resnet50.unit_names.index("layer2.0")]
    strides = [seq[0].stride for seq in block.body]
    assert strides == [(1, 1), (2, 2), (1, 1)]  # v1.5: the stride sits on the 3x3 conv


def test_unknown_model_lists_known_ones():
    with pytest.raises(ModelError, match="unknown model 'lenet'.*resnet18"):
        build_model("lenet")
    assert "alexnet" in MODELS
