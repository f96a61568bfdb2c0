"""What channel pruning does to every unit of a head, for every split point and any sparsity.

The record (`HeadPruning`, plain numpy arrays) is built once from the model and its profile
trace, and lets the analytic workload (explorer.cost.workload) price a pruned head exactly as
netmodels.pruning builds it, without building it.

Groups. The head of split k is pruned by the plan `plan_pruning(model, k, scope="head")`: the
three-step framework's plan, and in the head the two-step method's too (its network step
prunes every layer of the head but the feature, its feature step the feature). A group is the
output channels of one prunable layer of these plans (a chain's conv, the feature's layer among
them; a residual block's internal convs), or one split's feature selection after a residual
block (ChannelSelect). At sparsity s a group of C channels loses d = pruned_count(s, C) =
min(C - 1, round(s C), halves up) channels (the pruner's rounding); keep = (C - d) / C.

Terms. Every layer (leaf module) a group touches is traced apart in the profile's trace. A
layer's MACs and its weight matrix scale with the keep of its input's group times its output's
(a conv between two pruned layers), its reads with its input's keep, its writes, bias and
per-channel parameters and buffers (BatchNorm) with its output's; a layer carrying a group
channel by channel (BN, ReLU, pooling, flatten: the layers after the conv up to its consumer,
in module order, which is the order they run in the units the pruner plans) has both. A unit's output
elements scale with the group it carries at its end. A feature selection adds a copy of the kept
channels to its block's unit (read and written once; an elementwise kernel), and where the head
runs on past the block (a pooling unit split), the scatter that puts the dropped channels back
as zeros (the whole feature read and written; a kernel). Every unpruned share of a unit keeps
its work (a residual stream, the shortcut, a layer no group touches).

Not exact: a selection whose kept channels are one contiguous run is a free slice, not a copy
(trained selections almost never are); the tail is not pruned by the head plan here (the tail's
consumer of a chain's feature loses inputs; the two-step method also prunes the tail).

No record (None: the workload keeps its rule of thumb, explorer.cost.workload) for a traced
graph (netmodels.graph), a profile at another input shape than the model's, a plan the pruner
cannot make (ModelError), or a pruned layer that runs more than once (a shared module).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from netmodels.graph import GraphUnitModel
from netmodels.profiling import LAYER_CLASSES, ModelTrace, UnitTrace
from netmodels.pruning import FeatureSelect, PrunableLayer, PruningPlan, plan_pruning
from netmodels.zoo import UnitModel
from splitbase import ModelError

#: the per-unit quantities of a term (columns of HeadPruning.values): MACs, parameters,
#: activation elements read and written, output elements
UNIT_QUANTITIES = ("macs", "params", "activation_elements", "output_elements")
#: the per-class quantities (HeadPruning.class_values[..., i]), as explorer.profile.table.ClassCounts
CLASS_QUANTITIES = ("macs", "weight_elements", "activation_elements", "kernels")
_ELEMENTWISE = LAYER_CLASSES.index("elementwise")


@dataclass(frozen=True)
class HeadPruning:
    """How pruning the head of each split point changes every unit's work (module docstring).

    Groups g = 0..G-1: `channels[g]`; `active[r, g]`: g is pruned in the head of profile row r
    (split k = r - 1); `feature[r]`: the group the feature sent at row r carries (-1: none).
    Factor columns of a part (a split and a sparsity): 0 is 1, 1 + g the keep of g, 1 + G + g
    1 if g loses a channel, else 0 (an inactive group: keep 1, indicator 0). Term t adds to the
    unit of profile row `unit[t]`

        values[t] x (column first[t] x column second[t] - base[t])

    (base 1: a share of the unpruned unit, which scales; base 0: work that pruning adds).
    values (T, UNIT_QUANTITIES), class_values (T, LAYER_CLASSES, CLASS_QUANTITIES); elements,
    MACs and kernels per frame.
    """

    channels: np.ndarray
    active: np.ndarray
    feature: np.ndarray
    unit: np.ndarray
    first: np.ndarray
    second: np.ndarray
    base: np.ndarray
    values: np.ndarray
    class_values: np.ndarray


@dataclass
class _Terms:
    """The terms being collected (HeadPruning's term arrays, as lists)."""

    groups: int
    rows: list[tuple[int, int, int, float]] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    classes: list[np.ndarray] = field(default_factory=list)

    def keep(self, group: int) -> int:
        return 0 if group < 0 else 1 + group

    def indicator(self, group: int) -> int:
        return 1 + self.groups + group

    def add(self, unit: int, first: int, second: int, base: float, values: tuple[float, ...] = (0, 0, 0, 0),
            classes: np.ndarray | None = None) -> None:
        """A term of unit `unit` (0-based unit index); one without a factor column is skipped."""
        if first == second == 0:
            return
        self.rows.append((unit + 1, first, second, base))
        self.values.append(np.asarray(values, dtype=float))
        self.classes.append(np.zeros((len(LAYER_CLASSES), len(CLASS_QUANTITIES))) if classes is None else classes)


def layer_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's leaf modules by path, in model order: the layers a profile traces apart."""
    return [(name, module) for name, module in model.named_modules() if name and next(module.children(), None) is None]


def _planning_copy(model: UnitModel, trace: ModelTrace) -> UnitModel:
    """A copy of `model` for planning alone: parameters and buffers on the meta device, and each
    unit's forward returning an empty tensor of its traced output shape. The planner reads the
    modules and the units' output shapes (netmodels.zoo.base.unit_shapes) only, and a split
    point's plan then costs no forward pass (the model's own would cost one per split point)."""
    memo = {id(p): nn.Parameter(torch.empty_like(p, device="meta"), p.requires_grad) for p in model.parameters()}
    memo.update({id(b): torch.empty_like(b, device="meta") for b in model.buffers()})
    shadow = copy.deepcopy(model, memo)
    for unit, traced in zip(shadow.units, trace.units):
        output = torch.empty((1, *traced.output_shape), device="meta")
        unit.forward = lambda *_, output=output: output
    return shadow


def _plans(model: UnitModel, trace: ModelTrace) -> list[PruningPlan]:
    """The head plan of every split point 0..last (ModelError where the pruner cannot plan)."""
    shadow = _planning_copy(model, trace)
    return [plan_pruning(shadow, k, scope="head") for k in range(model.last_split + 1)]


_Groups = dict[str, tuple[PrunableLayer, list[int], int]]


def _layer_groups(plans: list[PruningPlan]) -> _Groups:
    """Per conv path: the layer, the profile rows whose head prunes it, and the last split at
    which it is the feature (-1: never)."""
    found: _Groups = {}
    for k, plan in enumerate(plans):
        for layer in plan.layers:
            first, rows, last = found.get(layer.conv, (layer, [], -1))
            found[layer.conv] = (first, rows + [k + 1], k if layer.feature else last)
    return found


def _assign(slots: list[int], index: int, group: int) -> None:
    if slots[index] != -1:
        raise ModelError("a layer belongs to two pruned groups")
    slots[index] = group


def _carried(layers: list[tuple[str, nn.Module]], positions: dict[str, int], layer_unit: list[int],
             layer: PrunableLayer, last_feature: int) -> tuple[range, int]:
    """(the leaves after the layer's conv that carry its channels, the first unit whose output
    does not): up to its consumer, or for a layer whose consumer cannot shrink, to the end of the
    last split at which it is the feature."""
    start = positions[layer.conv] + 1
    if layer.consumer is not None:
        stop = positions[layer.consumer]
        return range(start, stop), layer_unit[stop]
    stop = next((i for i in range(start, len(layers)) if layer_unit[i] > last_feature), len(layers))
    return range(start, stop), last_feature + 1


def _layer_terms(terms: _Terms, trace: UnitTrace, module: nn.Module, unit: int, into: int, out: int) -> None:
    """The terms of one traced layer whose input carries group `into` and its output group `out`
    (-1: none): MACs and the weight matrix scale with both, reads with the input, writes and the
    other parameters and buffers (bias, BatchNorm) with the output."""
    counts = np.array([[c.macs, c.weight_elements, c.read_elements, c.written_elements] if c is not None else [0] * 4
                       for c in (trace.by_class.get(name) for name in LAYER_CLASSES)], dtype=float)
    matrix = module.weight.numel() if isinstance(module, (nn.Conv2d, nn.Linear)) else 0
    matrix_by_class = np.zeros(len(LAYER_CLASSES))
    if matrix:
        matrix_by_class[np.argmax(counts[:, 1])] = matrix
    zero = np.zeros(len(LAYER_CLASSES))
    k_in, k_out = terms.keep(into), terms.keep(out)
    terms.add(unit, k_in, k_out, 1.0, (trace.macs, matrix, 0, 0),
              np.stack([counts[:, 0], matrix_by_class, zero, zero], axis=1))
    terms.add(unit, k_in, 0, 1.0, (0, 0, trace.read_elements, 0), np.stack([zero, zero, counts[:, 2], zero], axis=1))
    terms.add(unit, k_out, 0, 1.0, (0, trace.params - matrix, trace.written_elements, 0),
              np.stack([zero, counts[:, 1] - matrix_by_class, counts[:, 3], zero], axis=1))


def _select_terms(terms: _Terms, trace: ModelTrace, select: FeatureSelect, split: int, group: int) -> None:
    """A feature selection after block `select.unit` (group `group`, pruned at `split` only):
    the copy of the kept channels, the block's output, and the scatter where the head runs on."""
    out = math.prod(trace.units[select.unit].output_shape)
    copied = np.zeros((len(LAYER_CLASSES), len(CLASS_QUANTITIES)))
    copied[_ELEMENTWISE, 2] = 2 * out
    kernel = np.zeros_like(copied)
    kernel[_ELEMENTWISE, 3] = 1
    keep, pruned = terms.keep(group), terms.indicator(group)
    terms.add(select.unit, keep, pruned, 0.0, (0, 0, 2 * out, 0), copied)
    terms.add(select.unit, pruned, 0, 0.0, classes=kernel)
    terms.add(select.unit, keep, 0, 1.0, (0, 0, 0, out))
    if select.unit < split:  # ChannelScatter opens the next unit, inside the head
        terms.add(select.unit + 1, pruned, 0, 0.0, (0, 0, 2 * out, 0), copied + kernel)


def _layer_part(model: UnitModel, trace: ModelTrace, plans: list[PruningPlan], groups: _Groups, terms: _Terms,
                active: np.ndarray, feature: np.ndarray) -> None:
    """The prunable layers' groups (`groups`: _layer_groups): their terms, rows and features."""
    layers = layer_modules(model)
    positions = {name: i for i, (name, _) in enumerate(layers)}
    unit_of = {id(m): i for i, unit in enumerate(model.units) for m in unit.modules()}
    layer_unit = [unit_of[id(m)] for _, m in layers]
    into, out = [-1] * len(layers), [-1] * len(layers)
    for g, (conv, (layer, rows, last_feature)) in enumerate(groups.items()):
        active[rows, g] = True
        carried, end_unit = _carried(layers, positions, layer_unit, layer, last_feature)
        _assign(out, positions[conv], g)
        if layer.consumer is not None:
            _assign(into, positions[layer.consumer], g)
        for i in carried:
            _assign(into, i, g)
            _assign(out, i, g)
        for u in range(layer.unit, end_unit):
            terms.add(u, terms.keep(g), 0, 1.0, (0, 0, 0, math.prod(trace.units[u].output_shape)))
    for i, (_, module) in enumerate(layers):
        if into[i] != -1 or out[i] != -1:
            if trace.layers[i].calls != 1:
                raise ModelError(f"layer {layers[i][0]!r} runs {trace.layers[i].calls} times")
            _layer_terms(terms, trace.layers[i], module, layer_unit[i], into[i], out[i])
    index = {conv: g for g, conv in enumerate(groups)}
    for k, plan in enumerate(plans):
        if plan.feature_layer is not None:
            feature[k + 1] = index[plan.feature_layer.conv]


def head_pruning(model: UnitModel, trace: ModelTrace) -> HeadPruning | None:
    """The record of `model`'s head plans (module docstring), from its profile trace
    (trace_model with layers=layer_modules(model)). None where the pruner does not plan the model
    (a traced graph, netmodels.graph; a unit it cannot walk; a pruned layer that runs twice or in
    two groups): the workload then keeps its rule (explorer.cost.workload)."""
    if isinstance(model, GraphUnitModel) or len(trace.layers) != len(layer_modules(model)):
        return None
    try:
        plans = _plans(model, trace)
        groups = _layer_groups(plans)
        selects = [(k, plan.select) for k, plan in enumerate(plans) if plan.select is not None]
        terms = _Terms(len(groups) + len(selects))
        active, feature = np.zeros((len(plans) + 1, terms.groups), dtype=bool), np.full(len(plans) + 1, -1)
        _layer_part(model, trace, plans, groups, terms, active, feature)
    except ModelError:
        return None
    channels = [layer.channels for layer, _, _ in groups.values()]
    for k, select in selects:
        group = len(channels)
        channels.append(select.channels)
        active[k + 1, group] = True
        feature[k + 1] = group if select.unit == k else feature[k + 1]
        _select_terms(terms, trace, select, k, group)
    rows = np.array(terms.rows, dtype=float).reshape(-1, 4)
    return HeadPruning(
        channels=np.array(channels, dtype=np.int64), active=active, feature=feature,
        unit=rows[:, 0].astype(np.int64), first=rows[:, 1].astype(np.int64), second=rows[:, 2].astype(np.int64),
        base=rows[:, 3], values=np.array(terms.values).reshape(-1, len(UNIT_QUANTITIES)),
        class_values=np.array(terms.classes).reshape(-1, len(LAYER_CLASSES), len(CLASS_QUANTITIES)))
