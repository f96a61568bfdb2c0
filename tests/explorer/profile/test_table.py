import numpy as np
import pytest
import torch
from fvcore.nn import FlopCountAnalysis

from splitbase import StudyError
from explorer.profile.bits import BitWidths
from explorer.profile.table import ROW_FIELDS, profile_model, profile_zoo_model
from netmodels.zoo import MODELS, build_model

# fvcore counts one fused multiply-add as one flop: its conv/linear/matmul counts are MACs.
FVCORE_MAC_OPS = {"conv", "linear", "addmm", "matmul", "bmm", "mm", "einsum"}


@pytest.mark.parametrize("name", MODELS.names())
def test_macs_agree_with_fvcore_for_every_zoo_model(name):
    model = build_model(name).eval()
    analysis = FlopCountAnalysis(model, torch.zeros(1, *model.input_shape))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    fvcore_macs = sum(v for op, v in analysis.by_operator().items() if op in FVCORE_MAC_OPS)
    profile = profile_model(model, name=name)  # raises on any operator without a handler
    assert profile.total_macs == fvcore_macs
    assert profile.unsupported_ops == {}


def head_macs_after(profile, unit):
    return profile.head_macs[profile.names.index(unit)]


def test_vgg16_cifar_matches_bottlenetpp_table1():
    profile = profile_zoo_model("vgg16-cifar")
    assert head_macs_after(profile, "conv2_2") == pytest.approx(9.6e7, rel=0.02)
    assert head_macs_after(profile, "conv3_3") == pytest.approx(1.9e8, rel=0.02)


@pytest.mark.parametrize("table1", [3.4e8, 6.8e8, 1.2e9, 1.3e9])
def test_resnet50_cifar_matches_bottlenetpp_table1(table1):
    profile = profile_zoo_model("resnet50-cifar")
    assert np.min(np.abs(profile.head_macs / table1 - 1)) <= 0.03


def test_alexnet_input_at_16_bit_is_0_3_mb():
    profile = profile_zoo_model("alexnet", bits=BitWidths(activation=16))
    assert profile.feature_bytes[0] == 3 * 227 * 227 * 2
    assert profile.feature_bytes[0] == pytest.approx(0.3e6, rel=0.05)


def test_default_bits_are_float32_features_and_8_bit_image():
    profile = profile_zoo_model("resnet18-cifar")
    assert profile.feature_bytes[0] == 3 * 32 * 32
    k = profile.names.index("layer4.1")
    assert profile.feature_bytes[k] == 512 * 4 * 4 * 4


def test_rows_are_cumulative_and_complete():
    profile = profile_zoo_model("resnet18-cifar", bits=BitWidths(weight=8, activation=16))
    rows = profile.rows()
    assert [tuple(row) for row in rows] == [ROW_FIELDS] * len(rows)
    assert rows[0]["index"] == -1 and rows[0]["head_macs"] == 0
    assert rows[-1]["tail_macs"] == 0 and rows[-1]["feature_shape"] == [10]
    for before, row in zip(rows, rows[1:]):
        assert row["head_macs"] == before["head_macs"] + row["unit_macs"]
        assert row["head_flops"] == 2 * row["head_macs"]
        assert row["head_weight_bytes"] == before["head_weight_bytes"] + row["unit_weight_bytes"]
        assert row["head_macs"] + row["tail_macs"] == profile.total_macs
    model = build_model("resnet18-cifar")
    assert rows[-1]["head_params"] == sum(p.numel() for p in model.parameters())
    assert rows[-1]["head_weight_bytes"] == rows[-1]["head_params"]  # 8-bit weights


def test_input_shape_and_classes_are_honoured():
    profile = profile_zoo_model("resnet18-cifar", input_shape=(1, 32, 32), num_classes=100)
    assert profile.feature_shapes[0] == (1, 32, 32)
    assert profile.feature_shapes[-1] == (100,)


@pytest.mark.parametrize("field", ["weight", "activation", "input"])
@pytest.mark.parametrize("value", [0, 33])
def test_bits_outside_1_to_32_are_refused(field, value):
    with pytest.raises(StudyError, match=rf"{field} must be in \[1, 32\], got {value}"):
        BitWidths(**{field: value})
