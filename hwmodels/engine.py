"""The 004 edge engine: a 28 nm MAC array with an on-chip feature buffer, a JPEG feature encoder,
and an off-chip LPDDR DRAM that holds the (optionally JPEG-compressed) weights.

Model (004 §4.1, as written out in HARDWARE-NOTES "The 004 pipeline per frame"):

    T_infer = max(MACs / (n_macs * clock_hz * utilisation),                       compute bound
                  weight_bytes / (weight_compression_ratio * dram.bandwidth))      DRAM bound
    E_infer = MACs * mac_energy_j + activation_bytes * buffer_energy_j_per_byte
              + 8 * weight_bytes / weight_compression_ratio * dram.energy_j_per_bit
    T_jpeg  = pixels / (jpeg_pixel_per_cycle * clock_hz),   E_jpeg = pixels * jpeg_energy_j_per_pixel

Which bound: weights are read from DRAM exactly once per frame (the roofline lower bound: no
re-fetch), features never leave the chip (004: "an on-chip buffer to store the input/output feature
maps"), each feature byte read or written once per layer. The JPEG decoder that 004 uses to unpack
compressed weights is not costed separately (004 prints no figure for it; HARDWARE-NOTES' per-frame
formula has no such term); its effect enters only through fewer DRAM bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hwmodels.costs import Device, MemoryCheck, MemoryLimit, StageCost, as_array, format_bytes, priced_actions
from hwmodels.params import HardwareModel, component_field, param_field


@dataclass(frozen=True, kw_only=True)
class Dram(HardwareModel):
    """Off-chip DRAM: energy per bit moved, peak bandwidth and the fraction of it sustained,
    capacity."""

    energy_j_per_bit: float = param_field("J/bit", low=0.0)
    bandwidth_byte_per_s: float = param_field("byte/s", low=0.0, low_open=True)
    efficiency: float = param_field("1", low=0.0, high=1.0, low_open=True)
    capacity_byte: float = param_field("byte", low=0.0, low_open=True)

    def read(self, nbytes: ArrayLike) -> StageCost:
        """Read `nbytes` bytes: time = bytes / (bandwidth x efficiency), energy = 8 bytes x
        energy per bit."""
        nbytes = as_array(nbytes)
        return StageCost(time_s=nbytes / (self.bandwidth_byte_per_s * self.efficiency),
                         energy_j=priced_actions({"bit": 8.0 * nbytes}, self.energy_per_action_j(), {"bit": "dram"}))

    def energy_per_action_j(self) -> dict[str, float | np.ndarray]:
        return {"bit": self.energy_j_per_bit}


@dataclass(frozen=True, kw_only=True)
class MacArrayEngine(HardwareModel, Device):
    """MAC-array ASIC with feature buffer, JPEG encoder and weight DRAM (the 004 engine)."""

    n_macs: float = param_field("MAC", low=1.0)
    clock_hz: float = param_field("Hz", low=0.0, low_open=True)
    utilisation: float = param_field("1", low=0.0, high=1.0, low_open=True)
    data_bits: float = param_field("bit", low=1.0)
    mac_energy_j: float = param_field("J", low=0.0)
    buffer_capacity_byte: float = param_field("byte", low=0.0)
    buffer_energy_j_per_byte: float = param_field("J/byte", low=0.0)
    jpeg_pixel_per_cycle: float = param_field("pixel/cycle", low=0.0, low_open=True)
    jpeg_energy_j_per_pixel: float = param_field("J/pixel", low=0.0)
    weight_compression_ratio: float = param_field("1", low=1.0)
    dram: Dram = component_field("dram")

    @property
    def mac_rate_per_s(self) -> float | np.ndarray:
        """Sustained MACs per second: n_macs x clock x utilisation."""
        return self.n_macs * self.clock_hz * self.utilisation

    @property
    def jpeg_throughput_pixel_per_s(self) -> float | np.ndarray:
        """JPEG encoder pixels per second: pixels per cycle x engine clock."""
        return self.jpeg_pixel_per_cycle * self.clock_hz

    def compute_time_s(self, macs: ArrayLike) -> np.ndarray:
        """Compute bound of T_infer: MACs / (n_macs f u), seconds."""
        return as_array(macs) / self.mac_rate_per_s

    def dram_time_s(self, weight_bytes: ArrayLike) -> np.ndarray:
        """DRAM bound of T_infer: compressed weight bytes / bandwidth, seconds."""
        return self.dram.read(self._dram_bytes(weight_bytes)).time_s

    def inference(self, macs: ArrayLike, weight_bytes: ArrayLike, activation_bytes: ArrayLike) -> StageCost:
        """004 inference stage: time = max(compute, DRAM) bound; energy split into
        compute (MACs e_mac), buffer (feature bytes e_buffer) and dram (weight bits e_dram)."""
        dram_bytes = self._dram_bytes(weight_bytes)
        time_s = np.maximum(self.compute_time_s(macs), self.dram.read(dram_bytes).time_s)
        counts = {"mac": macs, "buffer_byte": activation_bytes, "dram_bit": 8.0 * dram_bytes}
        return StageCost(time_s=time_s, energy_j=priced_actions(counts, self.energy_per_action_j(), ACTION_COMPONENTS))

    def encode(self, pixels: ArrayLike) -> StageCost:
        """004 feature encoding on the JPEG block: pixels / throughput seconds, pixels e_jpeg joules."""
        pixels = as_array(pixels)
        return StageCost(time_s=pixels / self.jpeg_throughput_pixel_per_s,
                         energy_j=priced_actions({"encoded_pixel": pixels}, self.energy_per_action_j(),
                                                 ACTION_COMPONENTS))

    def memory_check(self, weight_bytes: ArrayLike, peak_activation_bytes: ArrayLike) -> MemoryCheck:
        """Features must fit the on-chip buffer (004 keeps them on chip); compressed weights the DRAM."""
        return MemoryCheck(device=self.name, limits=(
            MemoryLimit("on-chip feature buffer", as_array(peak_activation_bytes), self.buffer_capacity_byte),
            MemoryLimit("DRAM for compressed weights", self._dram_bytes(weight_bytes), self.dram.capacity_byte,
                        f"weights stored {_ratio(self.weight_compression_ratio)} compressed; "
                        f"{format_bytes(self.dram.capacity_byte)} DRAM"),
        ))

    def energy_per_action_j(self) -> dict[str, float | np.ndarray]:
        """The engine's ERT; a DRAM bit costs what the DRAM component's table says."""
        return {"mac": self.mac_energy_j, "buffer_byte": self.buffer_energy_j_per_byte,
                "dram_bit": self.dram.energy_per_action_j()["bit"], "encoded_pixel": self.jpeg_energy_j_per_pixel}

    def _dram_bytes(self, weight_bytes: ArrayLike) -> np.ndarray:
        return as_array(weight_bytes) / self.weight_compression_ratio


# The component each action's energy is reported under (004 Fig. 8's breakdown).
ACTION_COMPONENTS = {"mac": "compute", "buffer_byte": "buffer", "dram_bit": "dram", "encoded_pixel": "encoder"}


def _ratio(r: float | np.ndarray) -> str:
    return f"{r:g}x" if np.ndim(r) == 0 else "per-point"
