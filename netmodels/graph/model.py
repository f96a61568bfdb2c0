"""A traced network as a `UnitModel`: one unit per cut point, each unit a GraphModule.

Unit k runs the graph's nodes after cut k-1 up to cut k. It takes what crosses cut k-1 (the
input image for k = 0) and returns what crosses cut k: one tensor, or a tuple of tensors in the
order of `cuts[k].tensors` where several cross. Units share the traced model's submodules and
parameters, so head(k) and tail(k) (nn.Sequential of units, as for every UnitModel) run on their
own, train, and compose: tail(head(x)) is model(x) operator for operator.
"""
from __future__ import annotations

import operator
from typing import Sequence

from torch import fx, nn

from netmodels.graph.cuts import CutPoint, Keep, SentTensor, find_cuts, sent_tensor
from netmodels.graph.trace import traced
from netmodels.zoo.base import UnitModel
from splitbase import ModelError


class GraphUnitModel(UnitModel):
    """A UnitModel whose units are the segments of a traced graph between its cut points.

    `cuts[k]` describes split point k (the tensors sent, the head's peak memory); `input_tensor`
    the input (k = -1). A unit may return a tuple (a multi-tensor cut): `sent_tensors(k)` says.
    """

    def __init__(self, units: Sequence[tuple[str, nn.Module]], *, input_shape: tuple[int, ...], num_classes: int,
                 cuts: Sequence[CutPoint], input_tensor: SentTensor) -> None:
        super().__init__(units, input_shape=input_shape, num_classes=num_classes)
        self.cuts = tuple(cuts)
        self.input_tensor = input_tensor

    def sent_tensors(self, split: int | str) -> tuple[SentTensor, ...]:
        """The tensors sent at split point `split` (the input for k = -1)."""
        k = self.split_index(split)
        return (self.input_tensor,) if k == -1 else self.cuts[k].tensors


def _segment(gm: fx.GraphModule, nodes: list[fx.Node], inputs: Sequence[fx.Node], outputs: Sequence[fx.Node],
             name: str) -> fx.GraphModule:
    """A GraphModule computing `nodes` from a value (or tuple) of `inputs`, returning `outputs`."""
    graph = fx.Graph()
    feature = graph.placeholder("feature")
    env: dict[fx.Node, fx.Node] = {}
    if len(inputs) == 1:
        env[inputs[0]] = feature
    else:
        for i, node in enumerate(inputs):
            env[node] = graph.call_function(operator.getitem, (feature, i))

    def value(node: fx.Node) -> fx.Node:
        if node not in env:  # a parameter or buffer read directly: a constant of every segment using it
            env[node] = graph.get_attr(node.target)
        return env[node]

    for node in nodes:
        if node.op != "get_attr":
            env[node] = graph.node_copy(node, value)
            env[node].meta = {}
    graph.output(env[outputs[0]] if len(outputs) == 1 else tuple(env[n] for n in outputs))
    return fx.GraphModule(gm, graph, name)


def units_of(gm: fx.GraphModule, cuts: Sequence[CutPoint]) -> list[tuple[str, fx.GraphModule]]:
    """(cut name, segment) per cut, in order; node metadata stays on `gm` only."""
    nodes = list(gm.graph.nodes)
    by_name = {n.name: n for n in nodes}
    placeholder = nodes[0]
    crossing = [(placeholder,)] + [tuple(by_name[t.name] for t in cut.tensors) for cut in cuts]
    starts = [1] + [cut.position + 1 for cut in cuts]
    return [(cut.name, _segment(gm, nodes[starts[k]:cut.position + 1], crossing[k], crossing[k + 1],
                                f"Unit_{cut.name}"))
            for k, cut in enumerate(cuts)]


def graph_unit_model(module: nn.Module, input_shape: tuple[int, ...], *, num_classes: int | None = None,
                     keep: Keep = "all", leaf_modules: Sequence[str] = (), what: str = "model") -> GraphUnitModel:
    """`module` traced (torch.fx) and cut at every valid cut point `keep` allows, as a UnitModel.

    input_shape: one frame (C, H, W), no batch dim. num_classes: checked against the output's
    last dim when given. ModelError (one line) for a model that cannot be traced, takes other
    than one input, does not fit the input or does not return one tensor.
    """
    gm = traced(module, tuple(input_shape), leaf_modules=leaf_modules, what=what)
    cuts = find_cuts(gm, keep=keep)
    classes = cuts[-1].tensors[0].shape[-1] if cuts[-1].tensors[0].shape else 1
    if num_classes is not None and num_classes != classes:
        raise ModelError(f"{what} returns {classes} values per frame, not the {num_classes} classes asked for")
    model = GraphUnitModel(units_of(gm, cuts), input_shape=tuple(input_shape), num_classes=classes, cuts=cuts,
                           input_tensor=sent_tensor(next(iter(gm.graph.nodes))))
    model.train(module.training)
    return model
