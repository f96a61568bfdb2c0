"""The split-point profile: one row per split point k = -1..last, from one trace of the model.

Row k describes cutting after unit k: the head is units 0..k (cumulative MACs, parameters,
weight bytes), unit k itself (its MACs, weight bytes, activation traffic), and the feature sent
(unit k's output; the input image for k = -1; the result for k = last).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from explorer.profile.bits import BitWidths
from explorer.profile.pruning import HeadPruning, head_pruning, layer_modules
from netmodels.profiling import LAYER_CLASSES
from netmodels.graph import GraphUnitModel, SentTensor
from netmodels.graph.profile import trace_graph_model
from netmodels.profiling.trace import ModelTrace, trace_model
from netmodels.zoo import INPUT_NAME, UnitModel, build_model

# Field names of a profile row, in order: an interface (JSON output, CSV columns, the cost model).
ROW_FIELDS = (
    "index", "name", "head_macs", "head_flops", "head_params", "head_weight_bytes", "unit_macs",
    "unit_weight_bytes", "activation_bytes", "feature_shape", "feature_elements", "feature_bytes",
    "tail_macs",
)
# The fields a profile of a traced graph (netmodels.graph) adds: every tensor crossing the cut
# (name[shape dtype], joined by " + ") and the head's peak activation memory (batch 1).
GRAPH_FIELDS = ("sent_tensors", "head_peak_activation_bytes")


@dataclass(frozen=True)
class ClassCounts:
    """Each unit's work split by layer class: int arrays (units + 1, len(LAYER_CLASSES)), row 0
    (k = -1) zero, per frame: MACs, weight/buffer elements read, activation elements read and
    written, operator calls (netmodels.profiling.ops: a latency model's per-class loads)."""

    macs: np.ndarray
    weight_elements: np.ndarray
    activation_elements: np.ndarray
    kernels: np.ndarray

    @classmethod
    def of(cls, trace: ModelTrace) -> "ClassCounts":
        def table(value) -> np.ndarray:
            rows = [[0] * len(LAYER_CLASSES)] + [[value(u.by_class[c]) if c in u.by_class else 0
                                                  for c in LAYER_CLASSES] for u in trace.units]
            return np.array(rows, dtype=np.int64)

        return cls(table(lambda c: c.macs), table(lambda c: c.weight_elements),
                   table(lambda c: c.read_elements + c.written_elements), table(lambda c: c.kernels))


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
    classes: ClassCounts | None = None
    # a traced graph's (netmodels.graph.GraphUnitModel): the tensors sent at each split point
    # (k = -1 first) and the head's peak activation bytes, float32 features (0 for k = -1)
    sent: tuple[tuple[SentTensor, ...], ...] | None = None
    head_peak_bytes: np.ndarray | None = None
    # what pruning the head of each split does to every unit, for any sparsity
    # (explorer.profile.pruning); None where the pruner does not plan the model
    pruning: HeadPruning | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields of rows(): ROW_FIELDS, and GRAPH_FIELDS for a traced graph's profile."""
        return ROW_FIELDS + (GRAPH_FIELDS if self.sent is not None else ())

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
        """Elements sent at each split point: the sum over the crossing tensors."""
        if self.sent is not None:
            return np.array([sum(t.elements for t in tensors) for tensors in self.sent], dtype=np.int64)
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
        """One dict per split point with exactly the fields of `fields`."""
        columns = {
            "index": self.index, "name": self.names, "head_macs": self.head_macs,
            "head_flops": self.head_flops, "head_params": self.head_params,
            "head_weight_bytes": self.head_weight_bytes, "unit_macs": self.unit_macs,
            "unit_weight_bytes": self.unit_weight_bytes, "activation_bytes": self.activation_bytes,
            "feature_shape": [list(s) for s in self.feature_shapes],
            "feature_elements": self.feature_elements, "feature_bytes": self.feature_bytes,
            "tail_macs": self.tail_macs,
        }
        if self.sent is not None:
            columns["sent_tensors"] = [" + ".join(f"{t.name}[{'x'.join(map(str, t.shape))} {t.dtype}]" for t in ts)
                                       for ts in self.sent]
            columns["head_peak_activation_bytes"] = self.head_peak_bytes
        return [{name: _plain(columns[name][i]) for name in self.fields}
                for i in range(len(self.names))]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows(), columns=list(self.fields))


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
        classes=ClassCounts.of(trace),
    )


def profile_model(model: UnitModel, *, name: str, input_shape: tuple[int, int, int] | None = None,
                  bits: BitWidths = BitWidths(), allow_unsupported: bool = False) -> SplitProfile:
    """Profile every split point of `model` from a single trace.

    Raises UnsupportedOpError listing operators without a handler unless `allow_unsupported`.
    A traced graph's profile (model a netmodels.graph.GraphUnitModel) also lists every tensor
    sent and the head's peak activation memory. A zoo model's (at its own input shape) holds
    what pruning does to each head (`pruning`, from the same trace, traced layer by layer too).
    """
    graph = isinstance(model, GraphUnitModel)
    planned = not graph and tuple(input_shape or model.input_shape) == tuple(model.input_shape)
    if graph:
        trace = trace_graph_model(model, input_shape)
    else:
        trace = trace_model(model, input_shape, layers=layer_modules(model) if planned else ())
    if not allow_unsupported:
        trace.require_supported(name)
    profile = profile_trace(trace, model=name, bits=bits)
    if not graph:
        return dataclasses.replace(profile, pruning=head_pruning(model, trace) if planned else None)
    peaks = [0] + [cut.head_peak_bytes for cut in model.cuts]
    return dataclasses.replace(profile, sent=tuple(model.sent_tensors(k) for k in profile.index),
                               head_peak_bytes=np.array(peaks, dtype=np.int64))


def profile_zoo_model(name: str, *, input_shape: tuple[int, int, int] | None = None,
                      num_classes: int | None = None, bits: BitWidths = BitWidths()) -> SplitProfile:
    """Build zoo model `name` and profile it (the CLI's `profile MODEL`)."""
    model = build_model(name, input_shape=input_shape, num_classes=num_classes)
    return profile_model(model, name=name, input_shape=model.input_shape, bits=bits)
