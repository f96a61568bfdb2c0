"""Every zoo model traced from its graph: the hand-named units are among the automatic cuts, and
tail(head(x)) equals model(x) bit for bit on the CPU at every automatic split point.

head(k) and tail(k) are units[:k+1] and units[k+1:] of one nn.Sequential, so one pass that feeds
each unit a copy of the previous unit's output and ends at model(x) bit for bit shows it for every
k; tail(head(x)) is also run as two separate calls at every cut of the models with up to
FULL_CUTS cuts, and at FULL_CUTS cuts spread over the others (resnet152 has 561: all of them
would take a minute on 2 cores)."""
from __future__ import annotations

import pytest
import torch

from netmodels.graph import graph_unit_model
from netmodels.zoo import MODELS, build_model

# Small inputs where the model allows them (the cuts do not depend on the size).
FULL_CUTS = 40
SMALL = {"alexnet": (3, 67, 67), "densenet169": (3, 32, 32), "mobilenetv2": (3, 32, 32), "resnet18": (3, 32, 32),
         "resnet50": (3, 32, 32), "resnet152": (3, 16, 16), "vgg16": (3, 32, 32),
         "resnet18-cifar": (3, 16, 16), "resnet50-cifar": (3, 16, 16)}


def _last_node_of_each_unit(traced_model, zoo_model) -> list[str]:
    """Per hand-named unit k, the name of the last graph node inside `units.k`."""
    from netmodels.graph.trace import traced

    gm = traced(zoo_model, traced_model.input_shape)
    last = {}
    for node in gm.graph.nodes:
        for path in node.meta.get("nn_module_stack", {}):
            parts = path.split(".")
            if len(parts) >= 2 and parts[0] == "units":
                last[int(parts[1])] = node.name
    return [last[k] for k in range(len(zoo_model.unit_names))]


def _clone(value):
    return tuple(v.clone() for v in value) if isinstance(value, tuple) else value.clone()


@pytest.mark.parametrize("name", MODELS.names())
def test_graph_cuts_include_the_hand_named_units_and_compose_bit_for_bit(name):
    torch.manual_seed(0)
    model = build_model(name, input_shape=SMALL.get(name)).eval()
    graph = graph_unit_model(model, model.input_shape).eval()
    by_name = {cut.name: cut for cut in graph.cuts}
    for unit, node in zip(model.unit_names, _last_node_of_each_unit(graph, model)):
        cut = by_name.get(node)
        assert cut is not None and [t.name for t in cut.tensors] == [node], unit
    x = torch.randn(2, *model.input_shape)
    with torch.no_grad():
        expected = model(x)
        feature = x
        for unit in graph.units:  # tail(head(x)) for every k, in one pass
            feature = unit(_clone(feature))
        assert torch.equal(feature, expected)
        stride = max(1, len(graph.cuts) // FULL_CUTS)
        for k in [*range(-1, graph.last_split, stride), graph.last_split]:
            assert torch.equal(graph.tail(k)(graph.head(k)(x.clone())), expected), graph.split_name(k)
