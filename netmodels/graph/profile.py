"""Per-unit costs of a GraphUnitModel from the one MAC counter (netmodels.profiling.trace_units).

The units of a traced graph chain by construction (each takes exactly what crosses the cut
before it), so the zoo's chain check of trace_model, which wants one tensor per cut, is not
needed; every operator runs inside a unit.
"""
from __future__ import annotations

import dataclasses

import torch

from netmodels.graph.model import GraphUnitModel
from netmodels.modules import module_device
from netmodels.profiling import ModelTrace, trace_units
from splitbase import ModelError


def trace_graph_model(model: GraphUnitModel, input_shape: tuple[int, ...] | None = None) -> ModelTrace:
    """One frame (batch 1) through `model`, each operator's cost added to its unit. A unit's
    output_shape is its first sent tensor's (model.sent_tensors(k) lists them all)."""
    shape = tuple(input_shape or model.input_shape)
    if shape != tuple(model.input_shape):
        raise ModelError(f"a traced model is cut for input {'x'.join(map(str, model.input_shape))}, "
                         f"not {'x'.join(map(str, shape))}: trace it again for that input")
    x = torch.zeros((1, *shape), device=module_device(model))
    trace = trace_units(model, lambda: model(x), list(zip(model.unit_names, model.units)), input_shape=shape)
    units = [dataclasses.replace(u, output_shape=cut.tensors[0].shape) for u, cut in zip(trace.units, model.cuts)]
    return dataclasses.replace(trace, units=units)
