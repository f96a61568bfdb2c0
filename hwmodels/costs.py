"""What every hardware model returns, and the small interface the cost evaluator relies on.

Conventions, stated once:

- All workload arguments are array-like and broadcast together (numpy rules); results have the
  broadcast shape. No Python loop runs per design point.
- MACs are multiply-accumulates; FLOPs = 2 x MACs (a roofline's peak is in FLOP/s).
- Bytes are as stored on the device (the caller picks the precision; `MacArrayEngine.data_bits`
  says the engine's), bits are bits, pixels are JPEG input samples (one feature element = one pixel).
- Time in seconds, energy in joules, power in watts.
- Energy is Accelergy-style: action counts x energy per action. Each model's
  `energy_per_action_j()` is its energy reference table (ERT), the one statement of what an action
  costs, and `priced_actions` turns counts into energy per component, kept so that a report can
  show each component's share (`StageCost.energy_j`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike


def as_array(x: ArrayLike) -> np.ndarray:
    """Float array view of a workload argument (scalars become 0-d arrays)."""
    return np.asarray(x, dtype=float)


@dataclass(frozen=True)
class StageCost:
    """Time and energy of one stage for every design point.

    time_s: array, seconds. energy_j: component name -> array of joules (e.g. "compute", "buffer",
    "dram"); every array broadcasts with time_s.
    """

    time_s: np.ndarray
    energy_j: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def total_energy_j(self) -> np.ndarray:
        total = np.zeros_like(np.asarray(self.time_s, dtype=float))
        for part in self.energy_j.values():
            total = total + part
        return total


@dataclass(frozen=True)
class MemoryLimit:
    """One capacity a head must fit: `need_byte` (array) against `capacity_byte`."""

    resource: str
    need_byte: np.ndarray
    capacity_byte: float | np.ndarray
    capacity_note: str = ""

    @property
    def fits(self) -> np.ndarray:
        return np.asarray(self.need_byte <= self.capacity_byte)


@dataclass(frozen=True)
class MemoryCheck:
    """Whether each design point's head fits the device; reasons are built only when asked for
    (a million strings would cost more than the check)."""

    device: str
    limits: tuple[MemoryLimit, ...]

    @property
    def feasible(self) -> np.ndarray:
        ok = np.asarray(True)
        for limit in self.limits:
            ok = ok & limit.fits
        return ok

    def reason(self, index: int | tuple[int, ...] = ()) -> str:
        """Why the point at `index` (into the broadcast shape) does not fit; "" when it fits."""
        shape = np.shape(self.feasible)
        parts = []
        for limit in self.limits:
            need = np.broadcast_to(limit.need_byte, shape)[index]
            cap = np.broadcast_to(limit.capacity_byte, shape)[index]
            if need > cap:
                note = f" ({limit.capacity_note})" if limit.capacity_note else ""
                parts.append(f"needs {format_bytes(need)} of {limit.resource}, has {format_bytes(cap)}{note}")
        return f"does not fit {self.device}: " + "; ".join(parts) if parts else ""


def format_bytes(n: float) -> str:
    """Human-readable decimal size for messages (`13.1 MB`)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


def priced_actions(counts: Mapping[str, ArrayLike], table: Mapping[str, float | np.ndarray],
                   components: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Energy per component (J): the sum over its actions of count x energy per action.

    counts: action -> how many (arrays broadcast together); table: the model's ERT, action ->
    joules per action; components: action -> the component its energy is reported under.
    """
    shape = np.broadcast_shapes(*(np.shape(c) for c in counts.values()))
    energy: dict[str, np.ndarray] = {}
    for action, count in counts.items():
        joules = np.broadcast_to(as_array(count) * table[action], shape)
        component = components[action]
        energy[component] = energy[component] + joules if component in energy else joules
    return energy


class Device(ABC):
    """What the cost evaluator needs from hardware that runs part of a network: the device that
    runs a head (and may encode its feature), or the server that runs a tail (only `inference`).

    Call order does not matter; every method is a pure function of its arrays and the preset.
    """

    @abstractmethod
    def inference(self, macs: ArrayLike, weight_bytes: ArrayLike, activation_bytes: ArrayLike) -> StageCost:
        """Run a head of `macs` MACs whose weights take `weight_bytes` (uncompressed, as stored for
        this device) and whose layers read and write `activation_bytes` of features in total."""

    @abstractmethod
    def encode(self, pixels: ArrayLike) -> StageCost:
        """JPEG-encode a feature of `pixels` samples (0 pixels: no encoding, zero cost)."""

    @abstractmethod
    def memory_check(self, weight_bytes: ArrayLike, peak_activation_bytes: ArrayLike) -> MemoryCheck:
        """Whether the head fits: its weights and the largest live features (one layer's input +
        output, `peak_activation_bytes`)."""

    @abstractmethod
    def energy_per_action_j(self) -> dict[str, float | np.ndarray]:
        """Energy reference table: action name -> joules per action (Accelergy's ERT); the
        model's energies are these times action counts (`priced_actions`)."""
