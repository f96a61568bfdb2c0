from dataclasses import dataclass, field
from typing import Literal

import pytest

from splitbase import StudyError
from splitbase.schema import parse


@dataclass
class Inner:
    kind: Literal["a", "b"]
    size: int = 1


@dataclass
class Outer:
    name: str
    values: list[float] = field(default_factory=lambda: [0.0])
    optional: list[str] = field(default_factory=list)
    inner: list[Inner | str] = field(default_factory=lambda: ["x"])
    table: dict[str, float] = field(default_factory=dict)


def test_ranges_scalars_and_unions():
    outer = parse(Outer, {"name": "n", "values": {"start": 1, "stop": 16, "factor": 2},
                          "inner": {"kind": "b", "size": 3}, "optional": []}, "")
    assert outer.values == [1, 2, 4, 8, 16] and outer.inner == [Inner("b", 3)]
    assert parse(Outer, {"name": "n", "values": 0.5}, "").values == [0.5]
    assert parse(Outer, {"name": "n", "values": {"start": 0, "stop": 0.3, "step": 0.1}},
                 "").values == [0.0, 0.1, 0.2, 0.3]


@pytest.mark.parametrize("data, message", [
    ({"name": "n", "extra": 1}, "extra: unknown key (known: name, values"),
    ({}, "name: missing"),
    ({"name": ""}, "name: expected a non-empty string"),
    ({"name": "n", "values": []}, "values: is empty"),
    ({"name": "n", "values": [True]}, "values[0]: expected a number"),
    ({"name": "n", "values": {"start": 2, "stop": 1, "step": 1}}, "values: stop 1 is below start 2"),
    ({"name": "n", "values": {"from": 1}}, "values: a range needs keys"),
    ({"name": "n", "inner": {"kind": "c"}}, "inner[0].kind: expected one of a, b"),
    ({"name": "n", "inner": {"kind": "a", "size": "big"}}, "inner[0].size: expected an integer"),
    ({"name": "n", "table": {"x": "y"}}, "table.x: expected a number"),
])
def test_errors_name_the_field(data, message):
    with pytest.raises(StudyError) as error:
        parse(Outer, data, "")
    assert message in str(error.value)
