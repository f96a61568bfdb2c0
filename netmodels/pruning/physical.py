"""Removing pruned channels for real: a smaller model with the same output as the masked one.

See netmodels.pruning for the method (paper 001/003, section III.C)."""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from netmodels.pruning.plan import ChannelKeep, PruningPlan, unit_shapes
from netmodels.pruning.select import ChannelScatter, ChannelSelect
from netmodels.zoo import UnitModel

def _dropped(keep: Tensor, channels: int) -> Tensor:
    mask = torch.ones(channels, dtype=torch.bool, device=keep.device)
    mask[keep] = False
    return mask.nonzero().flatten()


def _take(module: nn.Module, name: str, idx: Tensor, dim: int = 0) -> None:
    """Replace parameter or buffer `name` of `module` by its entries `idx` along `dim`."""
    tensor = getattr(module, name)
    if tensor is None:
        return
    new = tensor.detach().index_select(dim, idx.to(tensor.device)).clone()
    if isinstance(tensor, nn.Parameter):
        setattr(module, name, nn.Parameter(new, requires_grad=tensor.requires_grad))
    else:
        setattr(module, name, new)


def prune_physically(model: UnitModel, plan: PruningPlan, keep: ChannelKeep) -> UnitModel:
    """A copy of `model` without the channels `keep` drops: conv out-channels, BN, and the
    consumer's in-channels (a linear consumer loses the channel's block of inputs); a feature
    selection becomes ChannelSelect after its unit and ChannelScatter before the next one.
    In eval mode the copy computes what the masked model computes (module docstring)."""
    pruned = copy.deepcopy(model)
    shapes = unit_shapes(model)
    for layer in plan.layers:
        idx = keep.layers.get(layer.conv)
        if idx is None or len(idx) == layer.channels:
            continue
        conv = pruned.get_submodule(layer.conv)
        for name in ("weight", "bias"):
            _take(conv, name, idx)
        conv.out_channels = len(idx)
        if layer.bn is not None:
            bn = pruned.get_submodule(layer.bn)
            for name in ("weight", "bias", "running_mean", "running_var"):
                _take(bn, name, idx)
            bn.num_features = len(idx)
        if layer.consumer is None:  # a feature layer whose consumer cannot shrink
            at = plan.split + 1
            block = shapes[at][0] // layer.channels  # entries per channel along dim 1
            scatter = ChannelScatter(idx.tolist(), layer.channels, block).to(idx.device)
            pruned.units[at] = nn.Sequential(scatter, pruned.units[at])
            continue
        consumer = pruned.get_submodule(layer.consumer)
        if isinstance(consumer, nn.Conv2d):
            _take(consumer, "weight", idx, dim=1)
            consumer.in_channels = len(idx)
        else:
            cols = (idx.view(-1, 1) * layer.block + torch.arange(layer.block, device=idx.device)).flatten()
            _take(consumer, "weight", cols, dim=1)
            consumer.in_features = len(cols)
    select = plan.select
    if select is not None and keep.select is not None and len(keep.select) < select.channels:
        kept, device = keep.select.tolist(), keep.select.device
        pruned.units[select.unit] = nn.Sequential(
            pruned.units[select.unit], ChannelSelect(kept, select.channels, select.block).to(device))
        pruned.units[select.unit + 1] = nn.Sequential(
            ChannelScatter(kept, select.channels, select.block).to(device), pruned.units[select.unit + 1])
    return pruned


def removed_channels(plan: PruningPlan, keep: ChannelKeep, *, up_to_unit: int) -> int:
    """Output channels removed from units 0..up_to_unit (the head), the feature's included."""
    removed = sum(layer.channels - len(keep.layers[layer.conv]) for layer in plan.layers
                  if layer.unit <= up_to_unit and layer.conv in keep.layers)
    if plan.select is not None and keep.select is not None and plan.select.unit <= up_to_unit:
        removed += plan.select.channels - len(keep.select)
    return removed
