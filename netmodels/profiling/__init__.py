"""The one MAC counter: a table of aten operator handlers (ops.py) and the tracer that runs a
module and attributes every operator's cost to the unit running it (trace.py)."""
from __future__ import annotations

from netmodels.profiling.ops import FREE_OPS, HANDLERS, LAYER_CLASSES, OpCount, TensorInfo, count, layer_class
from netmodels.profiling.trace import ClassCount, ModelTrace, UnitTrace, trace_model, trace_units

__all__ = ["FREE_OPS", "HANDLERS", "LAYER_CLASSES", "ClassCount", "ModelTrace", "OpCount", "TensorInfo", "UnitTrace",
           "count", "layer_class", "trace_model", "trace_units"]
