"""Cuts of a graph with branches: an Inception-like block of four paths joined by a
concatenation, and a module (one ReLU) used twice."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from netmodels.graph import GraphUnitModel, graph_unit_model
from netmodels.graph.profile import trace_graph_model
from splitbase import ModelError


class Inception(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(channels, 4, 1)
        self.b = nn.Sequential(nn.Conv2d(channels, 4, 1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.c = nn.Conv2d(channels, 2, 5, padding=2)
        self.d = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(channels, 6, 1))

    def forward(self, x):
        return torch.cat([self.a(x), self.b(x), self.c(x), self.d(x)], 1)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU()  # used twice
        self.inception = Inception(8)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.act(self.stem(x))
        x = self.act(self.inception(x))
        return self.fc(x.mean((2, 3)))


@pytest.fixture(scope="module")
def graph() -> GraphUnitModel:
    torch.manual_seed(0)
    return graph_unit_model(Net().eval(), (3, 8, 8)).eval()


def test_cuts_send_exactly_the_values_used_after_them(graph):
    names = [cut.name for cut in graph.cuts]
    assert names[:2] == ["stem", "act"] and names[-1] == "fc" and "act_1" in names  # the ReLU's two uses
    by_name = {cut.name: cut for cut in graph.cuts}
    # after branch a: branch a's output and the block's input (still read by b, c, d) cross
    assert [t.name for t in by_name["inception_a"].tensors] == ["act", "inception_a"]
    # after branch c: a, b and c are waiting for the concatenation, d still reads the input
    assert [t.name for t in by_name["inception_c"].tensors] == ["act", "inception_a", "inception_b_2", "inception_c"]
    assert [t.name for t in by_name["inception_d_1"].tensors] == [
        "inception_a", "inception_b_2", "inception_c", "inception_d_1"]
    assert [(t.name, t.shape) for t in by_name["cat"].tensors] == [("cat", (16, 8, 8))]
    for cut in graph.cuts:  # a unit's output is what crosses its cut, in that order
        k = graph.split_index(cut.name)
        with torch.no_grad():
            out = graph.head(k)(torch.randn(1, 3, 8, 8))
        out = out if isinstance(out, tuple) else (out,)
        assert [tuple(o.shape[1:]) for o in out] == [t.shape for t in cut.tensors]


def test_a_multi_tensor_feature_counts_every_tensor_and_composes(graph):
    cut = next(c for c in graph.cuts if c.name == "inception_c")
    assert cut.elements == 8 * 64 + 4 * 64 + 4 * 64 + 2 * 64
    assert cut.tensors[0].bits == 8 * 64 * 32
    assert not cut.block_boundary
    x = torch.randn(2, 3, 8, 8)
    k = graph.split_index("inception_c")
    with torch.no_grad():
        assert torch.equal(graph.tail(k)(graph.head(k)(x)), graph(x))


def test_single_and_block_cuts_are_subsets(graph):
    single = graph_unit_model(Net(), (3, 8, 8), keep="single")
    blocks = graph_unit_model(Net(), (3, 8, 8), keep="blocks")
    assert [c.name for c in single.cuts] == [c.name for c in graph.cuts if len(c.tensors) == 1]
    assert [c.name for c in blocks.cuts] == ["stem", "act", "cat", "act_1", "mean", "fc"]


def test_the_heads_peak_memory_is_its_largest_live_set(graph):
    by_name = {cut.name: cut for cut in graph.cuts}
    floats = 4
    assert by_name["stem"].head_peak_bytes == (3 + 8) * 64 * floats  # input and stem output
    # inside the block: the input to it, a, b's two tensors at once, then c... the largest is at cat
    assert by_name["cat"].head_peak_bytes == (4 + 4 + 2 + 6 + 16) * 64 * floats
    peaks = [c.head_peak_bytes for c in graph.cuts]
    assert peaks == sorted(peaks)


def test_every_unit_is_costed_by_the_mac_counter(graph):
    trace = trace_graph_model(graph)
    assert not trace.unsupported
    convs = 3 * 8 * 9 + 8 * 4 + 8 * 4 + 4 * 4 * 9 + 8 * 2 * 25 + 8 * 6
    assert sum(u.macs for u in trace.units) == convs * 64 + 16 * 5


def test_untraceable_models_are_one_line_naming_the_operation_and_module():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    class Outer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Branchy()

        def forward(self, x):
            return self.inner(x)

    with pytest.raises(ModelError) as error:
        graph_unit_model(Outer(), (3, 4, 4))
    message = str(error.value)
    assert "\n" not in message and "module 'inner'" in message and "x.sum() > 0" in message
    assert "leaf" in message
    with pytest.raises(ModelError, match="does not fit"):
        graph_unit_model(Net(), (1, 8, 8))
    with pytest.raises(ModelError, match="not a torch.nn.Module"):
        graph_unit_model(lambda x: x, (3, 8, 8))
    assert math.prod((3, 8, 8)) == graph_unit_model(Net(), (3, 8, 8)).input_tensor.elements
