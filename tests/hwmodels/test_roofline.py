"""Roofline devices against hand computations."""
from __future__ import annotations

import pytest

from hwmodels.catalog import load_preset


@pytest.fixture(scope="module")
def pi3():
    return load_preset("raspberry-pi-3")


def test_compute_bound(pi3):
    # 1e9 MACs = 2e9 FLOP at 24 GFLOP/s = 83.3 ms; 10 MB at 3.6 GB/s = 2.8 ms
    cost = pi3.inference(1e9, 8e6, 2e6)
    assert cost.time_s == pytest.approx(2e9 / 24e9)
    assert cost.energy_j["inference"] == pytest.approx(3.7 * 2e9 / 24e9)


def test_memory_bound(pi3):
    # 1e6 MACs (83 us) against 360 MB at 3.6 GB/s = 0.1 s
    cost = pi3.inference(1e6, 350e6, 10e6)
    assert cost.time_s == pytest.approx(0.1)


def test_efficiency_factors_are_parameters():
    pi3 = load_preset("raspberry-pi-3", overrides={"compute_efficiency": 0.25, "memory_efficiency": 0.5})
    assert pi3.compute_time_s(1e9) == pytest.approx(2e9 / (24e9 * 0.25))
    assert pi3.memory_time_s(3.6e9) == pytest.approx(2.0)


def test_software_encoder(pi3):
    # 1e6 pixels x 20 op/pixel / 24 GFLOP/s = 0.833 ms, at 3.7 W
    cost = pi3.encode(1e6)
    assert cost.time_s == pytest.approx(20e6 / 24e9)
    assert cost.energy_j["encoder"] == pytest.approx(3.7 * 20e6 / 24e9)


def test_memory_check_001_resnet18(pi3):
    weights = 11.17e6 * 4          # ResNet18-CIFAR float32
    features = 2 * 64 * 32 * 32 * 4
    # whole model: 20 x 45.2 MB = 904 MB > 0.335 x 1 GiB = 360 MB
    check = pi3.memory_check([weights, 0.3 * weights], features)
    assert check.feasible.tolist() == [False, True]
    reason = check.reason(0)
    assert reason.startswith("does not fit raspberry-pi-3: needs 904 MB of usable memory, has 360 MB")
    assert check.reason(1) == ""


def test_server_rtx_2080ti():
    server = load_preset("rtx-2080ti")
    assert server.inference(1e9, 0, 0).time_s == pytest.approx(2e9 / 13.45e12)
    assert server.inference(1e6, 616e6, 0).time_s == pytest.approx(1e-3)   # memory bound


def test_energy_per_action(pi3):
    assert pi3.energy_per_action_j() == {"busy_second": 3.7}
    cost = pi3.inference(1e9, 0, 0)
    assert cost.energy_j["inference"] == pytest.approx(3.7 * cost.time_s)
    assert pi3.encode(1000).energy_j["encoder"] == pytest.approx(3.7 * pi3.encode(1000).time_s)


def test_per_class_defaults_price_as_the_plain_roofline():
    import dataclasses

    from hwmodels.roofline import ClassLoads

    h200 = load_preset("h200")
    by_class = dataclasses.replace(h200, per_layer_class=True)
    loads = ClassLoads.one_class("conv", 1e9, 8e6, 2e6, 1.0)
    assert by_class.inference_by_class(loads).time_s == pytest.approx(h200.inference(1e9, 8e6, 2e6).time_s)


def test_host_overlap_takes_the_longer_of_host_dispatch_and_device_kernels():
    import dataclasses

    import numpy as np

    from hwmodels.roofline import ClassLoads

    # unit 0: one conv of 67e9 MACs, 2 ms at 67 TFLOP/s, 10 us to dispatch; unit 1: 100 relu calls
    # moving 1e8 bytes (21 us at 4.8 TB/s, but floored at 1 us per kernel: 100 us), 5 us each to dispatch
    h200 = dataclasses.replace(load_preset("h200"), per_layer_class=True, conv_kernel_overhead_s=1e-5,
                               elementwise_kernel_overhead_s=5e-6, kernel_floor_s=1e-6)
    conv = ClassLoads.one_class("conv", 67e9, 0.0, 0.0, 1.0)
    relu = ClassLoads.one_class("elementwise", 0.0, 0.0, 1e8, 100.0)
    loads = ClassLoads(*(np.stack([getattr(conv, f), getattr(relu, f)])
                         for f in ("macs", "weight_bytes", "activation_bytes", "kernels")))
    added = h200.inference_by_class(loads).time_s
    assert added == pytest.approx([2e-3 + 1e-5, 1e-4 + 5e-4])
    overlapped = dataclasses.replace(h200, host_overlap=True).inference_by_class(loads).time_s
    assert overlapped == pytest.approx([2e-3, 5e-4])
