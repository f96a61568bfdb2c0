"""The cost evaluator against hand computations on a tiny two-unit profile."""
import numpy as np
import pytest
from torch import nn

from splitbase import StudyError
from explorer.cost.codecs import CodecChoice
from explorer.cost.hardware import Hardware
from explorer.cost.points import DesignPoints
from explorer.cost.price import evaluate, price, price_points
from explorer.cost.workload import workload
from explorer.profile.bits import BitWidths
from explorer.profile.table import profile_model
from hwmodels import load_preset
from netmodels.methods import EncoderSize
from netmodels.zoo import UnitModel


@pytest.fixture(scope="module")
def profile():
    """conv 3->8 (3x3, 8x8 image) then conv 8->4: MACs 8*3*9*64 and 4*8*9*64."""
    model = UnitModel([("a", nn.Conv2d(3, 8, 3, padding=1, bias=False)),
                       ("b", nn.Conv2d(8, 4, 3, padding=1, bias=False))],
                      input_shape=(3, 8, 8), num_classes=1)
    return profile_model(model, name="tiny", bits=BitWidths(weight=16, activation=16))


A_MACS, B_MACS = 8 * 3 * 9 * 64, 4 * 8 * 9 * 64
A_WEIGHTS, B_WEIGHTS = 8 * 3 * 9, 4 * 8 * 9


@pytest.fixture(scope="module")
def hardware():
    return Hardware("engine", load_preset("engine-28nm-144mac"), "wifi",
                    load_preset("wifi-80211bgn-004:2mbps"), "server", load_preset("rtx-2080ti"))


def points(split, sparsity=0.0, codec=CodecChoice("none")):
    return DesignPoints.product(splits=[split], sparsities=[sparsity], codecs=(codec,))


def test_raw_feature_bits_and_macs(profile):
    load = workload(profile, points(0))
    assert load.head_macs[0] == A_MACS and load.tail_macs[0] == B_MACS
    assert load.sent_bits[0] == 8 * 64 * 16
    assert load.compression_vs_float32[0] == pytest.approx(2.0)  # 16-bit vs float32
    assert workload(profile, points(-1)).sent_bits[0] == 3 * 64 * 16  # input at --act-bits


def test_codecs_divide_the_bits(profile):
    assert workload(profile, points(0, codec=CodecChoice("quant", bits=4))).sent_bits[0] == 8 * 64 * 4
    jpeg = workload(profile, points(0, codec=CodecChoice("jpeg", ratio=8)))
    assert jpeg.sent_bits[0] == 8 * 64 * 16 / 8 and jpeg.encoded_pixels[0] == 8 * 64
    # learned: E' = raw bits / (ratio x bits) values, a 2x2 conv over 8 channels each
    learned = workload(profile, points(0, codec=CodecChoice("learned", ratio=16, bits=8)))
    values = 8 * 64 * 16 / (16 * 8)
    assert learned.sent_bits[0] == values * 8
    assert learned.encoder_macs[0] == values * 8 * 2 * 2
    # head_macs and tail_macs count the units alone; the coder is encoder_macs / decoder_macs
    assert learned.head_macs[0] == A_MACS and learned.tail_macs[0] == B_MACS
    assert learned.decoder_macs[0] == learned.encoder_macs[0] == learned.coder_layer_macs[0]
    analog = workload(profile, points(0, codec=CodecChoice("learned", ratio=4)))
    assert analog.sent_real_values[0] == 8 * 64 / 4 and analog.sent_bits[0] == 0


def test_sparsity_scales_head_and_feature(profile):
    load = workload(profile, points(1, sparsity=0.5))
    # the pruning plan: conv a loses half its outputs, conv b (the result, never pruned) its inputs
    assert load.head_macs[0] == pytest.approx(A_MACS * 0.5 + B_MACS * 0.5)
    assert load.head_weight_bytes[0] == pytest.approx((A_WEIGHTS * 0.5 + B_WEIGHTS * 0.5) * 2)
    assert load.sent_bits[0] == 4 * 64 * 16
    assert workload(profile, points(0, sparsity=0.5)).sent_bits[0] == 4 * 64 * 16


def test_layer_by_layer_time_and_energy(profile, hardware):
    engine = hardware.device
    cost = price(workload(profile, points(1)), hardware)
    rate = 144 * engine.clock_hz * engine.utilisation
    dram = engine.dram.bandwidth_byte_per_s * engine.dram.efficiency * engine.weight_compression_ratio
    unit_time = [max(A_MACS / rate, A_WEIGHTS * 2 / dram), max(B_MACS / rate, B_WEIGHTS * 2 / dram)]
    assert cost["head_s"][0] == pytest.approx(sum(unit_time))
    bits = 4 * 64 * 16
    assert cost["link_s"][0] == pytest.approx(bits / 2e6)
    assert cost["energy_radio_j"][0] == pytest.approx(0.099 * bits / 2e6)
    assert cost["energy_compute_j"][0] == pytest.approx((A_MACS + B_MACS) * engine.mac_energy_j)
    assert cost["throughput_fps"][0] == pytest.approx(1 / max(cost["head_s"][0], bits / 2e6))
    assert cost["latency_s"][0] == pytest.approx(cost["head_s"][0] + cost["link_s"][0])


def test_analog_values_use_two_reals_per_channel_use(profile):
    awgn = Hardware("engine", load_preset("engine-28nm-144mac"), "awgn",
                    load_preset("awgn-1mhz-14.5db"), "server", load_preset("rtx-2080ti"))
    cost = price(workload(profile, points(0, codec=CodecChoice("learned", ratio=4))), awgn)
    assert cost["link_s"][0] == pytest.approx((8 * 64 / 4) / 2 / 1e6)


def test_memory_check_names_the_reason(profile):
    pi = Hardware("pi", load_preset("raspberry-pi-3", overrides={"ram_byte": 1000.0}), "wifi",
                  load_preset("wifi-80211bgn-004"), "server", load_preset("rtx-2080ti"))
    cost = price(workload(profile, DesignPoints.product(splits=[-1, 1], sparsities=[0],
                                                        codecs=(CodecChoice("none"),))), pi)
    assert list(cost["feasible"]) == [True, False]
    assert cost["infeasible_reason"][0] == "" and "does not fit" in cost["infeasible_reason"][1]


def test_a_sized_encoder_replaces_the_generic_one_and_its_weights_count_in_memory(profile):
    """A codec choice sized by its method: its values, MACs and weights are priced, and the
    weights join the head's in the memory check (the generic encoder's are not counted)."""
    ram = 1e5 / 0.335  # 100 kB usable: 20 x the head's ~3 kB fits, 20 x 10 kB more of encoder weights does not
    pi = Hardware("pi", load_preset("raspberry-pi-3", overrides={"ram_byte": ram}), "wifi",
                  load_preset("wifi-80211bgn-004"), "server", load_preset("rtx-2080ti"))
    generic = CodecChoice("learned", ratio=8, bits=4)
    sized = CodecChoice("learned", ratio=8, bits=4, size=EncoderSize(sent_values=10, bits_per_element=4,
                                                                       weights=5000, macs=1234))
    grid = DesignPoints.product(splits=[1], sparsities=[0], codecs=(generic, sized))
    cost = price_points(profile, grid, pi)
    # generic: 256 elements x 16 bits / (ratio 8 x 4 bits) = 128 values, each 4 channels x 2 x 2 MACs
    assert list(cost["encoder_macs"]) == [128 * 4 * 4, 1234] and list(cost["sent_bits"]) == [128 * 4, 10 * 4]
    assert list(cost["feasible"]) == [True, False] and "does not fit" in cost["infeasible_reason"][1]


def test_vectorised_equals_a_loop_over_points(profile, hardware):
    grid = DesignPoints.product(splits=[-1, 0, 1], sparsities=[0, 0.25, 0.5], codecs=(
        CodecChoice("none"), CodecChoice("quant", bits=8), CodecChoice("jpeg", ratio=10), CodecChoice("learned", ratio=8, bits=4)))
    together = price_points(profile, grid, hardware, chunk=7)
    for i in range(len(grid)):
        one = DesignPoints(grid.split[[i]], grid.sparsity[[i]], grid.codec[[i]], grid.codecs)
        alone = price(workload(profile, one), hardware)
        for column in ("latency_s", "energy_j", "throughput_fps"):
            assert together[column][i] == pytest.approx(alone[column][0])


def test_evaluate_rows_and_bad_grids(profile, hardware):
    frame = evaluate(profile, DesignPoints.product(splits=[-1, 0, 1], sparsities=[0],
                                                   codecs=(CodecChoice("none"),)), [hardware, hardware])
    assert len(frame) == 6 and list(frame["split_name"][:3]) == ["input", "a", "b"]
    with pytest.raises(StudyError, match="split points"):
        evaluate(profile, points(2), [hardware])
    with pytest.raises(StudyError, match="sparsity"):
        evaluate(profile, points(0, sparsity=1.0), [hardware])
    with pytest.raises(StudyError, match="no hardware"):
        evaluate(profile, points(0), [])
    assert np.all(frame["energy_j"] > 0)


def test_a_batch_divides_energy_and_multiplies_throughput(profile):
    def priced(batch):
        device = load_preset("raspberry-pi-3", overrides={"batch": batch})
        hardware = Hardware("pi3", device, "wifi", load_preset("wifi-80211bgn-004:2mbps"), "gpu",
                            load_preset("rtx-2080ti"))
        return price(workload(profile, points(0)), hardware)

    one, eight = priced(1.0), priced(8.0)
    # the tiny head is compute bound: a call of 8 frames takes 8 times as long, its frames wait for it
    assert eight["head_s"][0] == pytest.approx(8 * one["head_s"][0])
    assert eight["energy_inference_j"][0] == pytest.approx(one["energy_inference_j"][0])
    stage2 = one["encode_s"][0] + one["link_s"][0]
    assert eight["throughput_fps"][0] == pytest.approx(1 / max(eight["head_s"][0] / 8, stage2))
