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

Batch and layer classes (issue 12: a device calibrated against measured latency). A call runs
`batch` frames at once: the compute and the feature traffic scale by B, the weights are read
once, so T(B) = max(2 MACs B / (peak eff), (weights + features B) / (bw memeff)) is the latency
of the call (what each of its frames waits; B = 1 by default, today's roofline). With
`per_layer_class` a unit is priced from its work split by layer class c (conv, depthwise,
pointwise, linear, elementwise, norm: `LAYER_CLASSES`, the classes of netmodels.profiling.ops):

    device = sum_c max(2 MACs_c B / (peak eff f_c), (weights_c + features_c B) / (bw memeff g_c),
                       kernels_c x kernel_floor_s)
    host   = sum_c kernels_c x overhead_c
    T = device + host              (host_overlap false: one processor dispatches and computes)
    T = max(device, host)          (host_overlap true: an accelerator runs asynchronously)

f_c and g_c (`<c>_compute_factor`, `<c>_memory_factor`) scale the device-wide efficiencies;
overhead_c (`<c>_kernel_overhead_s`) is the host's fixed time to dispatch one operator call (the
framework's Python and C++ dispatch and the kernel launch: what bounds a GPU at batch 1), and
`kernel_floor_s` the least time one kernel occupies the device. An operator call is every aten
operator the profiling trace costs (netmodels.profiling.ops: activations, additions and
normalisations included; views and allocations excluded, they launch nothing). With
`host_overlap` the host queues kernels while the device runs earlier ones, so a unit takes the
longer of the two (a GPU in eager mode: dispatch-bound at batch 1, compute-bound at large
batch); without it (a CPU) the two add. They default to 1, 1, 0 s, 0 s and false, and
`per_layer_class` to false, so a preset that does not name them prices exactly as the plain
roofline; `split-explorer calibrate` fits them to measured tables (a preset marked `calibrated:`).
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from numpy.typing import ArrayLike

from hwmodels.costs import Device, MemoryCheck, MemoryLimit, StageCost, as_array, format_bytes, priced_actions
from hwmodels.params import FLAG, HardwareModel, param_field


#: the layer classes a roofline has parameters for: netmodels.profiling.ops.LAYER_CLASSES
#: (hwmodels does not import netmodels; tests/explorer/calibration check that the two agree)
LAYER_CLASSES = ("conv", "depthwise", "pointwise", "linear", "elementwise", "norm")


@dataclass(frozen=True)
class ClassLoads:
    """Work per frame split by layer class: arrays whose last axis runs over LAYER_CLASSES (the
    other axes broadcast, e.g. (parts, units, classes)). MACs, weight bytes (read once per
    call), feature bytes read and written, operator calls (kernels)."""

    macs: np.ndarray
    weight_bytes: np.ndarray
    activation_bytes: np.ndarray
    kernels: np.ndarray

    @classmethod
    def one_class(cls, layer_class: str, macs: ArrayLike, weight_bytes: ArrayLike, activation_bytes: ArrayLike,
                  kernels: ArrayLike) -> "ClassLoads":
        """Loads that all belong to `layer_class` (zero in the other classes)."""
        values = np.broadcast_arrays(*map(as_array, (macs, weight_bytes, activation_bytes, kernels)))
        mask = np.array([c == layer_class for c in LAYER_CLASSES], dtype=float)
        return cls(*(v[..., None] * mask for v in values))


def _compute_factor():
    return param_field("1", low=0.0, low_open=True, default=1.0, why="the device-wide compute efficiency")


def _memory_factor():
    return param_field("1", low=0.0, low_open=True, default=1.0, why="the device-wide memory efficiency")


def _kernel_overhead():
    return param_field("s", low=0.0, default=0.0, why="no fixed time per operator call")


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
    batch: float = param_field("1", low=1.0, default=1.0, why="one frame per call, the plain roofline")
    per_layer_class: bool = param_field(FLAG, default=False,
                                        why="one roofline bound per unit, the plain roofline")
    host_overlap: bool = param_field(FLAG, default=False, why="host dispatch time adds to the device's")
    kernel_floor_s: float = param_field("s", low=0.0, default=0.0, why="no least device time per kernel")
    # per layer class (module doc): compute and memory factors, seconds per operator call
    conv_compute_factor: float = _compute_factor()
    conv_memory_factor: float = _memory_factor()
    conv_kernel_overhead_s: float = _kernel_overhead()
    depthwise_compute_factor: float = _compute_factor()
    depthwise_memory_factor: float = _memory_factor()
    depthwise_kernel_overhead_s: float = _kernel_overhead()
    pointwise_compute_factor: float = _compute_factor()
    pointwise_memory_factor: float = _memory_factor()
    pointwise_kernel_overhead_s: float = _kernel_overhead()
    linear_compute_factor: float = _compute_factor()
    linear_memory_factor: float = _memory_factor()
    linear_kernel_overhead_s: float = _kernel_overhead()
    elementwise_compute_factor: float = _compute_factor()
    elementwise_memory_factor: float = _memory_factor()
    elementwise_kernel_overhead_s: float = _kernel_overhead()
    norm_compute_factor: float = _compute_factor()
    norm_memory_factor: float = _memory_factor()
    norm_kernel_overhead_s: float = _kernel_overhead()

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
        """Roofline time of one call of `batch` frames of a head (or tail) given per frame, and its
        energy power x time (component "inference"). With `per_layer_class` the load is priced
        as one convolution (a call of one kernel where it computes)."""
        if self.per_layer_class:
            return self.inference_by_class(ClassLoads.one_class("conv", macs, weight_bytes, activation_bytes,
                                                                (as_array(macs) > 0).astype(float)))
        traffic = as_array(weight_bytes) + as_array(activation_bytes) * self.batch
        time_s = np.maximum(self.compute_time_s(as_array(macs) * self.batch), self.memory_time_s(traffic))
        return self._busy(time_s)

    def inference_by_class(self, loads: ClassLoads) -> StageCost:
        """Time of one call of `batch` frames of work split by layer class (the module doc's sum
        over classes, last axis of `loads`), and its energy power x time. Without
        `per_layer_class` the class totals go through the plain roofline (`inference`)."""
        if not self.per_layer_class:
            return self.inference(loads.macs.sum(axis=-1), loads.weight_bytes.sum(axis=-1),
                                  loads.activation_bytes.sum(axis=-1))
        device, host = self.class_times_s(loads)
        time_s = (np.maximum(device.sum(axis=-1), host.sum(axis=-1)) if self.host_overlap
                  else (device + host).sum(axis=-1))
        return self._busy(time_s)

    def class_times_s(self, loads: ClassLoads) -> tuple[np.ndarray, np.ndarray]:
        """(device, host) seconds per layer class of one call of `batch` frames (the module doc's
        per-class terms before the sum over classes), arrays of `loads`' shape."""
        factors = self.class_factors()
        compute = 2.0 * loads.macs * self.batch / (self.flop_rate_per_s * factors["compute"])
        memory = (loads.weight_bytes + loads.activation_bytes * self.batch) / (self.byte_rate_per_s
                                                                             * factors["memory"])
        device = np.maximum(np.maximum(compute, memory), loads.kernels * self.kernel_floor_s)
        return device, loads.kernels * factors["overhead"]

    def class_factors(self) -> dict[str, np.ndarray]:
        """compute / memory factors and kernel overhead (s) per layer class, arrays in LAYER_CLASSES order."""
        return {"compute": np.array([getattr(self, f"{c}_compute_factor") for c in LAYER_CLASSES]),
                "memory": np.array([getattr(self, f"{c}_memory_factor") for c in LAYER_CLASSES]),
                "overhead": np.array([getattr(self, f"{c}_kernel_overhead_s") for c in LAYER_CLASSES])}

    def _busy(self, time_s: np.ndarray) -> StageCost:
        return StageCost(time_s=time_s, energy_j=priced_actions({"busy_second": time_s}, self.energy_per_action_j(),
                                                                {"busy_second": "inference"}))

    def encode(self, pixels: ArrayLike) -> StageCost:
        """Software JPEG: pixels x ops per pixel on the compute roof; energy power x time."""
        time_s = as_array(pixels) * self.encode_ops_per_pixel / self.flop_rate_per_s
        return StageCost(time_s=time_s, energy_j=priced_actions({"busy_second": time_s}, self.energy_per_action_j(),
                                                                {"busy_second": "encoder"}))

    def memory_check(self, weight_bytes: ArrayLike, peak_activation_bytes: ArrayLike) -> MemoryCheck:
        """Fits when factor x (weights + peak features x batch) <= RAM x usable fraction."""
        need = self.framework_memory_factor * (as_array(weight_bytes) + as_array(peak_activation_bytes) * self.batch)
        usable = self.ram_byte * self.usable_memory_fraction
        note = (f"{format_bytes(self.ram_byte)} RAM x usable fraction {_g(self.usable_memory_fraction)}; "
                f"need = {_g(self.framework_memory_factor)} x (weights + features"
                + (f" x batch {_g(self.batch)})" if self.batch != 1 else ")"))
        return MemoryCheck(device=self.name, limits=(MemoryLimit("usable memory", need, usable, note),))

    def energy_per_action_j(self) -> dict[str, float | np.ndarray]:
        """Roofline energy is power x busy time: one action, a busy second, at power_w joules."""
        return {"busy_second": self.power_w}


def _g(x: float | np.ndarray) -> str:
    return f"{x:g}" if np.ndim(x) == 0 else "per-point"
