"""Roofline devices: boards and GPUs described by a peak compute rate and a memory bandwidth
(Raspberry Pi 3 / 4 and Jetson Nano at the edge, RTX 2080 Ti as the server).

    T = max(FLOPs / (peak_flop_per_s * compute_efficiency),
            bytes / (memory_bandwidth_byte_per_s * memory_efficiency)),   FLOPs = 2 x MACs
    E = power_w * T

Which bound: every weight and every feature byte crosses the memory bus once (the roofline lower
bound). The efficiency factors are preset parameters, not constants, because they are what a study
calibrates against measured latency. Software JPEG encoding runs on the same roofline at
`encode_ops_per_pixel` operations per pixel, counted against the FLOP/s peak (compute-bound: the
encoder streams 8x8 blocks through the cache).

Memory: a head fits when framework_memory_factor x (weights + peak features) <= ram_byte x
usable_memory_fraction; the factor stands for what a framework (PyTorch) holds beyond raw tensors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hwmodels.costs import Device, MemoryCheck, MemoryLimit, StageCost, as_array, format_bytes, priced_actions
from hwmodels.params import HardwareModel, param_field


@dataclass(frozen=True, kw_only=True)
class RooflineDevice(HardwareModel, Device):
    """A device whose time is max(compute, memory) on its roofline and whose energy is power x time."""

    peak_flop_per_s: float = param_field("FLOP/s", low=0.0, low_open=True)
    compute_efficiency: float = param_field("1", low=0.0, high=1.0, low_open=True)
    memory_bandwidth_byte_per_s: float = param_field("byte/s", low=0.0, low_open=True)
    memory_efficiency: float = param_field("1", low=0.0, high=1.0, low_open=True)
    power_w: float = param_field("W", low=0.0)
    ram_byte: float = param_field("byte", low=0.0, low_open=True)
    usable_memory_fraction: float = param_field("1", low=0.0, high=1.0, low_open=True)
    framework_memory_factor: float = param_field("1", low=0.0, low_open=True)
    encode_ops_per_pixel: float = param_field("op/pixel", low=0.0)

    @property
    def flop_rate_per_s(self) -> float | np.ndarray:
        """Sustained FLOP/s: peak x compute efficiency."""
        return self.peak_flop_per_s * self.compute_efficiency

    @property
    def byte_rate_per_s(self) -> float | np.ndarray:
        """Sustained memory bytes/s: bandwidth x memory efficiency."""
        return self.memory_bandwidth_byte_per_s * self.memory_efficiency

    def compute_time_s(self, macs: ArrayLike) -> np.ndarray:
        """Compute roof: 2 MACs / sustained FLOP/s, seconds."""
        return 2.0 * as_array(macs) / self.flop_rate_per_s

    def memory_time_s(self, nbytes: ArrayLike) -> np.ndarray:
        """Memory roof: bytes / sustained bandwidth, seconds."""
        return as_array(nbytes) / self.byte_rate_per_s

    def inference(self, macs: ArrayLike, weight_bytes: ArrayLike, activation_bytes: ArrayLike) -> StageCost:
        """Roofline time of a head (or tail) and its energy power x time (component "inference")."""
        traffic = as_array(weight_bytes) + as_array(activation_bytes)
        time_s = np.maximum(self.compute_time_s(macs), self.memory_time_s(traffic))
        return StageCost(time_s=time_s, energy_j=priced_actions({"busy_second": time_s}, self.energy_per_action_j(),
                                                                {"busy_second": "inference"}))

    def encode(self, pixels: ArrayLike) -> StageCost:
        """Software JPEG: pixels x ops per pixel on the compute roof; energy power x time."""
        time_s = as_array(pixels) * self.encode_ops_per_pixel / self.flop_rate_per_s
        return StageCost(time_s=time_s, energy_j=priced_actions({"busy_second": time_s}, self.energy_per_action_j(),
                                                                {"busy_second": "encoder"}))

    def memory_check(self, weight_bytes: ArrayLike, peak_activation_bytes: ArrayLike) -> MemoryCheck:
        """Fits when factor x (weights + peak features) <= RAM x usable fraction."""
        need = self.framework_memory_factor * (as_array(weight_bytes) + as_array(peak_activation_bytes))
        usable = self.ram_byte * self.usable_memory_fraction
        note = (f"{format_bytes(self.ram_byte)} RAM x usable fraction {_g(self.usable_memory_fraction)}; "
                f"need = {_g(self.framework_memory_factor)} x (weights + features)")
        return MemoryCheck(device=self.name, limits=(MemoryLimit("usable memory", need, usable, note),))

    def energy_per_action_j(self) -> dict[str, float | np.ndarray]:
        """Roofline energy is power x busy time: one action, a busy second, at power_w joules."""
        return {"busy_second": self.power_w}


def _g(x: float | np.ndarray) -> str:
    return f"{x:g}" if np.ndim(x) == 0 else "per-point"
