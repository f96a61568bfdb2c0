"""Cut points of a traced graph: where it can be split, what crosses, and the head's peak memory.

A cut after node n (in the graph's order, which is the order the nodes run in) is valid when
every value produced at or before n and used after it is a known tensor (a shape and a dtype from
propagate_shapes); the feature sent is all of them: one tensor after a residual block, several
inside a block or an Inception-like module. Parameters read with get_attr are constants on both
sides and never cross.

The head's peak activation memory is the largest set of tensors alive at once while nodes 0..n
run, found by one liveness pass: a tensor is alive from the node that produces it to its last use
(the whole head for one that crosses the cut), in-place and view results sharing their input's
storage. The batch-1 frame's bytes; weights excluded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import fx, nn

from splitbase import ModelError

Keep = Literal["all", "single", "blocks"]
KEEP: tuple[str, ...] = ("all", "single", "blocks")
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
# Results that share the storage of their first argument (in-place or views): no new memory.
_VIEW_METHODS = frozenset("view reshape flatten squeeze unsqueeze permute transpose expand contiguous "
                          "t unflatten narrow detach".split())
_VIEW_MODULES = (nn.Identity, nn.Flatten, nn.Unflatten)


@dataclass(frozen=True)
class SentTensor:
    """One tensor crossing a cut: the graph node's name, shape without the batch dim, dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    @property
    def bits(self) -> int:
        """Raw bits per frame at its own dtype."""
        return self.elements * torch.empty((), dtype=getattr(torch, self.dtype)).element_size() * 8

    def label(self) -> str:
        return f"{self.name}:{'x'.join(map(str, self.shape))}:{self.dtype}"


@dataclass(frozen=True)
class CutPoint:
    """A valid cut after node `position` (index in the graph's node list) named `name` (the
    node's): the tensors crossing it, the head's peak activation bytes (batch 1) and whether it
    is a block boundary (no module other than a container or the root has nodes on both sides)."""

    position: int
    name: str
    tensors: tuple[SentTensor, ...]
    head_peak_bytes: int
    block_boundary: bool

    @property
    def elements(self) -> int:
        """Elements sent: the sum over the crossing tensors."""
        return sum(t.elements for t in self.tensors)


def sent_tensor(node: fx.Node) -> SentTensor | None:
    """The node's value as a SentTensor, None when it is not one tensor of known shape."""
    value = node.meta.get("val")
    if not isinstance(value, torch.Tensor) or value.dim() == 0:
        return None
    return SentTensor(node.name, tuple(int(s) for s in value.shape[1:]), str(value.dtype).removeprefix("torch."))


def _last_uses(nodes: list[fx.Node]) -> dict[fx.Node, int]:
    index = {n: i for i, n in enumerate(nodes)}
    return {n: max((index[u] for u in n.users), default=index[n]) for n in nodes}


def _storage_root(node: fx.Node, gm: fx.GraphModule) -> fx.Node:
    """The node whose storage `node`'s value shares (itself unless in place or a view)."""
    if not node.args or not isinstance(node.args[0], fx.Node):
        return node
    first = node.args[0]
    if node.op == "call_module":
        module = gm.get_submodule(node.target)
        if getattr(module, "inplace", False) or isinstance(module, _VIEW_MODULES):
            return first
    elif node.op == "call_method" and (node.target in _VIEW_METHODS or node.target.endswith("_")):
        return first
    elif node.op == "call_function":
        name = getattr(node.target, "__name__", "")
        if node.kwargs.get("inplace") or name.endswith("_") or name in _VIEW_METHODS:
            return first
    return node


def _live_bytes(nodes: list[fx.Node], gm: fx.GraphModule) -> np.ndarray:
    """Bytes of tensor storages alive while each node runs (its inputs and its output included)."""
    last = _last_uses(nodes)
    roots: dict[fx.Node, fx.Node] = {}
    end: dict[fx.Node, int] = {}
    for i, node in enumerate(nodes):
        if node.op in ("get_attr", "output"):
            continue
        shared = _storage_root(node, gm)
        root = roots.get(shared, node)  # a view of a view shares the first one's storage
        roots[node] = root
        end[root] = max(end.get(root, i), last[node])
    change = np.zeros(len(nodes) + 1, dtype=np.int64)
    for i, node in enumerate(nodes):
        value = node.meta.get("val")
        if roots.get(node) is node and isinstance(value, torch.Tensor):
            change[i] += value.numel() * value.element_size()
            change[end[node] + 1] -= value.numel() * value.element_size()
    return np.cumsum(change)[:-1]


def _inside_a_block(nodes: list[fx.Node]) -> np.ndarray:
    """True after node i when some module other than a container or the root runs on both sides."""
    span: dict[str, list[int]] = {}
    for i, node in enumerate(nodes):
        for path, (_, kind) in node.meta.get("nn_module_stack", {}).items():
            if isinstance(kind, type) and issubclass(kind, _CONTAINERS):
                continue
            span.setdefault(path, [i, i])[1] = i
    inside = np.zeros(len(nodes) + 1, dtype=np.int64)
    for first, last in span.values():
        inside[first] += 1
        inside[last] -= 1
    return np.cumsum(inside)[:-1] > 0


def find_cuts(gm: fx.GraphModule, *, keep: Keep = "all") -> list[CutPoint]:
    """Every valid cut of `gm` (shapes propagated), in node order, the last one after the node
    whose value the model returns. keep: "single" only cuts one tensor crosses, "blocks" only
    block boundaries. ModelError when the model does not return one tensor."""
    if keep not in KEEP:
        raise ModelError(f"keep: expected one of {', '.join(KEEP)}, got {keep!r}")
    nodes = list(gm.graph.nodes)
    result = nodes[-1].args[0]
    if not isinstance(result, fx.Node) or sent_tensor(result) is None:
        raise ModelError("the model returns no single tensor (a tuple or a dict?): a split model returns its logits")
    last, live, inside = _last_uses(nodes), _live_bytes(nodes, gm), _inside_a_block(nodes)
    open_values: list[fx.Node] = []
    cuts, peak = [], 0
    for i, node in enumerate(nodes[:-1]):
        peak = max(peak, int(live[i]))
        if node.op != "get_attr":
            open_values.append(node)
        open_values = [n for n in open_values if last[n] > i]
        if node.op in ("placeholder", "get_attr"):
            continue
        tensors = [sent_tensor(n) for n in open_values]
        if any(t is None for t in tensors):
            continue
        cut = CutPoint(i, node.name, tuple(tensors), peak, not bool(inside[i]))
        if keep == "all" or (keep == "single" and len(tensors) == 1) or (keep == "blocks" and cut.block_boundary):
            cuts.append(cut)
        if node is result:
            break
    if not cuts or cuts[-1].name != result.name:
        raise ModelError(f"the model's result {result.name!r} is not computed last: no cut sends it alone")
    return cuts
