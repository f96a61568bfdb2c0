"""The split-point profile: one row per split point k = -1..last, from one trace of the model.

Row k describes cutting after unit k: the head is units 0..k (cumulative MACs, parameters,
weight bytes), unit k itself (its MACs, weight bytes, activation traffic), and the feature sent
(unit k's output; the input image for k = -1; the result for k = last).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.profile.bits import BitWidths
from netmodels.profiling.trace import ModelTrace, trace_model
from netmodels.zoo import INPUT_NAME, UnitModel, build_model

# Field names of a profile row, in order: an interface (JSON output, CSV columns, the cost model).
ROW_FIELDS = (
    "index", "name", "head_macs", "head_flops", "head_params", "head_weight_bytes", "unit_macs",
    "unit_weight_bytes", "activation_bytes", "feature_shape", "feature_elements", "feature_bytes",
    "tail_macs",
)


@dataclass(frozen=True)
class SplitProfile:
    """Arrays over split points k = -1..last (length units + 1), per frame (batch 1).

    Units: MACs; FLOPs = 2 MACs; bytes; elements. `activation_bytes` is the unfused traffic of
    unit k alone (0 for k = -1); the other head_* columns are cumulative over units 0..k.
    """

    model: str
    input_shape: tuple[int, int, int]
    bits: BitWidths
    names: tuple[str, ...]
    head_macs: np.ndarray
    head_params: np.ndarray
    unit_macs: np.ndarray
    unit_params: np.ndarray
    activation_elements: np.ndarray
    feature_shapes: tuple[tuple[int, ...], ...]
    unsupported_ops: dict[str, int]

    @property
    def index(self) -> np.ndarray:
        return np.arange(-1, len(self.names) - 1)

    @property
    def total_macs(self) -> int:
        return int(self.head_macs[-1])

    @property
    def head_flops(self) -> np.ndarray:
        return 2 * self.head_macs

    @property
    def tail_macs(self) -> np.ndarray:
        return self.total_macs - self.head_macs

    @property
    def head_weight_bytes(self) -> np.ndarray:
        return self.head_params * self.bits.weight / 8

    @property
    def unit_weight_bytes(self) -> np.ndarray:
        return self.unit_params * self.bits.weight / 8

    @property
    def activation_bytes(self) -> np.ndarray:
        return self.activation_elements * self.bits.feature_bits / 8

    @property
    def feature_elements(self) -> np.ndarray:
        return np.array([math.prod(shape) for shape in self.feature_shapes], dtype=np.int64)

    @property
    def feature_bits(self) -> np.ndarray:
        """Raw bits of the feature sent at each split point (input image for k = -1)."""
        widths = np.full(len(self.names), self.bits.feature_bits, dtype=np.int64)
        widths[0] = self.bits.input_bits
        return self.feature_elements * widths

    @property
    def feature_bytes(self) -> np.ndarray:
        return self.feature_bits / 8

    def rows(self) -> list[dict]:
        """One dict per split point with exactly the fields of ROW_FIELDS."""
        columns = {
            "index": self.index, "name": self.names, "head_macs": self.head_macs,
            "head_flops": self.head_flops, "head_params": self.head_params,
            "head_weight_bytes": self.head_weight_bytes, "unit_macs": self.unit_macs,
            "unit_weight_bytes": self.unit_weight_bytes, "activation_bytes": self.activation_bytes,
            "feature_shape": [list(s) for s in self.feature_shapes],
            "feature_elements": self.feature_elements, "feature_bytes": self.feature_bytes,
            "tail_macs": self.tail_macs,
        }
        return [{name: _plain(columns[name][i]) for name in ROW_FIELDS}
                for i in range(len(self.names))]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows(), columns=list(ROW_FIELDS))


def _plain(value):
    """numpy scalars to Python numbers, integral floats to int (bytes at whole-byte widths)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def profile_trace(trace: ModelTrace, *, model: str, bits: BitWidths) -> SplitProfile:
    """Aggregate a unit trace into per-split-point arrays (k = -1 prepended)."""
    unit_macs = np.array([0] + [u.macs for u in trace.units], dtype=np.int64)
    unit_params = np.array([0] + [u.params for u in trace.units], dtype=np.int64)
    traffic = np.array([0] + [u.read_elements + u.written_elements for u in trace.units],
                       dtype=np.int64)
    return SplitProfile(
        model=model,
        input_shape=tuple(trace.input_shape),
        bits=bits,
        names=(INPUT_NAME, *(u.name for u in trace.units)),
        head_macs=np.cumsum(unit_macs),
        head_params=np.cumsum(unit_params),
        unit_macs=unit_macs,
        unit_params=unit_params,
        activation_elements=traffic,
        feature_shapes=(tuple(trace.input_shape), *(u.output_shape for u in trace.units)),
        unsupported_ops=dict(trace.unsupported),
    )


def profile_model(model: UnitModel, *, name: str, input_shape: tuple[int, int, int] | None = None,
                  bits: BitWidths = BitWidths(), allow_unsupported: bool = False) -> SplitProfile:
    """Profile every split point of `model` from a single trace.

    Raises UnsupportedOpError listing operators without a handler unless `allow_unsupported`.
    """
    trace = trace_model(model, input_shape)
    if not allow_unsupported:
        trace.require_supported(name)
    return profile_trace(trace, model=name, bits=bits)


def profile_zoo_model(name: str, *, input_shape: tuple[int, int, int] | None = None,
                      num_classes: int | None = None, bits: BitWidths = BitWidths()) -> SplitProfile:
    """Build zoo model `name` and profile it (the CLI's `profile MODEL`)."""
    model = build_model(name, input_shape=input_shape, num_classes=num_classes)
    return profile_model(model, name=name, input_shape=model.input_shape, bits=bits)
