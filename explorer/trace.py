"""One trace of a whole `UnitModel`: every aten operator, costed and attributed to its unit.

The trace also checks the zoo's hand-named units against what actually runs: each unit runs
once, in order, takes exactly the previous unit's output as its only input, and no operator
runs outside a unit. A cut between two units is then valid: one known tensor crosses it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from splitbase import ModelError
from explorer.ops import OpCount, TensorInfo, count
from netmodels.zoo import UnitModel


@dataclass
class UnitTrace:
    """Per-frame (batch 1) cost of one unit."""

    name: str
    params: int
    macs: int = 0
    read_elements: int = 0
    written_elements: int = 0
    output_shape: tuple[int, ...] = ()


@dataclass
class ModelTrace:
    input_shape: tuple[int, ...]
    units: list[UnitTrace]
    unsupported: Counter = field(default_factory=Counter)


class _CostMode(TorchDispatchMode):
    """Costs every dispatched operator and adds it to the unit that is running."""

    def __init__(self, weight_ids: set[int]) -> None:
        super().__init__()
        self.weight_ids = weight_ids
        self.unit: UnitTrace | None = None
        self.outside: Counter = Counter()
        self.unsupported: Counter = Counter()

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
            self.unsupported[name] += 1
        elif self.unit is None:
            if cost.macs or cost.read_elements or cost.written_elements:
                self.outside[name] += 1
        else:
            self.unit.macs += cost.macs
            self.unit.read_elements += cost.read_elements
            self.unit.written_elements += cost.written_elements
        return out


def trace_model(model: UnitModel, input_shape: tuple[int, int, int] | None = None) -> ModelTrace:
    """Run one frame (batch 1, eval mode, no grad) through `model` and cost every unit.

    Raises ModelError if the units do not chain (a cut would not be a single known tensor)
    or if work runs outside any unit.
    """
    shape = tuple(input_shape or model.input_shape)
    weight_ids = {t.untyped_storage().data_ptr()
                  for t in (*model.parameters(), *model.buffers())}
    units = [UnitTrace(name, sum(p.numel() for p in module.parameters()))
             for name, module in zip(model.unit_names, model.units)]
    mode = _CostMode(weight_ids)
    state = {"previous": None}

    def enter(index: int):
        def hook(module, args):
            if len(args) != 1 or (state["previous"] is not None and args[0] is not state["previous"]):
                raise ModelError(f"unit {units[index].name!r} does not take exactly the previous "
                                 "unit's output: the cut before it is not one tensor")
            if units[index].output_shape:
                raise ModelError(f"unit {units[index].name!r} runs twice in one forward pass")
            mode.unit = units[index]
        return hook

    def leave(index: int):
        def hook(module, args, output):
            if not isinstance(output, torch.Tensor):
                raise ModelError(f"unit {units[index].name!r} returns {type(output).__name__}, "
                                 "not one tensor")
            units[index].output_shape = tuple(output.shape[1:])
            state["previous"] = output
            mode.unit = None
        return hook

    handles = []
    for index, module in enumerate(model.units):
        handles.append(module.register_forward_pre_hook(enter(index)))
        handles.append(module.register_forward_hook(leave(index)))
    was_training = model.training
    model.eval()
    try:
        first_weight = next(model.parameters(), None)
        x = torch.zeros((1, *shape), device=first_weight.device if first_weight is not None else "cpu")
        state["previous"] = x
        with torch.no_grad(), mode:
            model(x)
    except RuntimeError as exc:
        raise ModelError(f"input {'x'.join(map(str, shape))} does not fit the model: "
                         f"{str(exc).splitlines()[0]}") from None
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if mode.outside:
        raise ModelError(f"operators run outside any unit: {dict(mode.outside)}")
    return ModelTrace(shape, units, mode.unsupported)
