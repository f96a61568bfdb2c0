import pytest
from torch import nn

from splitbase import ModelError
from netmodels.profiling.trace import trace_model
from netmodels.zoo import UnitModel


class SkipAcrossUnits(UnitModel):
    """A residual connection that jumps over a cut: the cut is not one tensor."""

    def forward(self, x):
        first = self.units[0](x)
        return self.units[1](first) + first


class WorkOutsideUnits(UnitModel):
    def forward(self, x):
        return self.units(x * 2)


def two_convs():
    return [("a", nn.Conv2d(1, 1, 1)), ("b", nn.Conv2d(1, 1, 1))]


def test_units_that_chain_are_traced_in_order():
    trace = trace_model(UnitModel(two_convs(), input_shape=(1, 4, 4), num_classes=1))
    assert [u.name for u in trace.units] == ["a", "b"]
    assert [u.output_shape for u in trace.units] == [(1, 4, 4), (1, 4, 4)]


def test_a_skip_across_a_cut_is_work_outside_units():
    model = SkipAcrossUnits(two_convs(), input_shape=(1, 4, 4), num_classes=1)
    with pytest.raises(ModelError, match="outside any unit"):
        trace_model(model)


def test_work_outside_units_is_refused():
    model = WorkOutsideUnits(two_convs(), input_shape=(1, 4, 4), num_classes=1)
    with pytest.raises(ModelError, match="unit 'a' does not take exactly"):
        trace_model(model)


def test_trace_restores_training_mode():
    model = UnitModel(two_convs(), input_shape=(1, 4, 4), num_classes=1).train()
    trace_model(model)
    assert model.training
