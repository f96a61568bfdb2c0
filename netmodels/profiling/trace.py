"""Tracing a forward pass: every aten operator, costed and attributed to the unit running it.

The one MAC counter of the project: the profile of split points (explorer.profile), the
candidates' profiles (netmodels.candidate), hence pricing, pruning and methods, all count here,
through the handler table of netmodels.profiling.ops. Counting at the aten level, a subclass of a
layer or a functional call is costed like any other operator, never skipped.

`trace_units` is the general engine: it runs any module on any input and adds each operator's
cost to the registered unit that is running (ops elsewhere are counted as outside). `trace_model`
traces a whole `UnitModel` and also checks the zoo's hand-named units against what actually
runs: each unit runs once, in order, takes exactly the previous unit's output as its only
input, and no operator runs outside a unit. A cut between two units is then valid: one known
tensor crosses it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from netmodels.modules import eval_mode, module_device
from netmodels.profiling.ops import OpCount, TensorInfo, count
from netmodels.zoo import UnitModel
from splitbase import ModelError, UnsupportedOpError


@dataclass
class ClassCount:
    """Per-frame cost of one layer class inside a unit: MACs, activation elements read and
    written, weight/buffer elements read, and operator calls (kernels)."""

    macs: int = 0
    read_elements: int = 0
    written_elements: int = 0
    weight_elements: int = 0
    kernels: int = 0

    def add(self, cost: OpCount) -> None:
        self.macs += cost.macs
        self.read_elements += cost.read_elements
        self.written_elements += cost.written_elements
        self.weight_elements += cost.weight_elements
        self.kernels += 1


@dataclass
class UnitTrace:
    """Per-frame (batch 1) cost of one unit; `by_class` splits it by layer class
    (netmodels.profiling.ops.LAYER_CLASSES; classes that do not run are absent)."""

    name: str
    params: int
    macs: int = 0
    read_elements: int = 0
    written_elements: int = 0
    output_shape: tuple[int, ...] = ()
    calls: int = 0
    by_class: dict[str, ClassCount] = field(default_factory=dict)

    def add(self, cost: OpCount) -> None:
        """Count one operator call of this unit."""
        self.macs += cost.macs
        self.read_elements += cost.read_elements
        self.written_elements += cost.written_elements
        if cost.layer_class:
            self.by_class.setdefault(cost.layer_class, ClassCount()).add(cost)


@dataclass
class ModelTrace:
    """Per-unit costs of one traced forward pass. `unsupported`: operators without a handler run
    inside a unit (name -> calls); `outside`: operators with a cost run outside every unit (a
    channel layer's noise, a codec proxy); `unsupported_outside`: unhandled ones out there.
    `layers`: the same operators counted again per layer, for the layers asked for (trace_units)."""

    input_shape: tuple[int, ...]
    units: list[UnitTrace]
    unsupported: Counter = field(default_factory=Counter)
    outside: Counter = field(default_factory=Counter)
    unsupported_outside: Counter = field(default_factory=Counter)
    layers: list[UnitTrace] = field(default_factory=list)

    def require_supported(self, what: str) -> None:
        """UnsupportedOpError listing the operators without a cost handler inside the units."""
        if self.unsupported:
            ops = ", ".join(f"{op} x{n}" for op, n in sorted(self.unsupported.items()))
            raise UnsupportedOpError(f"{what}: operators without a cost handler: {ops}")


class _CostMode(TorchDispatchMode):
    """Costs every dispatched operator and adds it to the unit that is running."""

    def __init__(self, weight_ids: set[int]) -> None:
        super().__init__()
        self.weight_ids = weight_ids
        self.unit: UnitTrace | None = None
        self.layer: UnitTrace | None = None
        self.outside: Counter = Counter()
        self.unsupported: Counter = Counter()
        self.unsupported_outside: Counter = Counter()

    def _info(self, value: object) -> TensorInfo | None:
        if not isinstance(value, torch.Tensor):
            return None
        return TensorInfo(tuple(value.shape), value.untyped_storage().data_ptr() in self.weight_ids,
                          value.is_floating_point())

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__
        flat_args, _ = tree_flatten((args, kwargs or {}))
        inputs = [info for info in map(self._info, flat_args) if info is not None]
        outputs = [info for info in map(self._info, tree_flatten(out)[0]) if info is not None]
        cost: OpCount | None = count(name, inputs, outputs, args)
        if cost is None:
            (self.unsupported if self.unit is not None else self.unsupported_outside)[name] += 1
        elif self.unit is None:
            if cost.macs or cost.read_elements or cost.written_elements:
                self.outside[name] += 1
        else:
            self.unit.add(cost)
            if self.layer is not None:
                self.layer.add(cost)
        return out


EnterCheck = Callable[[int, tuple], None]


def _traces(modules: Sequence[tuple[str, nn.Module]]) -> list[UnitTrace]:
    return [UnitTrace(name, sum(p.numel() for p in module.parameters())) for name, module in modules]


def _register(modules: Sequence[tuple[str, nn.Module]], traces: list[UnitTrace], mode: _CostMode, slot: str,
              on_enter: EnterCheck | None = None) -> list:
    """Hooks that make each module's trace `mode.<slot>` while it runs (and record its calls and
    output shape); the hook handles."""
    def enter(index: int):
        def hook(module, args):
            if on_enter is not None:
                on_enter(index, args)
            traces[index].calls += 1
            setattr(mode, slot, traces[index])
        return hook

    def leave(index: int):
        def hook(module, args, output):
            first = tree_flatten(output)[0]
            traces[index].output_shape = tuple(first[0].shape[1:]) if first else ()
            setattr(mode, slot, None)
        return hook

    handles = []
    for index, (_, module) in enumerate(modules):
        handles.append(module.register_forward_pre_hook(enter(index)))
        handles.append(module.register_forward_hook(leave(index)))
    return handles


def trace_units(root: nn.Module, run: Callable[[], object], units: Sequence[tuple[str, nn.Module]],
                *, input_shape: tuple[int, ...] = (), on_enter: EnterCheck | None = None,
                layers: Sequence[tuple[str, nn.Module]] = ()) -> ModelTrace:
    """Cost the operators of `run()` (a forward pass of `root`, eval mode, no grad) per unit.

    `units` are (name, submodule) pairs; a submodule's operators go to its unit. `on_enter(i,
    args)` may check each unit's inputs and raise ModelError. `layers`: (name, submodule) pairs,
    none inside another (e.g. a model's leaf modules), whose operators run inside a unit are also
    counted per layer (ModelTrace.layers, in order; calls: how often each ran).
    """
    weight_ids = {t.untyped_storage().data_ptr() for t in (*root.parameters(), *root.buffers())}
    traces, layer_traces = _traces(units), _traces(layers)
    mode = _CostMode(weight_ids)
    handles = (_register(units, traces, mode, "unit", on_enter)
               + _register(layers, layer_traces, mode, "layer"))
    try:
        with eval_mode(root), torch.no_grad(), mode:
            run()
    finally:
        for handle in handles:
            handle.remove()
    return ModelTrace(tuple(input_shape), traces, mode.unsupported, mode.outside, mode.unsupported_outside,
                      layer_traces)


def trace_model(model: UnitModel, input_shape: tuple[int, int, int] | None = None, *,
                layers: Sequence[tuple[str, nn.Module]] = ()) -> ModelTrace:
    """Run one frame (batch 1) through `model` and cost every unit, checking that the units chain;
    `layers` are also counted apart (trace_units).

    Raises ModelError if the units do not chain (a cut would not be a single known tensor)
    or if work runs outside any unit.
    """
    shape = tuple(input_shape or model.input_shape)
    x = torch.zeros((1, *shape), device=module_device(model))
    units = list(zip(model.unit_names, model.units))
    previous = {"output": x}

    def check(index: int, args: tuple) -> None:
        name = units[index][0]
        if len(args) != 1 or args[0] is not previous["output"]:
            raise ModelError(f"unit {name!r} does not take exactly the previous unit's output: "
                             "the cut before it is not one tensor")

    def remember(module, args, output):
        if not isinstance(output, torch.Tensor):
            raise ModelError(f"a unit returns {type(output).__name__}, not one tensor")
        previous["output"] = output

    handles = [module.register_forward_hook(remember) for _, module in units]
    try:
        trace = trace_units(model, lambda: model(x), units, input_shape=shape, on_enter=check, layers=layers)
    except RuntimeError as exc:
        raise ModelError(f"input {'x'.join(map(str, shape))} does not fit the model: "
                         f"{str(exc).splitlines()[0]}") from None
    finally:
        for handle in handles:
            handle.remove()
    repeated = [u.name for u in trace.units if u.calls > 1]
    if repeated:
        raise ModelError(f"unit {repeated[0]!r} runs twice in one forward pass")
    if trace.outside or trace.unsupported_outside:
        raise ModelError(f"operators run outside any unit: {dict(trace.outside + trace.unsupported_outside)}")
    return trace
