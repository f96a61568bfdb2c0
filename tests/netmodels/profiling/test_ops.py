"""Handlers against hand-written formulas, on tiny fixture nets (one unit each)."""
import pytest
import torch
from torch import nn

from splitbase import UnsupportedOpError
from explorer.profile.table import profile_model
from netmodels.zoo import UnitModel


def single_unit(module: nn.Module, shape: tuple[int, int, int]) -> UnitModel:
    return UnitModel([("unit", module)], input_shape=shape, num_classes=1)


def unit_macs(module: nn.Module, shape: tuple[int, int, int]) -> int:
    return int(profile_model(single_unit(module, shape), name="fixture").unit_macs[1])


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("groups", [1, 4])
def test_conv_macs_are_n_k_c_r_s_p_q(stride, groups):
    conv = nn.Conv2d(8, 16, 3, stride=stride, padding=1, groups=groups)
    out = (12 - 1) // stride + 1
    assert unit_macs(conv, (8, 12, 12)) == 16 * (8 // groups) * 3 * 3 * out * out


def test_depthwise_conv_macs():
    conv = nn.Conv2d(8, 8, 3, padding=1, groups=8)
    assert unit_macs(conv, (8, 10, 10)) == 8 * 1 * 9 * 10 * 10


def test_transposed_conv_counts_from_the_input_side():
    deconv = nn.ConvTranspose2d(4, 6, 2, stride=2)
    assert unit_macs(deconv, (4, 5, 5)) == 4 * 6 * 2 * 2 * 5 * 5


def test_linear_macs():
    fc = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 7))
    assert unit_macs(fc, (3, 4, 4)) == 48 * 7


class BatchedMatmul(nn.Module):
    def forward(self, x):
        x = x.flatten(0, 1)  # (1, C, H, W) -> (C, H, W): C matrices of H x W
        return torch.bmm(x, x.transpose(1, 2))


def test_bmm_macs():
    # 3 matrices (5, 6) @ (6, 5): B M N K = 3 * 5 * 5 * 6
    assert unit_macs(BatchedMatmul(), (3, 5, 6)) == 3 * 5 * 5 * 6


def test_activation_traffic_excludes_weights_and_indices():
    pool = nn.MaxPool2d(2)
    profile = profile_model(single_unit(pool, (2, 4, 4)), name="fixture")
    assert profile.activation_elements[1] == 2 * 4 * 4 + 2 * 2 * 2  # read input, write values
    conv = nn.Conv2d(2, 3, 1, bias=False)
    profile = profile_model(single_unit(conv, (2, 4, 4)), name="fixture")
    assert profile.activation_elements[1] == 2 * 16 + 3 * 16  # the weight is not an activation


class Cumulative(nn.Module):
    def forward(self, x):
        return torch.cumsum(x, dim=1)


def test_an_operator_without_handler_is_reported_not_zero():
    model = single_unit(Cumulative(), (3, 4, 4))
    with pytest.raises(UnsupportedOpError, match="cumsum"):
        profile_model(model, name="fixture")
    profile = profile_model(model, name="fixture", allow_unsupported=True)
    assert profile.unsupported_ops == {"cumsum": 1}
